"""Tick counts wrap at 2**30: arithmetic and a budget enforced across the wrap."""

import k5
from k5.system import System
from k5.ticks import TICKS_PERIOD, ticks_add, ticks_diff


def test_ticks_arithmetic():
    assert ticks_add(TICKS_PERIOD - 1, 1) == 0
    assert ticks_add(0, -1) == TICKS_PERIOD - 1
    assert ticks_diff(0, TICKS_PERIOD - 1) == 1
    assert ticks_diff(TICKS_PERIOD - 1, 0) == -1
    assert ticks_diff(5, 5) == 0


def hog(ipc, arg):
    while True:
        k5.spin(1000)


def test_budget_across_the_wrap():
    start = TICKS_PERIOD - 333
    system = System(debug=True, start_time=start)
    system.kernel.usage_log = []
    limited = system.task("limited", hog, priority=50, budget=2, period=10)
    system.task("background", hog, priority=10)
    system.run(1000)
    assert system.now() == ticks_add(start, 1000) and system.now() < 1000
    runs = [
        (ticks_diff(s, start), ticks_diff(e, start))
        for sc, s, e, t in system.kernel.usage_log
        if t is limited.obj
    ]
    assert abs(sum(e - s for s, e in runs) - 200) <= 2
    for first, _ in runs:
        window = sum(max(0, min(e, first + 10) - max(s, first)) for s, e in runs)
        assert window <= 2
