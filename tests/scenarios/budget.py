"""Scenario: a 2-tick budget in a 10-tick period gets 20% of the CPU."""

import sys

try:
    sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../.." if "/" in __file__ else "../..")
except NameError:
    pass  # run on a board (mpremote run): k5 is frozen into the firmware

import k5  # noqa: E402
from k5.system import System  # noqa: E402

TICKS = 1000


def hog(ipc, arg):
    while True:
        k5.spin(1000)


system = System(debug=True)
system.record_usage()
limited = system.task("limited", hog, priority=50, budget=2, period=10, refills=4)
background = system.task("background", hog, priority=10, budget=5, period=5)
print("result", system.run(TICKS))
# The kernel's usage log: one (thread name, start, end) per stretch of CPU time.
used = {}
for name, start, end in system.usage():
    print("run %s %d %d" % (name, start, end))
    used[name] = used.get(name, 0) + end - start
print("total limited %d" % used["limited"])
print("total background %d" % used["background"])
print("exhaustions limited %d" % system.info(limited.sc)["exhaustions"])
system.ps(show_caps=False)
