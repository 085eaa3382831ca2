"""Canonical serialisation of a whole kernel state, for state hashing in the explorer."""

# canonical(system, ghost) is a tuple of ints, bools and None, equal for two states exactly when
# the kernel (and the explorer's ghost bookkeeping) will behave the same from both. It is the
# one place that knows which kernel fields matter; keep it next to invariants.py when internals
# move. Objects are named by their index in a fixed order (TCBs in creation order, then the
# builder's objects), caps by (CNode index, slot). Reductions, each sound for the reason given:
# - Time is relative: every absolute tick (refill times, wake-ups, last_time) is stored as
#   ticks_diff(t, now). The kernel only ever compares times through ticks_diff/ticks_add, which
#   are invariant under adding a constant modulo 2**30, so shifted states are bisimilar. (It also
#   reads the clock's top bits, to date idle SCs' refills every 2**27 ticks, Kernel._age; that
#   dating changes no behaviour: each SC it dates would be dated the same way when next used.)
# - A refill queue is its logical list head to tail: where the circular buffer starts is not
#   observable (every access goes through head/_next).
# - Fields a task can read but the kernel never reads back are left out: cumulative counters
#   that only flow into results written to task memory (sc.total, exhaustions, tcb.faults,
#   generation, fault_history, exit_code; no endpoint in the explored systems has an owner, so
#   badges never carry generations), the IPC buffers, and the contents of the msg_* staging
#   buffer and recv_slot except while the kernel will read them (a thread blocked in send).
# - Reply sequence numbers only ever meet in equality tests and only grow, so a server's
#   pending reply is stored as (whose reply, still fresh?).
# - Derived data whose agreement with the stored data is an invariant checked at every new state
#   (the ready bitmap, the queue back links) is left out.

from k5.abi import STATE_BLOCKED_RECV, STATE_BLOCKED_SEND, STATE_BLOCKED_SLEEP
from k5.ticks import ticks_diff


class _Names:
    """Index of every kernel object and cap of one system, built once per serialisation."""

    __slots__ = ("objects", "caps")

    def __init__(self, system):
        kernel = system.kernel
        objects = {}
        for tcb in kernel.tcbs:
            objects[id(tcb)] = len(objects)
            objects[id(tcb.reply)] = ("reply", objects[id(tcb)])
        for ref in system.refs:
            if id(ref.obj) not in objects:
                objects[id(ref.obj)] = len(objects)
        for sc in kernel.objects:
            if id(sc) not in objects:
                objects[id(sc)] = len(objects)
        for timer in kernel.timers:
            # (A task has at most one: named by its owner, as an implicit reply is.)
            objects[id(timer)] = ("timer", objects.get(id(timer.owner), "?"))
        self.objects = objects
        caps = {}
        for number, cnode in enumerate(cnodes(system)):
            slots = cnode.slots
            for slot in range(len(slots)):
                cap = slots[slot]
                if cap is not None:
                    caps[id(cap)] = (number, slot)
        self.caps = caps

    def obj(self, obj):
        if obj is None:
            return None
        return self.objects.get(id(obj), "?")

    def cap(self, cap):
        if cap is None:
            return None
        return self.caps.get(id(cap), "?")


def cnodes(system):
    """Every CNode of the system in a fixed order: the builder's root, then per TCB."""
    result = [system.root]
    for tcb in system.kernel.tcbs:
        result.append(tcb.cspace)
        result.append(tcb.handlers)
    return result


def _members(names, queue):
    result = []
    tcb = queue.head
    while tcb is not None:
        result.append(names.objects[id(tcb)])
        tcb = tcb.q_next
    return tuple(result)


def _cnode(names, cnode):
    result = []
    for cap in cnode.slots:
        if cap is None:
            result.append(None)
            continue
        children = ()
        if cap.children:
            children = tuple([names.cap(child) for child in cap.children])
        result.append(
            (
                names.obj(cap.obj),
                cap.obj_type,
                cap.rights,
                cap.badge,
                names.cap(cap.parent),
                children,
            )
        )
    return tuple(result)


def _tcb(names, tcb, now):
    state = tcb.state
    reply = tcb.reply
    pending = tcb.pending_reply
    message = None
    if state == STATE_BLOCKED_SEND:
        message = (
            tcb.msg_label,
            tcb.msg_count,
            tcb.msg_words[0] if tcb.msg_count else None,
            tcb.msg_length,
            tcb.msg_badge,
            tcb.msg_is_call,
            tcb.msg_can_grant,
            names.cap(tcb.msg_cap),
        )
    return (
        state,
        tcb.priority,
        tcb.mcp,
        names.obj(tcb.sc),
        names.obj(tcb.home_sc),
        names.obj(tcb.sc_reply),
        names.obj(tcb.bound_ntfn),
        tcb.queue_kind,
        names.obj(tcb.blocked_on),
        names.cap(tcb.blocked_cap),
        names.obj(pending),
        None if pending is None else pending.seq == tcb.pending_seq,
        names.obj(reply.caller),
        names.obj(reply.server),
        names.obj(reply.donated),
        reply.recv_slot if reply.caller is not None else None,
        message,
        tcb.recv_slot if state == STATE_BLOCKED_RECV or state == STATE_BLOCKED_SEND else None,
        ticks_diff(tcb.wake_time, now) if state == STATE_BLOCKED_SLEEP else None,
        tcb.entry is not None,
        tcb.yielded,
        tcb.fault_kind,
        tcb.passive_on_recv,
        None if tcb.lease is None else tcb.lease[1],  # the buffer's bytes are in the ghost
        _cnode(names, tcb.cspace),
        _cnode(names, tcb.handlers),
    )


def _sched_context(names, sc, now):
    refills = []
    index = sc.head
    for _ in range(sc.count):
        refills.append(ticks_diff(sc.r_time[index], now))
        refills.append(sc.r_amount[index])
        index = sc._next(index)
    return (
        sc.budget,
        sc.period,
        sc.max_refills(),
        tuple(refills),
        sc.consumed,
        names.obj(sc.tcb),
        names.obj(sc.home),
    )


def canonical(system, ghost=()):
    """The canonical form of the system's kernel state plus the explorer's ghost state."""
    kernel = system.kernel
    now = kernel.arch.now()
    names = _Names(system)
    sched = kernel.sched
    ready = []
    for priority in sorted(sched.ready):
        queue = sched.ready[priority]
        if queue.head is not None:
            ready.append((priority, _members(names, queue)))
    parts = [
        names.obj(kernel.current),
        names.obj(kernel.cur_sc),
        ticks_diff(kernel.last_time, now),
        kernel.halted,
        tuple(ready),
        _members(names, sched.release),
        _members(names, sched.sleep),
        tuple(
            [
                (
                    names.obj(timer.owner),
                    names.obj(timer.ntfn),
                    timer.badge,
                    ticks_diff(timer.wake_time, now),
                )
                for timer in kernel.timers
            ]
        ),
        _cnode(names, system.root),
    ]
    for tcb in kernel.tcbs:
        parts.append(_tcb(names, tcb, now))
        context = tcb.context
        parts.append(None if context is None or not context.regions else tuple(context.regions))
    arch = kernel.arch
    table = kernel.irq_handlers
    parts.append(
        (
            arch.pending,
            arch.irq_on,
            arch.irq_raised,
            arch.irq_fired,
            None if table is None else tuple([names.obj(h) for h in table]),
        )
    )
    seen = set()
    for ref in system.refs:
        obj = ref.obj
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        kind = type(obj).__name__
        if kind == "Endpoint":
            parts.append((_members(names, obj.queue), names.obj(obj.owner)))
        elif kind == "Notification":
            parts.append(
                (_members(names, obj.queue), obj.word, obj.active, names.obj(obj.bound_tcb))
            )
        elif kind == "SchedContext":
            parts.append(_sched_context(names, obj, now))
        elif kind == "Untyped":
            parts.append((obj.remaining,))
        elif kind == "IRQHandler":
            parts.append((names.obj(obj.ntfn), names.cap(obj.ntfn_cap), obj.badge, obj.pending))
        elif kind == "Reply":
            parts.append(
                (
                    names.obj(obj.caller),
                    names.obj(obj.server),
                    names.obj(obj.donated),
                )
            )
    timers = []
    for timer in kernel.timers:
        timers.append(
            (
                names.obj(timer.owner),
                names.cap(timer.cap),
                timer.badge,
                ticks_diff(timer.wake_time, now),
            )
        )
    parts.append(tuple(timers))
    parts.append(ghost)
    return tuple(parts)
