"""Simulated arch backend: tasks are generators, time is simulated ticks."""

# A task body is a function `body(ipc, arg)`; calling it returns a generator that yields syscall
# requests (tuples, see k5/abi.py) and receives each result. A task "runs" only when the kernel
# calls run(ctx, limit): the backend resumes its generator until it traps. Time advances only
# through user work: each syscall trap costs `syscall_cost` ticks and `spin(n)` burns n ticks.
# When `limit` ticks are used up the task is preempted (TRAP_PREEMPT) exactly as SysTick would,
# keeping any unfinished spin or unsent request for the next run. No threads: deterministic.

from k5._compat import const
from k5.ticks import TICKS_MASK, ticks_diff
from k5.abi import (
    SYS_SPIN,
    TRAP_EXIT,
    TRAP_FAULT,
    TRAP_PREEMPT,
    TRAP_SYSCALL,
    WORD_LIMIT,
)

_FAULT_TEXT_MAX = const(120)


class HostContext:
    """Saved state of one simulated task.

    **Invariants:**
    - spin_left >= 0; held is True only while request holds an undelivered syscall;
    - gen is None until the first run and after the task finished.
    """

    __slots__ = (
        "entry",
        "ipc",
        "arg",
        "gen",
        "started",
        "result",
        "request",
        "held",
        "spin_left",
        "fault",
        "finished",
        "regions",
    )

    def __init__(self, entry, ipc, arg):
        self.regions = None
        self.reset(entry, ipc, arg)

    def reset(self, entry, ipc, arg):
        self.entry = entry
        self.ipc = ipc
        self.arg = arg
        self.gen = None
        self.started = False
        self.result = None
        self.request = None
        self.held = False
        self.spin_left = 0
        self.fault = ""
        self.finished = False


class HostArch:
    """The host implementation of the arch facade (simulated clock and tasks).

    **Invariants:**
    - clock is a tick count modulo 2**30 (k5.ticks); run() advances it by at most `limit`.
    """

    __slots__ = ("clock", "syscall_cost")

    def __init__(self, syscall_cost=1, start=0):
        self.clock = start & TICKS_MASK
        self.syscall_cost = syscall_cost

    def now(self):
        return self.clock

    def idle(self, until):
        """Sleep until `until` (WFI until the timer): nothing runs meanwhile."""
        if ticks_diff(until, self.clock) > 0:
            self.clock = until

    def context_new(self, entry, ipc, arg):
        return HostContext(entry, ipc, arg)

    def context_reset(self, ctx, entry, ipc, arg):
        gen = ctx.gen
        ctx.reset(entry, ipc, arg)
        if gen is not None:
            try:
                gen.close()
            except Exception:
                pass

    def request(self, ctx):
        return ctx.request

    def set_result(self, ctx, value):
        ctx.result = value

    def fault_text(self, ctx):
        return ctx.fault

    def memory_view(self, ctx, regions):
        """Program the task's MPU view; the host only records it."""
        ctx.regions = regions

    def _fault(self, ctx, exc):
        text = type(exc).__name__
        try:
            detail = str(exc)
            detail.encode()
        except Exception:
            detail = "?"
        if detail:
            text = text + ": " + detail
        ctx.fault = text[:_FAULT_TEXT_MAX]
        ctx.gen = None
        ctx.finished = True
        return TRAP_FAULT

    def run(self, ctx, limit):
        """Resume the task for at most `limit` ticks; return why it stopped (TRAP_*)."""
        used = 0
        cost = self.syscall_cost
        while True:
            spin = ctx.spin_left
            if spin > 0:
                room = limit - used
                if spin > room:
                    ctx.spin_left = spin - room
                    self.clock = (self.clock + room) & TICKS_MASK
                    return TRAP_PREEMPT
                ctx.spin_left = 0
                used += spin
                self.clock = (self.clock + spin) & TICKS_MASK
            if ctx.held:
                if used + cost > limit:
                    return TRAP_PREEMPT
                ctx.held = False
                self.clock = (self.clock + cost) & TICKS_MASK
                return TRAP_SYSCALL
            if ctx.finished:
                return TRAP_EXIT
            try:
                gen = ctx.gen
                if gen is None:
                    gen = ctx.entry(ctx.ipc, ctx.arg)
                    if not hasattr(gen, "send"):
                        ctx.finished = True
                        return TRAP_EXIT
                    ctx.gen = gen
                    request = gen.send(None)
                else:
                    request = gen.send(ctx.result)
            except StopIteration:
                ctx.gen = None
                ctx.finished = True
                return TRAP_EXIT
            except SystemExit:
                ctx.gen = None
                ctx.finished = True
                return TRAP_EXIT
            except Exception as exc:
                return self._fault(ctx, exc)
            ctx.result = None
            if type(request) is tuple and len(request) == 2:
                ticks = request[1]
                sysno = request[0]
                if (
                    type(sysno) is int
                    and sysno == SYS_SPIN
                    and type(ticks) is int
                    and 0 <= ticks < WORD_LIMIT
                ):
                    ctx.spin_left = ticks
                    ctx.result = 0
                    continue
            ctx.request = request
            ctx.held = True
