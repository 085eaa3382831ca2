"""Timers: a task's notification signalled at a deadline (Hubris's set_timer)."""

# A task may hold one timer: SYS_SET_TIMER names a notification cap of its own (WRITE) and a
# delay in ticks; when the delay has passed the kernel signals the notification with the cap's
# badge, as an interrupt would. Setting the timer again replaces it; a delay of -1 cancels it;
# any other delay is 1..TIME_MAX ticks (k5/ticks.py's time-range rule).
# A Timer waits in the scheduler's sleep queue beside sleeping threads (it has the fields a
# queue needs), so the kernel's loop wakes it at no extra cost: k5/kernel.py's _release fires
# it. A timer is held through the cap it was set with, as seL4 keeps a derived cap in an
# IRQHandler: it goes when that cap is deleted (by delete, by the revocation of an ancestor,
# or by the destruction of the notification) or revoked, and with its task (exit, restart,
# destruction).

from k5 import abi
from k5.decode import lookup, time_error
from k5.notification import do_signal
from k5.objects import QUEUE_SLEEP
from k5.ticks import ticks_add


class Timer:
    """A pending deadline of one task, queued in the sleep queue.

    **Invariants:**
    - queue is the sleep queue exactly while the timer is set (queue_kind QUEUE_SLEEP);
    - kernel.timers holds it while it is set, and owner holds no other;
    - cap, the notification cap it was set with, is alive and names ntfn while it is set.
    """

    __slots__ = (
        "owner",
        "ntfn",
        "badge",
        "wake_time",
        "queue",
        "queue_kind",
        "q_next",
        "q_prev",
        "cap",
    )

    # Read by the sleep queue's invariant checks, which see its members as sleepers.
    state = abi.STATE_BLOCKED_SLEEP

    def __init__(self, owner, cap, badge):
        self.owner = owner
        self.cap = cap
        self.ntfn = cap.obj
        self.badge = badge
        self.wake_time = 0
        self.queue = None
        self.queue_kind = 0
        self.q_next = None
        self.q_prev = None


def cancel(kernel, owner=None, ntfn=None, cap=None):
    """Cancel the timers of `owner` (a TCB), on `ntfn` or set through `cap` (perform)."""
    timers = kernel.timers
    i = 0
    while i < len(timers):
        timer = timers[i]
        if timer.owner is owner or timer.ntfn is ntfn or timer.cap is cap:
            if timer.queue is not None:
                timer.queue.remove(timer)
            timers.pop(i)
        else:
            i += 1


def fire(kernel, timer):
    """The deadline passed (the sleep queue released it): signal (perform)."""
    timers = kernel.timers
    for i in range(len(timers)):
        if timers[i] is timer:
            timers.pop(i)
            break
    do_signal(kernel, timer.ntfn, timer.badge)


def sys_set_timer(kernel, tcb, sysno, request):
    # (SYS_SET_TIMER, ntfn_slot, ticks): signal the notification in `ticks` ticks; -1 cancels
    if len(request) != 3:
        return abi.ERR_INVALID_ARGUMENT
    ticks = request[2]
    if type(ticks) is int and ticks == -1:
        cancel(kernel, tcb)
        return abi.OK
    # 1 <= ticks <= TIME_MAX (k5/ticks.py's time-range rule)
    err = time_error(ticks)
    if err != abi.OK:
        return err
    if ticks == 0:
        return abi.ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], abi.TYPE_NOTIFICATION, abi.RIGHT_WRITE)
    if type(cap) is int:
        return cap
    cancel(kernel, tcb)
    timer = Timer(tcb, cap, cap.badge if cap.badge else 1)
    kernel.timers.append(timer)
    now = kernel.arch.now()
    kernel.sched.sleep_insert(timer, ticks_add(now, ticks), now)
    timer.queue_kind = QUEUE_SLEEP
    return abi.OK
