"""Scenario: round robin among threads of equal priority (3-tick timeslices)."""

import sys

try:
    sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../.." if "/" in __file__ else "../..")
except NameError:
    pass  # run on a board (mpremote run): k5 is frozen into the firmware

import k5  # noqa: E402
from k5.system import System  # noqa: E402


def worker(ipc, name):
    for i in range(4):
        k5.spin(2)
        k5.puts("%s step %d" % (name, i))


system = System(trace=print, debug=True)
for name in ("a", "b", "c"):
    system.task(name, worker, priority=30, budget=3, period=3, arg=name)
print("result", system.run(200))
