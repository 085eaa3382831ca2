"""Tick arithmetic modulo 2**30, so tick counts stay small ints and may wrap."""

# Pure: imports nothing from arch. Times are ticks in 0..TICKS_PERIOD-1; differences are
# meaningful while the two times are less than TICKS_PERIOD // 2 apart (about 6 days at 1 kHz).

from k5._compat import const

TICKS_PERIOD = const(0x40000000)
TICKS_MASK = const(0x3FFFFFFF)
TICKS_HALF = const(0x20000000)

# The one time-range rule. Every time a task or an app names (a sleep, a timer's delay, an SC's
# budget and period; the builder's and app.toml's budgets and periods) lies in 0..TIME_MAX ticks;
# decoding refuses more with ERR_RANGE. ticks_diff orders two times only while they are less
# than TICKS_HALF apart: with this limit every deadline and refill lies at most TIME_MAX ahead
# of now, and a due one is released long before it falls TIME_MAX behind, so the kernel never
# holds two live times TICKS_HALF apart. (2**28 - 1 ticks: 74 hours at 1 kHz; sleep longer in
# steps.) Times that nothing moves (an idle SC's refills) the kernel dates every AGE_STEP ticks,
# and the device's idle ends at least that often (k5/kernel.py _age).
TIME_MAX = const(0x0FFFFFFF)
AGE_STEP = const(0x8000000)


def ticks_add(time, delta):
    """time + delta, wrapped into 0..TICKS_PERIOD-1."""
    return (time + delta) & TICKS_MASK


def ticks_diff(end, start):
    """Signed end - start, correct across one wrap."""
    return ((end - start + TICKS_HALF) & TICKS_MASK) - TICKS_HALF
