"""Notification invocations: signal, wait, poll (decode and perform side by side)."""

from k5._compat import micropython
from k5 import abi
from k5.decode import lookup
from k5.objects import QUEUE_NOTIFICATION, QUEUE_READY, QUEUE_RELEASE, release_stack


@micropython.native
def deliver_signal(tcb, badge):
    """Write a notification word into tcb's IPC buffer (perform)."""
    ipc = tcb.ipc
    ipc.badge = badge
    ipc.label = 0
    ipc.count = 0
    ipc.length = 0
    ipc.cap = abi.NO_SLOT
    ipc.source = abi.SOURCE_NOTIFICATION


@micropython.native
def sys_signal(kernel, tcb, sysno, request):
    # (SYS_SIGNAL, ntfn_slot)
    if len(request) != 2:
        return abi.ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], abi.TYPE_NOTIFICATION, abi.RIGHT_WRITE)
    if type(cap) is int:
        return cap
    do_signal(kernel, cap.obj, cap.badge)
    return abi.OK


@micropython.native
def do_signal(kernel, ntfn, badge):
    """OR `badge` into ntfn, waking its first waiter or its bound TCB (perform)."""
    waiter = ntfn.queue.head
    if waiter is not None:
        ntfn.queue.remove(waiter)
        waiter.blocked_on = None
        waiter.blocked_cap = None
        deliver_signal(waiter, badge)
        kernel.set_result(waiter.context, abi.OK)
        waiter.state = abi.STATE_RUNNING
        lend_sc(ntfn, waiter)
        kernel.schedule_runnable(waiter)
        return
    bound = ntfn.bound_tcb
    if bound is not None and bound.state == abi.STATE_BLOCKED_RECV:
        kernel.dequeue(bound)
        bound.blocked_on = None
        bound.blocked_cap = None
        deliver_signal(bound, badge | ntfn.word)
        ntfn.word = 0
        ntfn.active = False
        kernel.set_result(bound.context, abi.OK)
        bound.state = abi.STATE_RUNNING
        lend_sc(ntfn, bound)
        kernel.schedule_runnable(bound)
        return
    if bound is not None and bound.state == abi.STATE_BLOCKED_SLEEP:
        # A signal ends the bound thread's sleep early (the signal stays pending).
        kernel.dequeue(bound)
        kernel.set_result(bound.context, abi.OK)
        bound.state = abi.STATE_RUNNING
        kernel.schedule_runnable(bound)
    ntfn.word |= badge
    ntfn.active = True


@micropython.native
def sys_wait(kernel, tcb, sysno, request):
    # (SYS_WAIT or abi.SYS_POLL, ntfn_slot)
    if len(request) != 2:
        return abi.ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], abi.TYPE_NOTIFICATION, abi.RIGHT_READ)
    if type(cap) is int:
        return cap
    ntfn = cap.obj
    if ntfn.bound_tcb is not None and ntfn.bound_tcb is not tcb:
        return abi.ERR_ILLEGAL_OPERATION
    if ntfn.active:
        deliver_signal(tcb, ntfn.word)
        ntfn.word = 0
        ntfn.active = False
        return abi.OK
    if sysno == abi.SYS_POLL:
        deliver_signal(tcb, 0)
        return abi.ERR_WOULD_BLOCK
    tcb.state = abi.STATE_BLOCKED_NOTIFICATION
    tcb.blocked_on = ntfn
    tcb.blocked_cap = cap
    ntfn.queue.insert_by_priority(tcb)
    tcb.queue_kind = QUEUE_NOTIFICATION
    if tcb is kernel.current:
        kernel.current = None
    if ntfn.sc is not None and tcb.sc is ntfn.sc and tcb.sc_reply is None:
        return_sc(kernel, ntfn, tcb)
    return None


# --- a scheduling context bound to a notification (seL4 SchedContext_Bind on a notification) ---


def lend_sc(ntfn, tcb):
    """A passive thread woken by ntfn runs on its SC (seL4 maybeDonateSchedContext)."""
    sc = ntfn.sc
    if sc is not None and tcb.sc is None and sc.tcb is None:
        sc.tcb = tcb
        tcb.sc = sc


def return_sc(kernel, ntfn, tcb):
    """tcb waits on ntfn again: the SC goes back to it (seL4 maybeReturnSchedContext).

    Only from the thread it was lent to (its call stack empty): a server running on it for a
    call keeps it until the call's reply."""
    sc = ntfn.sc
    if sc is kernel.cur_sc:
        kernel.commit(sc)
    if tcb.queue_kind == QUEUE_READY or tcb.queue_kind == QUEUE_RELEASE:
        kernel.dequeue(tcb)
    sc.tcb = None
    tcb.sc = None


def unbind_sc(kernel, ntfn):
    """Unbind the notification's SC, taking it from a thread running on it (perform)."""
    sc = ntfn.sc
    holder = sc.tcb
    if holder is not None and holder.sc is sc and sc.home is None:
        release_stack(sc)
        if sc is kernel.cur_sc:
            kernel.commit(sc)
        if holder.queue_kind == QUEUE_READY or holder.queue_kind == QUEUE_RELEASE:
            kernel.dequeue(holder)
        if holder is kernel.current:
            kernel.current = None
        holder.sc = None
        sc.tcb = None
    sc.ntfn = None
    ntfn.sc = None


def destroy(kernel, ntfn):
    """The last cap of a notification went: waiters get abi.ERR_REVOKED, bindings go (perform)."""
    tcb = ntfn.queue.head
    while tcb is not None:
        following = tcb.q_next
        kernel.dequeue(tcb)
        tcb.blocked_on = None
        tcb.blocked_cap = None
        kernel.set_result(tcb.context, abi.ERR_REVOKED)
        if tcb.fault_kind == abi.FAULT_EXCEPTION:
            tcb.state = abi.STATE_FAULTED
        else:
            tcb.state = abi.STATE_RUNNING
            kernel.schedule_runnable(tcb)
        tcb.fault_kind = 0
        tcb = following
    bound = ntfn.bound_tcb
    if bound is not None:
        bound.bound_ntfn = None
        ntfn.bound_tcb = None
    if ntfn.sc is not None:
        unbind_sc(kernel, ntfn)
    ntfn.word = 0
    ntfn.active = False
