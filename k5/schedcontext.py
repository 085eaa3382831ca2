"""SchedContext invocations: configure (SchedControl), bind, unbind, consumed."""

from k5 import abi
from k5 import notification
from k5.objects import QUEUE_READY, QUEUE_RELEASE
from k5.decode import ipc_words, lookup, time_error
from k5.reply_object import release_stack


def sys_configure(kernel, tcb, sysno, request):
    # (SYS, sched_control_slot, sc_slot, budget, period, refills)
    if len(request) != 6:
        return abi.ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], abi.TYPE_SCHED_CONTROL, 0)
    if type(cap) is int:
        return cap
    sc_cap = lookup(tcb, request[2], abi.TYPE_SCHED_CONTEXT, abi.RIGHT_WRITE)
    if type(sc_cap) is int:
        return sc_cap
    budget = request[3]
    period = request[4]
    refills = request[5]
    # Budget and period obey k5/ticks.py's time-range rule: refills come back at most TIME_MAX
    # ahead of now, where ticks_diff still orders them (a longer period wrapped into the past).
    err = time_error(budget)
    if err == abi.OK:
        err = time_error(period)
    if err != abi.OK:
        return err
    if type(refills) is not int:
        return abi.ERR_INVALID_ARGUMENT
    if budget < kernel.min_budget or budget > period:
        return abi.ERR_INVALID_ARGUMENT
    if refills < abi.REFILLS_MIN or refills > abi.REFILLS_MAX:
        return abi.ERR_INVALID_ARGUMENT
    kernel.configure_sc(sc_cap.obj, budget, period, refills)
    return abi.OK


def sys_sc(kernel, tcb, sysno, request):
    # bind: (SYS, sc_slot, tcb_slot)  unbind, consumed: (SYS, sc_slot)
    expected = 3 if sysno == abi.SYS_SC_BIND else 2
    if len(request) != expected:
        return abi.ERR_INVALID_ARGUMENT
    rights = abi.RIGHT_READ if sysno == abi.SYS_SC_CONSUMED else abi.RIGHT_WRITE
    cap = lookup(tcb, request[1], abi.TYPE_SCHED_CONTEXT, rights)
    if type(cap) is int:
        return cap
    sc = cap.obj
    if sysno == abi.SYS_SC_CONSUMED:
        ipc_words(tcb)[0] = sc.total
        tcb.ipc.count = 1
        return abi.OK
    if sysno == abi.SYS_SC_BIND:
        # The object is a TCB (bind) or a notification (its waiters run on the SC).
        ocap = lookup(tcb, request[2], 0, abi.RIGHT_WRITE)
        if type(ocap) is int:
            return ocap
        if sc.tcb is not None or sc.ntfn is not None or not sc.is_configured():
            return abi.ERR_ILLEGAL_OPERATION
        if ocap.obj_type == abi.TYPE_NOTIFICATION:
            ntfn = ocap.obj
            if ntfn.sc is not None:
                return abi.ERR_ILLEGAL_OPERATION
            sc.ntfn = ntfn
            ntfn.sc = sc
            return abi.OK
        if ocap.obj_type != abi.TYPE_TCB:
            return abi.ERR_WRONG_TYPE
        target = ocap.obj
        if target.sc is not None or target.home_sc is not None:
            return abi.ERR_ILLEGAL_OPERATION
        if target.sc_reply is not None:
            # It waits on a call stack (k5/reply_object.py) for a donated SC to come back.
            return abi.ERR_ILLEGAL_OPERATION
        kernel.bind_sc(sc, target)
        return abi.OK
    if sc.ntfn is not None:
        holder = sc.tcb
        notification.unbind_sc(kernel, sc.ntfn)
        return None if holder is tcb and tcb.sc is None else abi.OK
    holder = sc.home
    if holder is None or sc.tcb is not holder:
        return abi.ERR_ILLEGAL_OPERATION
    kernel.unbind_sc(sc)
    return None if holder is tcb else abi.OK


def destroy(kernel, sc):
    """The last cap of an SC went: it is unbound from everything (perform)."""
    if sc.ntfn is not None:
        notification.unbind_sc(kernel, sc.ntfn)
    if sc is kernel.cur_sc:
        kernel.commit(sc)
        if kernel.current is not None and kernel.current.sc is sc:
            kernel.current = None
        kernel.cur_sc = None
    holder = sc.tcb
    if holder is not None:
        if holder.queue_kind == QUEUE_READY or holder.queue_kind == QUEUE_RELEASE:
            kernel.dequeue(holder)
        if holder is kernel.current:
            kernel.current = None
        holder.sc = None
    home = sc.home
    if home is not None:
        home.home_sc = None
        if home.sc is sc:
            home.sc = None
    # The replies that donated it no longer do.
    release_stack(sc)
    sc.tcb = None
    sc.home = None
    objects = kernel.objects
    for i in range(len(objects)):
        if objects[i] is sc:
            objects.pop(i)
            break
