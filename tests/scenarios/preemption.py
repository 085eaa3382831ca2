"""Scenario: a higher-priority thread preempts a lower one as soon as it wakes."""

import sys

try:
    sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../.." if "/" in __file__ else "../..")
except NameError:
    pass  # run on a board (mpremote run): k5 is frozen into the firmware

import k5  # noqa: E402
from k5.abi import RIGHT_READ, RIGHT_WRITE  # noqa: E402
from k5.system import System  # noqa: E402

NTFN = 1


def low(ipc, arg):
    for i in range(3):
        k5.spin(5)
        k5.puts("low signals %d" % i)
        k5.signal(NTFN)
        k5.puts("low resumes %d" % i)
    k5.exit()


def high(ipc, arg):
    while True:
        err = k5.wait(NTFN)
        k5.puts("high woke err=%d bits=%d" % (err, ipc.badge))


system = System(trace=print, debug=True)
n = system.notification("n")
lo = system.task("low", low, priority=10, budget=20, period=20)
hi = system.task("high", high, priority=200)
system.give(lo, NTFN, n, RIGHT_WRITE, badge=4)
system.give(hi, NTFN, n, RIGHT_READ)
print("result", system.run(500))
