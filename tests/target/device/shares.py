"""On the board: CPU shares of two equal hogs, and of a 2/10 budget next to a hog."""

import time

from k5.system import System


def hog(ipc, arg):
    while True:
        pass


def report(system, elapsed):
    for info in system.task_dicts():
        print("share", info["name"], elapsed, info["cpu"], info["consumed"])


# Two hogs at equal priority, run in the background of the REPL while it sleeps.
equal = System()
equal.task("hog_a", hog, priority=10)
equal.task("hog_b", hog, priority=10)
start = time.ticks_ms()
equal.start()
time.sleep_ms(2000)
report(equal, time.ticks_diff(time.ticks_ms(), start))
equal.close()

# A 2-tick budget in a 10-tick period above a hog, run in the foreground by system.run().
budget = System()
budget.task("limited", hog, priority=20, budget=2, period=10)
budget.task("background", hog, priority=10)
start = time.ticks_ms()
budget.run(2000)
report(budget, time.ticks_diff(time.ticks_ms(), start))
budget.close()
