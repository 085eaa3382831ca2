"""Simulated arch backend: each task runs on its own thread, time is simulated ticks."""

# A task body is a plain function `body(ipc, arg)` running on a thread of its own; it traps by
# calling trap(request) (k5.user does), which hands the request to the kernel and returns the
# result. Hand-off is strict: exactly one of {the kernel, one task} runs at any moment and the
# kernel chooses. run(ctx, limit) passes control to the task's thread (started on its first
# run) and blocks until the task traps, returns (TRAP_EXIT) or raises (TRAP_FAULT); the task's
# thread meanwhile blocks inside trap() until the kernel runs it again. So a run is as
# deterministic as the generators this replaced, and the same on CPython and MicroPython.
# Time advances only through user work: each syscall trap costs `syscall_cost` ticks and
# spin(n) burns n ticks. When `limit` ticks are used up the task is preempted (TRAP_PREEMPT)
# exactly as SysTick would, keeping any unfinished spin or unsent request for the next run.
# A thread the kernel abandons (context_reset, close) is woken with a kill flag: trap() raises
# _Killed in it, which unwinds the body (running its finally blocks, whose syscalls raise
# again) and which the trampoline swallows; the thread then ends and never runs task code again.
# A body that swallows BaseException and keeps trapping cannot be unwound (the kernel would
# wait for it forever), just as a body that loops without trapping can never be preempted.

from k5 import wire
from k5._compat import const
from k5.ipcbuf import IpcBuffer, copy_lease
from k5.irqlines import InterruptLines
from k5.ticks import TICKS_MASK, ticks_diff
from k5.abi import (
    SYS_SPIN,
    TRAP_EXIT,
    TRAP_FAULT,
    TRAP_PREEMPT,
    TRAP_SYSCALL,
    WORD_LIMIT,
)

try:
    import _thread
except ImportError:
    _thread = None  # importing works; running a task says why it cannot

_HOST_IRQS = const(32)
# k5/abi.py's _FAULT_TEXT_MAX (private there; tests/kernel/test_arch_host.py checks the copy).
_FAULT_TEXT_MAX = const(120)
_DEVICE_RANGES = ((0x40000000, 0x60000000),)

# The HostContext of the task running on each task thread, by _thread.get_ident().
_tasks = {}
_serial = [0]  # start order of task threads (close_all unwinds them in that order)


def _no_ident():
    return None


_get_ident = _no_ident if _thread is None else _thread.get_ident


class _Killed(BaseException):
    """Unwinds the body of a task whose thread the kernel abandoned (private)."""


def trap(request):
    """Trap into the kernel with a syscall request (a tuple, see k5/abi.py); return its result.

    Runs on the thread of the calling task: hands `request` to the kernel and blocks until the
    kernel runs this task again.
    """
    ctx = _tasks.get(_get_ident())
    if ctx is None:
        raise RuntimeError("k5: trap() called outside a task (this thread runs no task body)")
    if ctx.kill:
        raise _Killed()
    # What the task hands over is bytes (and, on the host, the table the bytes' references
    # index): the kernel decodes its own copy (HostArch.request), as on the device. (The
    # device encodes on the task's stack, without the heap; here the same request tuple made
    # once keeps its encoding.)
    if request is not ctx.sent or ctx.request[1]:
        ctx.sent = request
        ctx.request = wire.encode(request)
    ctx.back.release()
    ctx.go.acquire()
    if ctx.kill:
        raise _Killed()
    return ctx.result


def syscall(*args):
    """trap(args): the device saves the tuple; here it is the same call."""
    return trap(args)


def spin(ticks):
    """Burn `ticks` ticks of simulated CPU time (accounted by the arch, not the kernel)."""
    ctx = _tasks.get(_get_ident())
    if ctx is not None and not ctx.kill and type(ticks) is int and 0 <= ticks <= ctx.room:
        # It fits in what is left of this run: burn it here, without a hand-off (run() would
        # do exactly this and resume the task).
        ctx.room -= ticks
        arch = ctx.arch
        arch.clock = (arch.clock + ticks) & TICKS_MASK
        return 0
    return trap((SYS_SPIN, ticks))


def _fault_text(exc):
    # What the device's task does at its end (native/k5arch/k5arch.c): the type's name and the
    # text of the exception, at most _FAULT_TEXT_MAX bytes; a text that cannot be made
    # (its __str__ raises) becomes a fixed one.
    text = type(exc).__name__
    try:
        detail = str(exc)
        detail.encode()
    except Exception:
        detail = "(its text could not be formatted)"
    if detail:
        text = text + ": " + detail
    # At most _FAULT_TEXT_MAX bytes of UTF-8; the kernel keeps printable ASCII, '?' for the rest.
    raw = text.encode()[:_FAULT_TEXT_MAX]
    return "".join([chr(b) if 0x20 <= b < 0x7F else "?" for b in raw])


def _trampoline(ctx):
    # The first code on a task thread: runs the body, then hands control back for good.
    ident = _get_ident()
    _tasks[ident] = ctx
    try:
        try:
            if type(ctx.entry) is bytes:
                # A task with an interpreter of its own: it starts from its image.
                from k5 import image_host

                image_host.run(ctx.entry, ctx.ipc)
            else:
                ctx.entry(ctx.ipc, ctx.arg)
        except _Killed:
            pass
        except SystemExit:
            pass
        except BaseException as exc:
            ctx.exc = exc
            if isinstance(exc, Exception):
                ctx.fault = _fault_text(exc)  # formatted here, in the task's own time
    finally:
        del _tasks[ident]
        ctx.done = True
        ctx.back.release()


def _abandon(ctx):
    """Unwind the context's thread if it has one alive; it never runs task code again."""
    if ctx.started and not ctx.done:
        if _tasks.get(_get_ident()) is ctx:
            raise RuntimeError("k5: a task cannot unwind its own thread")
        ctx.kill = True
        ctx.go.release()
        ctx.back.acquire()


def live_threads():
    """How many task threads are alive (started, not yet finished or unwound)."""
    return len(_tasks)


def close_all():
    """Unwind every live task thread of every HostArch (a test suite's safety net)."""
    contexts = list(_tasks.values())
    contexts.sort(key=lambda ctx: ctx.serial)
    for ctx in contexts:
        _abandon(ctx)


class HostContext:
    """Saved state of one simulated task: its thread and the hand-off between it and the kernel.

    **Invariants:**
    - spin_left >= 0; held is True only while request holds an undelivered syscall;
    - 0 <= room < 2**30: ticks the task may still burn in the current run without a hand-off;
    - started is False until the first run; done once the thread finished or was unwound;
    - while the kernel runs, a started thread that is not done is blocked in trap() on `go`;
    - `go` and `back` are locked whenever no hand-off is in progress.
    """

    __slots__ = (
        "entry",
        "heap",
        "ipc",
        "arg",
        "started",
        "done",
        "kill",
        "exc",
        "result",
        "request",
        "held",
        "spin_left",
        "fault",
        "regions",
        "go",
        "back",
        "serial",
        "arch",
        "room",
        "sent",
        "decoded_raw",
        "decoded",
    )

    def __init__(self, arch, entry, arg):
        self.arch = arch
        self.ipc = IpcBuffer()
        self.room = 0
        self.regions = None
        self.go = None
        self.back = None
        self.serial = 0
        self.reset(entry, arg)

    def reset(self, entry, arg):
        self.entry = entry
        self.ipc.clear()
        self.arg = arg
        self.started = False
        self.done = False
        self.kill = False
        self.exc = None
        self.result = None
        self.request = (b"", ())
        self.sent = None
        self.decoded_raw = None
        self.decoded = None
        self.held = False
        self.spin_left = 0
        self.fault = ""

    def start(self):
        """Start the task's thread; it runs until its first trap (kernel thread)."""
        if _thread is None:
            raise RuntimeError("k5: the host arch runs tasks on threads; no _thread here")
        if self.go is None:
            # Both locks start locked: each hand-off is a release by one side, then an
            # acquire by the other.
            self.go = _thread.allocate_lock()
            self.go.acquire()
            self.back = _thread.allocate_lock()
            self.back.acquire()
        self.started = True
        _serial[0] += 1
        self.serial = _serial[0]
        _thread.start_new_thread(_trampoline, (self,))


class HostArch(InterruptLines):
    """The host implementation of the arch facade (simulated clock, one thread per task).

    **Invariants:**
    - clock is a tick count modulo 2**30 (k5.ticks); run() advances it by at most `limit`;
    - every context this backend created is in `contexts`;
    - len(contexts) <= max_contexts when max_contexts is set.
    """

    __slots__ = (
        "clock",
        "syscall_cost",
        "contexts",
        "max_contexts",
        "kept",
        "kept_irqs",
        "irq_lines",
    )

    def __init__(
        self, syscall_cost=1, start=0, max_contexts=0, kept=(), kept_irqs=(), irq_lines=_HOST_IRQS
    ):
        # max_contexts: as many task contexts as the device has (K5_MAX_CONTEXTS), 0 for no
        # limit. kept, kept_irqs: the device memory ((low, high, what), ...) and the lines the
        # kernel keeps for itself, as a board's peripherals.toml [kept.*] gives them (the
        # host has no console of its own: none by default). irq_lines: how many lines there
        # are (a board's, e.g. the AN505's, to check its kept lines).
        InterruptLines.__init__(self)
        self.clock = start & TICKS_MASK
        self.syscall_cost = syscall_cost
        self.contexts = []
        self.max_contexts = max_contexts
        self.kept = kept
        self.kept_irqs = kept_irqs
        self.irq_lines = irq_lines

    def now(self):
        return self.clock

    def console_write(self, line):
        """Write a line of the kernel's console; False when it has no room now (the board's
        transmit ring; the host's stdout always has)."""
        print(line)
        return True

    def console_room(self):
        """Bytes the console has room for now (the host's stdout: always enough)."""
        return 1 << 20

    def device_ranges(self):
        """The (low, high) address ranges device windows may cover (the MCU's peripherals)."""
        return _DEVICE_RANGES

    def irq_count(self):
        return self.irq_lines

    def irq_valid(self, line):
        """The line exists and the kernel may hand it out (not one it keeps)."""
        return 0 <= line < self.irq_lines and line not in self.kept_irqs

    def kept_ranges(self):
        """((low, high, what), ...): device memory the kernel keeps, no window may overlap."""
        return self.kept

    def idle(self, until):
        """Sleep until `until` (WFI until the timer): nothing runs meanwhile."""
        if ticks_diff(until, self.clock) > 0:
            self.clock = until

    def context_new(self, entry, arg, stack=None, name="task", heap=None):
        # (stack, name and heap matter on the device: its stack size in bytes, its console
        # prefix, the heap of its own interpreter. Here a task with a heap starts from its image,
        # bytes, as there: k5/image.py.)
        if heap is not None and (type(entry) is not bytes or arg is not None):
            raise ValueError("K5: a task with a heap of its own starts from an image")
        if self.max_contexts and len(self.contexts) >= self.max_contexts:
            raise MemoryError("K5: all %d task contexts are in use" % self.max_contexts)
        ctx = HostContext(self, entry, arg)
        ctx.heap = heap or 0
        self.contexts.append(ctx)
        return ctx

    def context_heap(self, ctx):
        """Bytes of the context's own heap (0: it runs in the kernel's interpreter)."""
        return ctx.heap

    def lease_set(self, ctx, buffer, rights):
        """Whether the context's task may lend `buffer` with its call (here: any it holds)."""
        return True

    def lease_copy(self, ctx, lease, offset, buffer, count, into_lease):
        """count bytes between `lease` at offset and `buffer`; False if a side refuses."""
        return copy_lease(lease, offset, buffer, count, into_lease)

    def context_reset(self, ctx, entry, arg):
        _abandon(ctx)
        ctx.reset(entry, arg)

    def ipc_buffer(self, ctx):
        """The context's IPC buffer (on the host the kernel and the task share the object)."""
        return ctx.ipc

    def context_free(self, ctx):
        """Unwind the thread of one context; it never runs again."""
        _abandon(ctx)
        if ctx in self.contexts:
            self.contexts.remove(ctx)

    def close(self):
        """Unwind the threads of all this backend's tasks; they never run again."""
        for ctx in self.contexts:
            _abandon(ctx)

    def request(self, ctx):
        raw, refs = ctx.request
        if raw == ctx.decoded_raw:
            return ctx.decoded
        request, reusable = wire.decode(raw, refs)
        if reusable:
            # Bytes that name no memory decode to the same values again: the kernel's own
            # (immutable) copy serves the next identical request (k5wire_decode does the same).
            ctx.decoded_raw = raw
            ctx.decoded = request
        return request

    def set_result(self, ctx, value):
        ctx.result = value

    def fault_text(self, ctx):
        return ctx.fault

    @staticmethod
    def write_answer(buffer, value):
        """The builder's answer into the root's buffer as bytes (k5/wire.py)."""
        return wire.write_answer(buffer, value)

    def memory_view(self, ctx, regions):
        """Program the task's MPU view; the host only records it."""
        ctx.regions = regions

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
            if ctx.done:
                return TRAP_EXIT
            # Hand the CPU to the task's thread until it traps, returns or raises; spin()
            # burns up to `room` ticks there without handing back.
            ctx.room = limit - used
            if ctx.started:
                ctx.go.release()
            else:
                ctx.start()
            ctx.back.acquire()
            used = limit - ctx.room
            if ctx.done:
                exc = ctx.exc
                if exc is None:
                    return TRAP_EXIT
                ctx.exc = None
                if isinstance(exc, Exception):
                    return TRAP_FAULT  # ctx.fault: its text, made by the task
                raise exc  # KeyboardInterrupt and the like: not the task's fault, as before
            request = self.request(ctx)
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
            ctx.held = True
