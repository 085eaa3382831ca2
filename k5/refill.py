"""Sporadic-server refill queue (the algorithm of seL4's sporadic.c)."""

# Pure algorithm: imports nothing from arch, so tests and model checkers drive the real code.
# Times are ticks modulo 2**30 (k5.ticks): every comparison goes through ticks_diff.
# A refill is (time, amount): `amount` ticks of budget usable from tick `time`. The queue is a
# bounded circular buffer of parallel lists, preallocated when the context is configured.

from k5.ticks import ticks_add, ticks_diff


class Refills:
    """Bounded refill queue of a scheduling context.

    **Invariants:**
    - 1 <= count <= max_refills (the queue is never empty once configured);
    - the sum of all refill amounts is always the budget;
    - refill times are non-decreasing from head to tail and every amount is > 0;
    - a round-robin context (budget == period) keeps at most two refills: the timeslice left
      and the part used.
    """

    __slots__ = (
        "budget",
        "period",
        "min_budget",
        "r_time",
        "r_amount",
        "head",
        "count",
        "configured_at",
    )

    def __init__(self, min_budget=1):
        self.min_budget = min_budget
        self.budget = 0
        self.period = 0
        self.r_time = None
        self.r_amount = None
        self.head = 0
        self.count = 0
        self.configured_at = 0

    def max_refills(self):
        """The capacity of the refill queue (the length of its preallocated lists).

        (Not a field: an SC's attribute table stays within MicroPython's 17-entry size, which
        matters for the device heap with many tasks. Not a property either: a class with one
        makes MicroPython look every attribute store of its instances up in the class first.)
        """
        return 0 if self.r_time is None else len(self.r_time)

    def configure(self, budget, period, max_refills, now):
        """Reset the queue: the full budget is available from `now`."""
        if self.r_time is None or len(self.r_time) != max_refills:
            self.r_time = [0] * max_refills
            self.r_amount = [0] * max_refills
        self.budget = budget
        self.period = period
        self.head = 0
        self.count = 1
        self.r_time[0] = now
        self.r_amount[0] = budget
        self.configured_at = now

    def is_configured(self):
        return self.count > 0

    def is_round_robin(self):
        return self.budget == self.period

    def head_time(self):
        return self.r_time[self.head]

    def head_amount(self):
        return self.r_amount[self.head]

    def ready(self, now):
        """The head refill may be used at `now`."""
        return ticks_diff(self.r_time[self.head], now) <= 0

    def sufficient(self, usage):
        """After `usage` the head refill still holds at least the minimum budget."""
        return self.r_amount[self.head] - usage >= self.min_budget

    def capacity(self, usage):
        remaining = self.r_amount[self.head] - usage
        if remaining < 0:
            return 0
        return remaining

    def _pop_head(self):
        head = self.head
        amount = self.r_amount[head]
        head += 1
        if head == len(self.r_time):
            head = 0
        self.head = head
        self.count -= 1
        return amount

    def _tail(self):
        tail = self.head + self.count - 1
        if tail >= len(self.r_time):
            tail -= len(self.r_time)
        return tail

    def _next(self, index):
        index += 1
        if index == len(self.r_time):
            return 0
        return index

    def _schedule_used(self, time, amount):
        # Append (time, amount) at the tail, merging when it touches the tail or the queue is full.
        tail = self._tail()
        r_time = self.r_time
        r_amount = self.r_amount
        if ticks_diff(ticks_add(r_time[tail], r_amount[tail]), time) >= 0:
            r_amount[tail] += amount
        elif self.count == len(self.r_time):
            # Full: merge into the tail, delaying it so that the merged refill ends where the
            # new one would have ended.
            r_time[tail] = ticks_add(time, -r_amount[tail])
            r_amount[tail] += amount
        else:
            tail = self._next(tail)
            r_time[tail] = time
            r_amount[tail] = amount
            self.count += 1

    def charge_round_robin(self, usage):
        """Round-robin contexts: move `usage` from the head (timeslice left) to the tail."""
        head = self.head
        if usage >= self.r_amount[head]:
            self.reset_round_robin(self.r_time[head])
            return
        self.r_amount[head] -= usage
        if self.count == 1:
            tail = self._next(head)
            self.r_time[tail] = self.r_time[head]
            self.r_amount[tail] = usage
            self.count = 2
        else:
            self.r_amount[self._next(head)] += usage

    def reset_round_robin(self, now):
        """A new timeslice: the whole budget in one refill available from `now`."""
        self.count = 1
        self.r_amount[self.head] = self.budget
        self.r_time[self.head] = now

    def refresh_round_robin(self, now):
        """Round-robin: its refills are available whenever it runs; date them `now` (Kernel._age).

        (Nothing else moves them while the thread does not exhaust a timeslice, so an idle
        task's refill time aged: 2**29 ticks on, ticks_diff took it for a future time and the
        thread waited in the release queue for up to 2**29 more.)
        """
        index = self.head
        for _ in range(self.count):
            self.r_time[index] = now
            index = self._next(index)

    def budget_check(self, usage):
        """Charge `usage` ticks: used budget comes back one period after it became available."""
        if usage <= 0:
            return
        r_time = self.r_time
        r_amount = self.r_amount
        period = self.period
        # Whole refills used up (usage can exceed the head on an overrun).
        while r_amount[self.head] <= usage:
            head = self.head
            amount = r_amount[head]
            usage -= amount
            if self.count == 1:
                r_time[head] = ticks_add(r_time[head], period)
            else:
                time = ticks_add(r_time[head], period)
                self._pop_head()
                self._schedule_used(time, amount)
            if usage == 0:
                break
        if usage > 0:
            head = self.head
            used_time = ticks_add(r_time[head], period)
            r_amount[head] -= usage
            r_time[head] = ticks_add(r_time[head], usage)
            self._schedule_used(used_time, usage)
        # The head must hold at least the minimum budget: merge it into the next refill, which
        # keeps its end time.
        while r_amount[self.head] < self.min_budget and self.count > 1:
            amount = self._pop_head()
            r_time[self.head] = ticks_add(r_time[self.head], -amount)
            r_amount[self.head] += amount

    def unblock_check(self, now):
        """On unblocking: a ready head starts at `now`; merge refills that overlap it."""
        r_time = self.r_time
        r_amount = self.r_amount
        if ticks_diff(r_time[self.head], now) > 0:
            return
        r_time[self.head] = now
        while self.count > 1:
            head = self.head
            following = self._next(head)
            if ticks_diff(ticks_add(r_time[head], r_amount[head]), r_time[following]) < 0:
                break
            amount = self._pop_head()
            r_time[following] = now
            r_amount[following] += amount

    def refill_sum(self):
        total = 0
        index = self.head
        for _ in range(self.count):
            total += self.r_amount[index]
            index = self._next(index)
        return total

    def refill_list(self):
        """List of (time, amount) from head to tail (inspection and tests)."""
        result = []
        index = self.head
        for _ in range(self.count):
            result.append((self.r_time[index], self.r_amount[index]))
            index = self._next(index)
        return result

    def check_invariants(self):
        assert 1 <= self.count <= len(self.r_time), "refill count"
        assert self.refill_sum() == self.budget, "refill sum is not the budget"
        # Sporadic refills are ordered and disjoint: each ends before the next begins (merged
        # when they would touch). A round-robin timeslice's two parts share one time.
        sporadic = not self.is_round_robin()
        previous = None
        end = None
        index = self.head
        for _ in range(self.count):
            assert self.r_amount[index] > 0, "empty refill"
            if previous is not None:
                assert ticks_diff(previous, self.r_time[index]) <= 0, "refills out of order"
                if sporadic:
                    assert ticks_diff(end, self.r_time[index]) <= 0, "refills overlap"
            previous = self.r_time[index]
            end = ticks_add(previous, self.r_amount[index])
            index = self._next(index)
        return True
