"""On-target benchmark: a high-priority task's wake-up lateness behind long calls in C."""

# Runs on MPS2_AN505 under QEMU with `-icount shift=0,sleep=off` (tools/bench.py): time is the
# instruction count, and an idle CPU jumps to its next timer event instead of following the
# host's clock, so every run is exactly repeatable. Prints one "late CALL TICKS" line per call.

import time

import k5
from k5.system import System

DONE = 2  # the periodic task signals this notification when it is done


# A periodic task at priority 50 wakes every 10 ticks; a task at priority 10 (budget 5 of 20)
# runs one long call in C after another (each 0.4 to 0.7 s on the emulated board). The row is
# the periodic task's worst lateness in ticks over its rounds, from the caller's first call on.
# The goal is 2 ticks; "none" (the caller asleep) is the baseline. Only an interpreter nobody
# else uses can be left inside a C call (docs/security.md, "Long calls in C"): each call runs
# twice, by a caller in the kernel's interpreter (preempted at its safe points) and by one with
# an interpreter of its own ("CALL/own": preempted wherever it is, native/k5arch).
_LONG_CALLS = ("sum_range", "big_pow", "sort_reversed", "regex_backtrack", "str_big_int")
_LONG_CALLS += ("sleep_us", "none")  # none: the caller sleeps in the kernel (the baseline)
_PERIODIC_ROUNDS = 50


_GO = 3  # the caller signals it when it starts calling; the periodic task starts then
_EXPONENT = 30000  # a global, not a literal: 3**30000 folded would be a 14 KB constant


def _long_caller(ipc, which):
    import re

    values = None
    if which == 2:
        values = [0] * 5000  # made at its size: a list grown from range() takes 32 KB
        for i in range(5000):
            values[i] = 5000 - i
    k5.signal(_GO)
    while True:
        if which == 0:
            sum(range(1000000))
        elif which == 1:
            pow(7, 60000)
        elif which == 2:
            values.sort()  # a reversed list: quadratic for MicroPython's quicksort
            values.reverse()
        elif which == 3:
            re.match("(a|aa)*b", "a" * 28)
        elif which == 4:
            str(3**_EXPONENT)
        elif which == 5:
            time.sleep_us(1000000)
        else:
            k5.sleep(1000)


def _periodic(ipc, rounds):
    k5.wait(_GO)
    worst = 0
    due = time.ticks_add(time.ticks_ms(), 10)
    for _ in range(rounds):
        k5.sleep(time.ticks_diff(due, time.ticks_ms()))
        late = time.ticks_diff(time.ticks_ms(), due)
        if late > worst:
            worst = late
        due = time.ticks_add(due, 10)
    k5.signal(DONE)
    k5.exit(worst)


_OWN_HEAP = 49152  # the reversed list takes 20 KB; 3**30000 and its str() about 30 KB


def late_behind(which, heap=None):
    system = System()
    periodic = system.task("periodic", _periodic, priority=50, arg=_PERIODIC_ROUNDS, start=False)
    caller = system.task(
        "caller",
        _long_caller,
        priority=10,
        budget=5,
        period=20,
        arg=which,
        stack=12288 if heap is None else 8192,
        heap=heap,
        start=False,
    )
    go = system.notification("go")
    system.give(periodic, _GO, go)
    system.give(caller, _GO, go)
    done = system.notification("done")
    system.give(periodic, DONE, done)
    system.start()
    k5.wait(done.slot)
    system.run(2)
    worst = system.info(periodic)["exit_code"]
    info = system.info(caller)
    system.close()
    if info["state"] == "faulted" or info["state"] == "exited":
        # The kernel's interpreter has a 90 KB heap the kernel shares with its tasks (since
        # session 18): a call whose numbers take tens of KB does not fit it. No row then.
        if heap is None and info["last_fault"].startswith("MemoryError"):
            return "-"
        raise RuntimeError(
            "the caller making %s ended (%s): no lateness to measure" % (which, info["last_fault"])
        )
    return worst


for which in range(len(_LONG_CALLS)):
    print("late", _LONG_CALLS[which], late_behind(which))
    print("late", _LONG_CALLS[which] + "/own", late_behind(which, _OWN_HEAP))
