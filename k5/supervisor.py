"""The supervisor task (Hubris's jefe): every fault of its tasks, a policy for each."""

# supervise(system, tasks) builds it with the builder's API (k5.builder.Builder on the host,
# k5.front.System on the board): one fault endpoint, each supervised task's fault handler set
# to it with the task's own badge, and a supervisor task holding the TCB cap of each. The
# supervisor is the only receiver on that endpoint and no other task holds a cap to it, so no
# task can fault it or send it anything; the kernel alone sends it fault messages.
#
# Policies: RESTART restarts the task at once (its generation goes up, so generation badges
# held for its old self go stale); BACKOFF restarts it after a delay that doubles with every
# fault in a row (from `base` to `limit` ticks), so a task that faults at once on every start
# costs at most one restart per `limit` ticks instead of taking the CPU; HOLD leaves it
# faulted. Any policy turns into HOLD after `hold_after` faults (0: never). k5.ps() shows each
# task's fault history (class, address) and generation; the supervisor prints one line per
# decision, and its counts are in its exit report when it is told to stop.

from k5._compat import const
from k5.abi import (
    FAULT_EXCEPTION,
    RIGHT_READ,
    RIGHT_WRITE,
    RIGHTS_ALL,
    SOURCE_NOTIFICATION,
)

RESTART = const(0)
BACKOFF = const(1)
HOLD = const(2)

_FAULTS = const(0)  # the supervisor's slots: the fault endpoint (read)
_TIMER = const(1)  # its own notification (bound: its timer wakes the receive)
_FIRST_TCB = const(2)  # then one TCB cap per supervised task
STACK = const(4096)  # its stack on the device (k5 gen counts it against the arena)
_TICKS_MASK = const(0x3FFFFFFF)
_TICKS_HALF = const(0x20000000)


def _diff(a, b):
    return ((a - b + _TICKS_HALF) & _TICKS_MASK) - _TICKS_HALF


def supervise(system, tasks, priority=200, name="supervisor"):
    """Supervise `tasks`: a list of (task, policy, base, limit, hold_after) or (task, policy).

    Returns the supervisor task. The supervisor should outrank what it supervises."""
    faults = system.endpoint(name + ".faults")
    timer = system.notification(name + ".timer")
    policies = []
    for i in range(len(tasks)):
        entry = tuple(tasks[i]) + (1, 64, 0)[len(tasks[i]) - 2 :]
        policies.append((_FIRST_TCB + i,) + entry[1:5] + (entry[0].name,))
    sup = system.task(
        name,
        supervisor_body,
        priority=priority,
        arg=tuple(policies),
        slots=_FIRST_TCB + len(tasks),
        stack=STACK,
    )
    system.give(sup, _FAULTS, faults, RIGHT_READ)
    system.give(sup, _TIMER, timer, RIGHT_WRITE | RIGHT_READ)
    system.bind_notification(sup, timer)
    for i in range(len(tasks)):
        task = tasks[i][0]
        system.give(sup, _FIRST_TCB + i, task, RIGHTS_ALL)
        system.fault_handler(task, faults, badge=i + 1)
    return sup


def supervisor_body(ipc, policies):
    import k5

    count = len(policies)
    faults = [0] * count  # faults of each task
    streak = [0] * count  # faults in a row (reset when a task ran `limit` ticks fault-free)
    started = [0] * count  # when each was last (re)started
    due = [-1] * count  # when a delayed restart is due (-1: none)
    while True:
        err = k5.recv(_FAULTS)
        source = ipc.source
        badge = ipc.badge
        label = ipc.label
        text = ipc.payload() if source != SOURCE_NOTIFICATION else b""
        now = k5.now(ipc)
        if err == 0 and source != SOURCE_NOTIFICATION and label == FAULT_EXCEPTION:
            i = badge - 1
            if 0 <= i < count:
                slot, policy, base, limit, hold_after, task_name = policies[i]
                faults[i] += 1
                if _diff(now, started[i]) > limit:
                    streak[i] = 0
                streak[i] += 1
                if hold_after and faults[i] >= hold_after:
                    policy = HOLD
                if policy == RESTART:
                    k5.tcb_restart(slot)
                    started[i] = now
                    decision = "restart"
                elif policy == BACKOFF:
                    delay = base << (streak[i] - 1) if streak[i] < 20 else limit
                    if delay > limit:
                        delay = limit
                    due[i] = (now + delay) & _TICKS_MASK
                    decision = "restart in " + str(delay)
                else:
                    decision = "hold"
                print(task_name, "fault", faults[i], decision, ":", text.decode())
        # Restarts now due, and the timer for the next one.
        nearest = -1
        for i in range(count):
            if due[i] >= 0:
                left = _diff(due[i], now)
                if left <= 0:
                    due[i] = -1
                    k5.tcb_restart(policies[i][0])
                    started[i] = now
                elif nearest < 0 or left < nearest:
                    nearest = left
        if nearest > 0:
            k5.set_timer(_TIMER, nearest)
