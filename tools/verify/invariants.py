"""Kernel invariants shared by the explorer and the hypothesis test (one checker)."""

# Every check reads kernel state only (k5/objects.py fields, the kernel's own check_invariants)
# and raises Violation, an AssertionError, naming the invariant. When kernel internals move
# (issue 8: Reply objects, endpoint queues by priority), this file and canon.py are the two
# places to adapt.

from k5 import cdt
from k5.abi import (
    STATE_BLOCKED_NOTIFICATION,
    STATE_BLOCKED_RECV,
    STATE_BLOCKED_REPLY,
    STATE_BLOCKED_SEND,
    STATE_BLOCKED_SLEEP,
    STATE_RUNNING,
)
from k5.objects import (
    QUEUE_ENDPOINT,
    QUEUE_NOTIFICATION,
    QUEUE_READY,
    QUEUE_RELEASE,
    QUEUE_SLEEP,
    Endpoint,
    Notification,
    Untyped,
)
from k5.ticks import ticks_diff


class Violation(AssertionError):
    """An invariant does not hold: `name` says which one."""

    def __init__(self, name, detail=""):
        super().__init__(name + (": " + detail if detail else ""))
        self.name = name
        self.detail = detail


def _check(name, function, *args):
    try:
        function(*args)
    except Violation:
        raise
    except AssertionError as exc:
        raise Violation(name, str(exc)) from None


def kernel_structures(kernel, objects=()):
    """The kernel's own checks (queues, bitmap, refills, CNode back links) and every object's."""
    _check("kernel-structures", kernel.check_invariants)
    for obj in objects:
        if isinstance(obj, (Endpoint, Notification, Untyped)):
            _check("object-structures", obj.check_invariants)


def rights_never_grow(cnodes):
    """Along every derivation, a cap's rights are a subset of its ancestors' (same object)."""
    for cnode in cnodes:
        for cap in cnode.slots:
            if cap is not None:
                _check("rights-never-grow", cdt.check_rights_monotonic, cap)


def all_queues(kernel, objects):
    """Every TCB queue there is: ready, release, sleep and each endpoint's or notification's."""
    sched = kernel.sched
    queues = list(sched.ready.values())
    queues.append(sched.release)
    queues.append(sched.sleep)
    for obj in objects:
        if isinstance(obj, (Endpoint, Notification)):
            queues.append(obj.queue)
    return queues


def one_queue_per_thread(kernel, tcbs, queues):
    """Every blocked thread is in exactly the queue its state names; runnable ones too."""
    membership = {}
    for queue in queues:
        for tcb in queue.members():
            if type(tcb).__name__ == "Timer":
                continue  # (a timer waits in the sleep queue beside threads: k5/timer.py)
            membership[tcb.tid] = membership.get(tcb.tid, 0) + 1
    for tcb in tcbs:
        count = membership.get(tcb.tid, 0)
        state = tcb.state
        if count > 1:
            raise Violation("one-queue-per-thread", tcb.name + " is in %d queues" % count)
        if state == STATE_BLOCKED_SEND or state == STATE_BLOCKED_RECV:
            ok = count == 1 and tcb.queue_kind == QUEUE_ENDPOINT
        elif state == STATE_BLOCKED_NOTIFICATION:
            ok = count == 1 and tcb.queue_kind == QUEUE_NOTIFICATION
        elif state == STATE_BLOCKED_SLEEP:
            ok = count == 1 and tcb.queue_kind == QUEUE_SLEEP
        elif state == STATE_BLOCKED_REPLY:
            # Bound to the Reply object it waits on: its implicit one or a server's (MCS).
            reply = tcb.blocked_on
            ok = count == 0 and reply is not None and reply.caller is tcb
        elif state == STATE_RUNNING:
            if tcb is kernel.current:
                ok = count == 0
            elif tcb.sc is not None:
                ok = count == 1 and (
                    tcb.queue_kind == QUEUE_READY or tcb.queue_kind == QUEUE_RELEASE
                )
            else:
                ok = count == 0  # runnable without an SC: passive, waits for a donation
        else:
            ok = count == 0
        if not ok:
            raise Violation(
                "one-queue-per-thread",
                "%s in state %d is in %d queues (kind %d)"
                % (tcb.name, state, count, tcb.queue_kind),
            )


def running_has_budget(kernel):
    """The current thread's SC has a ready head refill holding at least the minimum budget."""
    current = kernel.current
    if current is None:
        return
    sc = current.sc
    now = kernel.arch.now()
    if sc is None:
        raise Violation("running-has-budget", current.name + " runs without an SC")
    if ticks_diff(sc.r_time[sc.head], now) > 0:
        raise Violation("running-has-budget", current.name + " runs before its refill")
    if sc.r_amount[sc.head] - sc.consumed < kernel.min_budget:
        raise Violation("running-has-budget", current.name + " runs without budget")


def released_on_time(kernel):
    """Bounded liveness, bound 0: no thread waits in the release or sleep queue past its time.

    After every kernel step, a thread whose refill or wake-up time has come is ready or running,
    and the current thread is the highest-priority ready one (kernel_structures checks that).
    """
    now = kernel.arch.now()
    tcb = kernel.sched.release.head
    if tcb is not None and ticks_diff(tcb.sc.r_time[tcb.sc.head], now) <= 0:
        raise Violation("released-on-time", tcb.name + " still waits for a refill that came")
    tcb = kernel.sched.sleep.head
    if tcb is not None and ticks_diff(tcb.wake_time, now) <= 0:
        raise Violation("released-on-time", tcb.name + " still sleeps past its wake-up")
    if kernel.current is None and kernel.sched.highest() >= 0:
        raise Violation("released-on-time", "the CPU idles while a thread is ready")


def no_orphaned_waiter(tcbs):
    """No deadlock the system does not force: a blocked thread waits on something that can
    still happen. The endpoint or notification it is queued on is alive (a cap names it: the
    last cap going destroys it, and the kernel must wake its waiters), and so is the cap it
    blocked through (deleting it wakes the thread, in K5); a caller waits on a Reply
    that can still be used: a named Reply that a cap names, or its implicit Reply held by the
    server it called (the server's pending reply, not yet replaced by a newer call)."""
    for tcb in tcbs:
        state = tcb.state
        obj = tcb.blocked_on
        if (
            state == STATE_BLOCKED_SEND
            or state == STATE_BLOCKED_RECV
            or state == STATE_BLOCKED_NOTIFICATION
        ):
            if obj is None or obj.cap_count <= 0:
                raise Violation(
                    "no-orphaned-waiter", "%s waits on %s, which no cap names" % (tcb.name, obj)
                )
            cap = tcb.blocked_cap
            if cap is not None and (cap.obj_type == 0 or cap.cnode is None):
                # K5 wakes the threads blocked through a cap when it is deleted (kernel.md).
                raise Violation(
                    "no-orphaned-waiter", tcb.name + " is blocked through a deleted cap"
                )
        elif state == STATE_BLOCKED_REPLY and obj is not None:
            if obj is tcb.reply:
                server = obj.server
                held = (
                    server is not None
                    and server.pending_reply is obj
                    and server.pending_seq == obj.seq
                )
            else:
                held = obj.cap_count > 0
            if not held:
                raise Violation(
                    "no-orphaned-waiter", tcb.name + " waits for a reply that nobody can send"
                )


def budget_in_window(sc, intervals, since=None):
    """At most `budget` ticks of use in every window of `period` ticks (sporadic SCs).

    intervals: (start, end) tick offsets on one non-wrapping axis. Windows starting at each
    interval start suffice: a window's usage only grows as its start moves to an interval start.
    since: only windows starting there or later (those before were checked already).
    """
    if sc.is_round_robin():
        return
    period = sc.period
    for start, _ in intervals:
        if since is not None and start < since:
            continue
        used = 0
        for s, e in intervals:
            overlap = min(e, start + period) - max(s, start)
            if overlap > 0:
                used += overlap
        if used > sc.budget:
            raise Violation(
                "budget-per-period",
                "SC %s used %d > %d ticks in a window of %d" % (sc.name, used, sc.budget, period),
            )


def check_state(kernel, tcbs, objects, cnodes):
    """Every state invariant above (what the explorer checks at each new state)."""
    kernel_structures(kernel, objects)
    rights_never_grow(cnodes)
    one_queue_per_thread(kernel, tcbs, all_queues(kernel, objects))
    running_has_budget(kernel)
    released_on_time(kernel)
    no_orphaned_waiter(tcbs)
