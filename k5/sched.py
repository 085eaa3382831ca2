"""Ready queues (per priority, with a bitmap), the release queue and the sleep queue."""

# Pure policy: imports nothing from arch. Ready queues are intrusive FIFOs, one per priority;
# a two-level bitmap (16 groups of 16 priorities) finds the highest non-empty one in O(1).

from k5._compat import micropython
from k5.abi import PRIORITY_COUNT
from k5.objects import (  # noqa: F401 (priority_higher is exported from here too)
    QUEUE_READY,
    QUEUE_RELEASE,
    QUEUE_SLEEP,
    TcbQueue,
    priority_higher,
)
from k5.ticks import ticks_diff


def _build_msb_table():
    table = bytearray(256)
    for value in range(1, 256):
        bit = 0
        while (value >> (bit + 1)) != 0:
            bit += 1
        table[value] = bit
    return table


class Scheduler:
    """Ready queues and release queue of one kernel.

    **Invariants:**
    - bit p of the bitmap is set exactly when ready[p] exists and is non-empty;
    - every TCB in ready[p] has priority p, state RUNNING and an SC with a ready refill;
    - the release queue is sorted by the head refill time of each thread's SC;
    - the sleep queue (threads in SYS_SLEEP and timers) is sorted by wake_time;
    - both sorted as a whole (every pair, not only neighbours); seen from now, no time lies
      more than k5.ticks.TIME_MAX ahead, so ticks_diff orders any two (k5/invariants.py);
    - wake_hint is -1 only when both are empty, else a time no later than either head's: the
      kernel's loop looks at the queues only when the clock reaches it (a head removed early
      leaves it early, which costs one look, after which it is exact again).
    """

    __slots__ = ("ready", "top_bits", "group_bits", "msb", "release", "sleep", "wake_hint")

    def __init__(self):
        # Priority -> its queue, created when the priority is first used: 256 empty queues
        # would cost ~10 KB, and a list of 256 slots 1 KB of heap; a system uses a few.
        self.ready = {}
        self.top_bits = 0
        self.group_bits = bytearray(32)
        self.msb = _build_msb_table()
        self.release = TcbQueue()
        self.sleep = TcbQueue()
        self.wake_hint = -1

    @micropython.native
    def _msb16(self, value):
        if value >= 256:
            return 8 + self.msb[value >> 8]
        return self.msb[value]

    @micropython.native
    def _set_bit(self, priority):
        group = priority >> 4
        index = group << 1
        bits = self.group_bits[index] | (self.group_bits[index + 1] << 8)
        bits |= 1 << (priority & 15)
        self.group_bits[index] = bits & 255
        self.group_bits[index + 1] = bits >> 8
        self.top_bits |= 1 << group

    @micropython.native
    def _clear_bit(self, priority):
        group = priority >> 4
        index = group << 1
        bits = self.group_bits[index] | (self.group_bits[index + 1] << 8)
        bits &= ~(1 << (priority & 15))
        self.group_bits[index] = bits & 255
        self.group_bits[index + 1] = bits >> 8
        if bits == 0:
            self.top_bits &= ~(1 << group)

    @micropython.native
    def highest(self):
        """Highest priority with a ready thread, or -1."""
        top = self.top_bits
        if top == 0:
            return -1
        group = self._msb16(top)
        index = group << 1
        bits = self.group_bits[index] | (self.group_bits[index + 1] << 8)
        return (group << 4) + self._msb16(bits)

    @micropython.native
    def append(self, tcb):
        """Make tcb ready at the tail of its priority (end of timeslice, unblock)."""
        priority = tcb.priority
        queue = self.ready.get(priority)
        if queue is None:
            queue = self.ready[priority] = TcbQueue()
        queue.append(tcb)
        tcb.queue_kind = QUEUE_READY
        if queue.head is tcb:
            self._set_bit(priority)

    @micropython.native
    def prepend(self, tcb):
        """Make tcb ready at the head of its priority (it was preempted)."""
        priority = tcb.priority
        queue = self.ready.get(priority)
        if queue is None:
            queue = self.ready[priority] = TcbQueue()
        queue.prepend(tcb)
        tcb.queue_kind = QUEUE_READY
        if queue.tail is tcb:
            self._set_bit(priority)

    @micropython.native
    def remove(self, tcb):
        priority = tcb.priority
        queue = self.ready[priority]
        queue.remove(tcb)
        if queue.head is None:
            self._clear_bit(priority)

    @micropython.native
    def pop_highest(self):
        """Dequeue the first thread of the highest non-empty priority (None if none)."""
        top = self.top_bits
        if top == 0:
            return None
        msb = self.msb
        group = 8 + msb[top >> 8] if top >= 256 else msb[top]
        index = group << 1
        bits = self.group_bits[index] | (self.group_bits[index + 1] << 8)
        priority = (group << 4) + (8 + msb[bits >> 8] if bits >= 256 else msb[bits])
        queue = self.ready[priority]
        tcb = queue.head
        queue.remove(tcb)
        if queue.head is None:
            self._clear_bit(priority)
        return tcb

    @micropython.native
    def release_insert(self, tcb, now):
        """Queue tcb until its SC's head refill time (stable: FIFO among equal times).

        Times are ordered by their distance from `now`, a fixed reference: one order for every
        mix of times within 2**29 of now (TIME_MAX keeps them there), where comparing
        neighbours with each other would not be transitive.
        """
        time = tcb.sc.r_time[tcb.sc.head]
        key = ticks_diff(time, now)
        hint = self.wake_hint
        if hint < 0 or ticks_diff(time, hint) < 0:
            self.wake_hint = time
        queue = self.release
        node = queue.tail
        while node is not None and ticks_diff(node.sc.r_time[node.sc.head], now) > key:
            node = node.q_prev
        queue.insert_after(node, tcb)
        tcb.queue_kind = QUEUE_RELEASE

    @micropython.native
    def sleep_insert(self, tcb, wake, now):
        """Queue tcb until tick `wake` (stable: FIFO among equal times), ordered as above."""
        tcb.wake_time = wake
        key = ticks_diff(wake, now)
        hint = self.wake_hint
        if hint < 0 or ticks_diff(wake, hint) < 0:
            self.wake_hint = wake
        queue = self.sleep
        node = queue.tail
        while node is not None and ticks_diff(node.wake_time, now) > key:
            node = node.q_prev
        queue.insert_after(node, tcb)
        tcb.queue_kind = QUEUE_SLEEP

    @micropython.native
    def next_wakeup(self):
        """Time of the earliest refill release or sleeper's wake-up, or -1 when there is none."""
        tcb = self.release.head
        release = -1 if tcb is None else tcb.sc.r_time[tcb.sc.head]
        tcb = self.sleep.head
        if tcb is not None and (release < 0 or ticks_diff(tcb.wake_time, release) < 0):
            return tcb.wake_time
        return release

    def check_invariants(self):
        for priority in range(PRIORITY_COUNT):
            queue = self.ready.get(priority)
            group = priority >> 4
            bits = self.group_bits[group << 1] | (self.group_bits[(group << 1) + 1] << 8)
            has_bit = ((bits >> (priority & 15)) & 1) == 1
            if queue is None:
                assert not has_bit, "ready bitmap set for a priority never used"
                continue
            queue.check_invariants()
            assert has_bit == (queue.head is not None), "ready bitmap out of sync"
            tcb = queue.head
            while tcb is not None:
                assert tcb.priority == priority, "thread in wrong ready queue"
                tcb = tcb.q_next
        # The whole queue's order, every pair, not neighbours only: ticks_diff is no order on
        # times 2**29 or more apart (a far deadline, then one "in the past" behind it, passed a
        # neighbour check while the queue's head held up every other sleeper). k5/invariants.py
        # adds a monotone walk from now, within TIME_MAX. It walks the links: nothing is
        # allocated (the device's kernel collects no garbage of its own, and in debug mode the
        # check runs after every trap).
        self.release.check_invariants()
        self.sleep.check_invariants()
        for release in (True, False):
            node = self.release.head if release else self.sleep.head
            while node is not None:
                time = node.sc.r_time[node.sc.head] if release else node.wake_time
                other = node.q_next
                while other is not None:
                    later = other.sc.r_time[other.sc.head] if release else other.wake_time
                    assert ticks_diff(time, later) <= 0, ("release" if release else "sleep") + (
                        " out of order"
                    )
                    other = other.q_next
                node = node.q_next
        return True
