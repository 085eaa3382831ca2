"""The kernel's invariants (docs/kernel.md "Invariants"), asserted in debug runs and tests."""

from k5 import abi, cdt
from k5.objects import QUEUE_ENDPOINT, QUEUE_NOTIFICATION, QUEUE_READY, QUEUE_RELEASE
from k5.sched import priority_higher
from k5.ticks import TIME_MAX, ticks_diff


def check(kernel):
    """Assert every invariant of the kernel's state (returns True)."""
    kernel.sched.check_invariants()
    # Seen from now, the release and sleep queues are a monotone walk, every time at most
    # TIME_MAX ahead (k5/ticks.py's time-range rule): then ticks_diff orders any two of them.
    now = kernel.arch.now()
    for release in (True, False):
        node = kernel.sched.release.head if release else kernel.sched.sleep.head
        previous = None
        while node is not None:
            time = node.sc.r_time[node.sc.head] if release else node.wake_time
            distance = ticks_diff(time, now)
            assert distance <= TIME_MAX, "queued time beyond TIME_MAX"
            assert previous is None or previous <= distance, "queue out of order from now"
            previous = distance
            node = node.q_next
    current = kernel.current
    if current is not None:
        assert current.state == abi.STATE_RUNNING, "current thread not running"
        assert current.queue is None, "current thread is queued"
        assert current.sc is not None, "current thread has no SC"
        assert current.sc is kernel.cur_sc, "current thread not on the current SC"
        top = kernel.sched.highest()
        assert top < 0 or not priority_higher(top, current.priority), "not highest"
    for tcb in kernel.tcbs:
        state = tcb.state
        if state == abi.STATE_BLOCKED_SEND or state == abi.STATE_BLOCKED_RECV:
            assert tcb.queue_kind == QUEUE_ENDPOINT, "blocked on endpoint, not queued"
            assert tcb.queue is tcb.blocked_on.queue, "blocked in the wrong queue"
        elif state == abi.STATE_BLOCKED_NOTIFICATION:
            assert tcb.queue_kind == QUEUE_NOTIFICATION, "waiting, not queued"
            assert tcb.queue is tcb.blocked_on.queue, "waiting in the wrong queue"
        elif state == abi.STATE_BLOCKED_SLEEP:
            assert tcb.queue is kernel.sched.sleep, "sleeping, not in the sleep queue"
        elif state == abi.STATE_BLOCKED_REPLY:
            assert tcb.queue is None, "blocked on reply but queued"
            reply = tcb.blocked_on
            assert reply is not None and reply.caller is tcb, "blocked without a reply"
            reply.check_invariants(tcb)
        elif state == abi.STATE_RUNNING:
            if tcb.sc is None:
                assert tcb.queue is None, "thread without SC is queued"
            else:
                kind = tcb.queue_kind
                assert tcb is current or kind == QUEUE_READY or kind == QUEUE_RELEASE, (
                    "runnable thread " + tcb.name + " lost"
                )
        else:
            assert tcb.queue is None, "inactive thread is queued"
            assert tcb is not current, "inactive thread is current"
        if tcb.lease is not None:
            assert state == abi.STATE_BLOCKED_SEND or state == abi.STATE_BLOCKED_REPLY, (
                "stale lease"
            )
        # (The IpcBuffer is task memory: the kernel never trusts or asserts on it.)
        tcb.reply.check_invariants(tcb)
        if tcb.sc is not None:
            assert tcb.sc.tcb is tcb, "SC binding not mutual"
            tcb.sc.check_invariants()
        tcb.cspace.check_invariants()
        for cap in tcb.cspace.slots:
            if cap is not None:
                cdt.check_rights_monotonic(cap)
    return True
