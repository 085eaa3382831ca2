"""Checker arch backend: the explorer decides what each task run does (no threads)."""

# The kernel sees this backend exactly as it sees k5/arch_host.py: the same facade names. But a
# task here has no body: when the kernel resumes a task with run(ctx, limit), the explorer has
# already put the next event into `plan` (a syscall request after `cost` ticks of work, a
# preemption by the timer after `limit` ticks, a fault or an exit), and run() returns it. Every
# result the kernel hands a task through set_result() and every context reset is recorded in
# `events`, in order, so the explorer can check the answers the kernel gives at its boundary.
# Everything here is plain data, so a whole system (kernel + this arch) pickles as a snapshot.

from k5.abi import TRAP_EXIT, TRAP_FAULT, TRAP_PREEMPT, TRAP_SYSCALL
from k5.irqlines import InterruptLines
from k5.ipcbuf import IpcBuffer, copy_lease
from k5.ticks import TICKS_MASK, ticks_diff

# Plans: what the task that the kernel runs next does.
PLAN_SYSCALL = 0  # (PLAN_SYSCALL, request, cost): work `cost` ticks, then trap with `request`
PLAN_PREEMPT = 1  # (PLAN_PREEMPT,): compute until the timer preempts it (all of `limit`)
PLAN_FAULT = 2  # (PLAN_FAULT, cost): work `cost` ticks, then raise an exception
PLAN_EXIT = 3  # (PLAN_EXIT,): return from the task body

# Events recorded at the boundary (arch.events), consumed by the explorer after each step.
EVENT_RESULT = 0  # (EVENT_RESULT, context index, value)
EVENT_RESET = 1  # (EVENT_RESET, context index)
EVENT_RUN = 2  # (EVENT_RUN, context index, trap returned)
EVENT_FIRE = 3  # (EVENT_FIRE, line): a hardware line fired (raised while enabled)

# The checker's machine: hardware interrupt lines, and where device windows may lie.
IRQ_LINES = 4
DEVICE_RANGES = ((0x40000000, 0x40010000),)


class CheckError(Exception):
    """The kernel used the arch facade in a way the contract forbids (a kernel bug)."""


class CheckContext:
    """Saved state of one task: its index, its last request, the results it was handed."""

    __slots__ = ("index", "entry", "ipc", "arg", "request", "result", "fault", "regions", "freed")

    def __init__(self, index, entry, ipc, arg):
        self.index = index
        self.entry = entry
        self.ipc = ipc
        self.arg = arg
        self.request = None
        self.result = None
        self.fault = ""
        self.regions = None
        self.freed = False


class CheckArch(InterruptLines):
    """The arch facade driven by the explorer: simulated clock, plans instead of task code.

    **Invariants:**
    - clock is a tick count modulo 2**30; run() advances it by at most `limit`;
    - `plan` is consumed by exactly one run() (a second run in the same step is an error).
    """

    __slots__ = ("clock", "contexts", "plan", "events")

    def __init__(self, start=0):
        InterruptLines.__init__(self)
        self.clock = start & TICKS_MASK
        self.contexts = []
        self.plan = None
        self.events = []

    def now(self):
        return self.clock

    def idle(self, until):
        if ticks_diff(until, self.clock) > 0:
            self.clock = until

    def context_new(self, entry, arg, stack=None, name="task"):
        ctx = CheckContext(len(self.contexts), entry, IpcBuffer(), arg)
        self.contexts.append(ctx)
        return ctx

    def context_heap(self, ctx):
        return 0  # every checked thread runs in the kernel's interpreter

    def lease_set(self, ctx, buffer, rights):
        return True

    def lease_copy(self, ctx, lease, offset, buffer, count, into_lease):
        return copy_lease(lease, offset, buffer, count, into_lease)

    def context_reset(self, ctx, entry, arg):
        ctx.entry = entry
        ctx.ipc.clear()
        ctx.arg = arg
        ctx.request = None
        ctx.result = None
        ctx.fault = ""
        self.events.append((EVENT_RESET, ctx.index))

    def ipc_buffer(self, ctx):
        return ctx.ipc

    def close(self):
        pass

    def context_free(self, ctx):
        # A destroyed thread's context: the kernel must never run it again (run() checks).
        ctx.freed = True

    # Hardware lines (k5.irqlines.InterruptLines, as on the board): each firing is an event.

    def _fired(self, lines):
        for line in range(IRQ_LINES):
            if lines & (1 << line):
                self.events.append((EVENT_FIRE, line))

    def device_ranges(self):
        return DEVICE_RANGES

    def kept_ranges(self):
        return ()

    def irq_count(self):
        return IRQ_LINES

    def irq_valid(self, line):
        return 0 <= line < IRQ_LINES

    def request(self, ctx):
        return ctx.request

    def set_result(self, ctx, value):
        ctx.result = value
        self.events.append((EVENT_RESULT, ctx.index, value))

    def fault_text(self, ctx):
        return ctx.fault

    def memory_view(self, ctx, regions):
        ctx.regions = regions

    def run(self, ctx, limit):
        plan = self.plan
        if plan is None:
            raise CheckError("the kernel ran a task twice in one step (or without a plan)")
        self.plan = None
        if ctx.freed:
            raise CheckError("the kernel ran the freed context of a destroyed thread")
        if type(limit) is not int or limit < 0:
            raise CheckError("run() limit %r is not a tick count" % (limit,))
        kind = plan[0]
        if kind == PLAN_PREEMPT:
            self.clock = (self.clock + limit) & TICKS_MASK
            trap = TRAP_PREEMPT
        elif kind == PLAN_EXIT:
            trap = TRAP_EXIT
        else:
            cost = plan[2] if kind == PLAN_SYSCALL else plan[1]
            if cost > limit:
                # The timer fires first: the task is preempted before it gets to trap.
                self.clock = (self.clock + limit) & TICKS_MASK
                trap = TRAP_PREEMPT
            else:
                self.clock = (self.clock + cost) & TICKS_MASK
                if kind == PLAN_SYSCALL:
                    ctx.request = plan[1]
                    ctx.result = None
                    trap = TRAP_SYSCALL
                else:
                    ctx.fault = "CheckFault: injected"
                    trap = TRAP_FAULT
        self.events.append((EVENT_RUN, ctx.index, trap))
        return trap
