"""Property tests of the sporadic-server refill algorithm (pure, no kernel)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from k5.refill import Refills
from k5.ticks import TICKS_PERIOD, ticks_add, ticks_diff

# 300 examples of up to 60 operations each: well under a second per 100 examples.
SETTINGS = settings(max_examples=300, deadline=None)


def window_ok(intervals, budget, period):
    """In every window [s, s + period) at most `budget` ticks were consumed."""
    for start, _ in intervals:
        used = 0
        for s, e in intervals:
            overlap = min(e, start + period) - max(s, start)
            if overlap > 0:
                used += overlap
        if used > budget:
            return False
    return True


@SETTINGS
@given(
    budget=st.integers(1, 12),
    extra=st.integers(0, 30),
    max_refills=st.integers(2, 8),
    min_budget=st.integers(1, 3),
    ops=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 15)), max_size=60),
    start=st.sampled_from([0, TICKS_PERIOD - 40, TICKS_PERIOD // 2]),
)
def test_refills_never_exceed_budget_per_period(
    budget, extra, max_refills, min_budget, ops, start
):
    # `now` counts ticks from the start, unwrapped; the algorithm sees wrapped tick values.
    if budget < min_budget:
        budget = min_budget
    period = budget + extra
    refills = Refills(min_budget)
    now = 0
    refills.configure(budget, period, max_refills, ticks_add(start, now))
    intervals = []
    for op, amount in ops:
        refills.check_invariants()
        if op == 0:
            # Dispatch (as the kernel does when it switches to this SC): wait for the head
            # refill, activate it at `now`, run at most what it holds, and charge it.
            wait = ticks_diff(refills.head_time(), ticks_add(start, now))
            if wait > 0:
                now += wait
            refills.unblock_check(ticks_add(start, now))
            usage = min(amount, refills.head_amount())
            intervals.append((now, now + usage))
            now += usage
            refills.budget_check(usage)
        elif op == 1:
            # Block for a while, then unblock.
            now += amount
            refills.unblock_check(ticks_add(start, now))
        else:
            # Ready but not running: other threads run meanwhile.
            now += amount
    refills.check_invariants()
    assert window_ok(intervals, budget, period)


@SETTINGS
@given(budget=st.integers(1, 20), usages=st.lists(st.integers(1, 40), max_size=40))
def test_round_robin_keeps_budget(budget, usages):
    refills = Refills(1)
    refills.configure(budget, budget, 2, 0)
    for usage in usages:
        refills.charge_round_robin(usage)
        refills.check_invariants()
        assert 1 <= refills.head_amount() <= budget


def test_head_refill_queries():
    # ready/sufficient/capacity at their boundaries (found by make mutate: never exercised).
    refills = Refills(2)
    refills.configure(5, 10, 3, 100)
    assert refills.ready(100) and refills.ready(101) and not refills.ready(99)
    assert refills.sufficient(3) and not refills.sufficient(4)
    assert refills.capacity(0) == 5 and refills.capacity(3) == 2
    assert refills.capacity(5) == 0 and refills.capacity(7) == 0
    # Across the 2**30 wrap the head is still ready once its time has come.
    refills.configure(5, 10, 3, TICKS_PERIOD - 1)
    assert refills.ready(0) and refills.ready(TICKS_PERIOD - 1)
    assert not refills.ready(TICKS_PERIOD - 2)
