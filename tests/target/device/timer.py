"""On the board: a task's timer signals its notification at the deadline, beside a sleeper."""

import time

import k5
from k5.system import System

TICK, DONE = 0, 1


def waiter(ipc, arg):
    for delay in (5, 20, 50):
        start = time.ticks_ms()
        k5.set_timer(TICK, delay)
        err = k5.wait(TICK)
        print("timer", delay, err, ipc.badge, time.ticks_diff(time.ticks_ms(), start))
    k5.set_timer(TICK, 10)
    k5.set_timer(TICK, -1)
    time.sleep_ms(30)
    print("cancelled", k5.poll(TICK))
    k5.signal(DONE)


system = System()
tick = system.notification("tick")
done = system.notification("done")
w = system.task("waiter", waiter, priority=30)
system.give(w, TICK, tick, badge=6)
system.give(w, DONE, done)
k5.wait(done.slot)
system.close()
print("done")
