"""On the board: the two attacks of the time-range rule (issue 22), refused, and both limits."""

# A hostile task tries a timer 2**29 - 1 ahead and a sleep 2**30 - 8 ahead (once, these wedged
# the sleep queue for every task), then the farthest allowed ones, while a victim sleeps 10 ms
# again and again. A hog tries to reconfigure its own SC to 1 tick per 2**29 + 1 (once, the
# refill wrapped into the past: 100% of the CPU), then 1 per TIME_MAX, above a counter.

import time

import k5
from k5.system import System
from k5.ticks import TICKS_HALF, TICKS_PERIOD, TIME_MAX

TICK, CONTROL, SC, DONE = 0, 1, 2, 3


def hostile(ipc, arg):
    print("far timer", k5.set_timer(TICK, TICKS_HALF - 1))
    print("past sleep", k5.sleep(TICKS_PERIOD - 8))
    print("max timer", k5.set_timer(TICK, TIME_MAX))
    print("over timer", k5.set_timer(TICK, TIME_MAX + 1))
    print("over sleep", k5.sleep(TIME_MAX + 1))
    k5.sleep(TIME_MAX)  # accepted: asleep to the end


def victim(ipc, arg):
    for _ in range(5):
        start = time.ticks_ms()
        err = k5.sleep(10)
        print("woke", err, time.ticks_diff(time.ticks_ms(), start))
    k5.signal(DONE)


def hog(ipc, period):
    print("configure", period, k5.sc_configure(CONTROL, SC, 1, period))
    while True:
        pass


def counter(ipc, arg):
    while True:
        pass


system = System()
tick = system.notification("tick")
done = system.notification("done")
h = system.task("hostile", hostile, priority=30)
system.give(h, TICK, tick)
v = system.task("victim", victim, priority=40)  # above the hostile: wakes on time
system.give(v, DONE, done)
k5.wait(done.slot)
system.close()

for period in (TICKS_HALF + 1, TIME_MAX):
    shares = System()
    g = shares.task("hog", hog, priority=20, budget=5, period=20, arg=period)
    shares.give(g, CONTROL, shares.sched_control())
    shares.give(g, SC, g.sc)
    shares.task("counter", counter, priority=10)
    start = time.ticks_ms()
    shares.run(500)
    elapsed = time.ticks_diff(time.ticks_ms(), start)
    for info in shares.task_dicts():
        print(
            "share",
            period,
            info["name"],
            elapsed,
            info["budget"],
            info["period"],
            info["consumed"],
        )
    shares.close()
print("done")
