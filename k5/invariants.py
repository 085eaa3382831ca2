"""The kernel's invariants (docs/kernel.md "Invariants"), asserted in debug runs and tests."""

from k5 import abi, cdt
from k5.objects import QUEUE_ENDPOINT, QUEUE_NOTIFICATION, QUEUE_READY, QUEUE_RELEASE, Reply
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
    wake = kernel.sched.next_wakeup()
    if wake >= 0:
        hint = kernel.sched.wake_hint
        assert hint >= 0 and ticks_diff(hint, wake) <= 0, "wake hint later than a wake-up"
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
    check_donation(kernel)
    check_bindings(kernel)
    return True


def check_bindings(kernel):
    """Every timer and interrupt line signals a notification through a live cap naming it;
    no timer outlives its task."""
    for timer in kernel.timers:
        cap = timer.cap
        assert cap.obj_type == abi.TYPE_NOTIFICATION and cap.obj is timer.ntfn, (
            "a timer outlives the cap it was set with"
        )
        assert timer.owner.state != abi.STATE_EXITED, "a timer outlives its task"
    handlers = kernel.irq_handlers
    if handlers is not None:
        for handler in handlers:
            if handler is not None and handler.ntfn is not None:
                cap = handler.ntfn_cap
                assert (
                    cap is not None
                    and cap.obj_type == abi.TYPE_NOTIFICATION
                    and cap.obj is handler.ntfn
                ), "an interrupt line outlives the cap it was bound through"


def _below(reply):
    """What lies below a reply of a call stack: the reply below, or the base thread."""
    caller = reply.caller
    below = caller.sc_reply
    return caller if below is None else below


def check_donation(kernel):
    """Every SC runs only its home thread, the thread its notification woke, or the server at
    the head of its call stack (k5/reply_object.py), and every donating reply is on a stack.

    (Allocates nothing: it runs after every trap in debug runs, on the device too.)"""
    tcbs = kernel.tcbs
    for tcb in tcbs:
        link = tcb.sc_reply
        sc = tcb.sc
        if sc is not None:
            # Each SC runs at most one thread: checked once, from it.
            if link is None:
                assert tcb is sc.home or (sc.home is None and sc.ntfn is not None), (
                    "SC " + sc.name + " runs " + tcb.name + ": not its home, not on a call stack"
                )
            else:
                # (Also while it waits for a reply that took no SC: it still holds this one.)
                assert link.donated is sc and link.server is tcb, (
                    tcb.name + " heads a call stack of an SC it does not run"
                )
                reply = link
                depth = 0
                while type(reply) is Reply:
                    depth += 1
                    assert depth <= len(tcbs), "a call stack longer than the threads (a cycle)"
                    assert reply.donated is sc, "a reply on a call stack it does not donate to"
                    caller = reply.caller
                    assert caller is not None and caller.state == abi.STATE_BLOCKED_REPLY, (
                        "a call stack holds a reply nobody waits on"
                    )
                    reply = _below(reply)
                assert sc.home is None or reply is sc.home, (
                    "a home SC's call stack starts elsewhere"
                )
        if tcb.state != abi.STATE_BLOCKED_REPLY:
            assert sc is not None or link is None, tcb.name + " links a call stack it is not on"
            continue
        reply = tcb.blocked_on
        donated = reply.donated
        if sc is None and link is not None:
            assert donated is not None and (type(link) is not Reply or link.donated is donated), (
                tcb.name + " links a call stack its reply is not on"
            )
        if donated is not None:
            holder = donated.tcb
            node = holder.sc_reply if holder is not None else None
            while type(node) is Reply and node is not reply:
                node = _below(node)
            assert node is reply, "a donating reply is not on its SC's call stack"
