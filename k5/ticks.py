"""Tick arithmetic modulo 2**30, so tick counts stay small ints and may wrap."""

# Pure: imports nothing from arch. Times are ticks in 0..TICKS_PERIOD-1; differences are
# meaningful while the two times are less than TICKS_PERIOD // 2 apart (about 6 days at 1 kHz).

from k5._compat import const

TICKS_PERIOD = const(0x40000000)
TICKS_MASK = const(0x3FFFFFFF)
TICKS_HALF = const(0x20000000)


def ticks_add(time, delta):
    """time + delta, wrapped into 0..TICKS_PERIOD-1."""
    return (time + delta) & TICKS_MASK


def ticks_diff(end, start):
    """Signed end - start, correct across one wrap."""
    return ((end - start + TICKS_HALF) & TICKS_MASK) - TICKS_HALF
