"""The K5 kernel: the trap loop and MCS scheduling; invocations live in their object's module."""

# The loop is `trap = arch.run(current, limit)` -> account time -> decode and perform the trap
# -> release threads whose refills arrived -> enforce budget -> choose the next thread.
# Each object type's invocations (decode and perform side by side) live in a module of their
# own, as seL4 lays out src/object: k5/ipc.py (endpoints), k5/reply_object.py, k5/message.py,
# k5/fastpath.py (seL4's fastpath), k5/notification.py, k5/cnode.py, k5/tcb.py,
# k5/schedcontext.py, k5/untyped.py, k5/lease.py; k5/thread.py holds the calling thread's own
# syscalls, cancellation and faults; k5/syscalls.py maps trap numbers to them and
# k5/invariants.py checks the state. Every handler is `handler(kernel, tcb, sysno, request)` and
# returns an error code, or None when the result is set later (the task blocked).
# Decode validates every argument a task passed and returns an error code on any problem;
# perform cannot fail. A Python exception escaping the kernel is a kernel bug: the loop prints
# an epitaph and halts.

from k5 import device, invariants, notification, syscalls, thread, timer
from k5.timer import Timer
from k5._compat import const, micropython
from k5 import abi
from k5.kernel_objects import KernelObjects
from k5.reply_object import release_stack
from k5.objects import (
    QUEUE_ENDPOINT,
    QUEUE_NOTIFICATION,
    QUEUE_READY,
    QUEUE_RELEASE,
)
from k5.sched import Scheduler, priority_higher
from k5.ticks import TICKS_HALF, TICKS_MASK, ticks_add, ticks_diff
from k5.building import RUN_HALTED, RUN_IDLE, RUN_STOPPED, RUN_TIME_UP

# Private copies of ABI constants used on the hot path: MicroPython folds a const() only
# within its own module (an imported name is a dictionary lookup per use).
_TRAP_SYSCALL = const(1)
_SYS_BUILD = const(48)  # abi.SYS_BUILD, a literal here for the hot path
_ERR_INVALID_SYSCALL = const(1)
_ERR_NOT_ENOUGH_MEMORY = const(13)  # abi.ERR_NOT_ENOUGH_MEMORY
_SYS_COUNT = const(64)
_STATE_RUNNING = const(1)
_TICKS_HALF = const(0x20000000)
_TICKS_MASK = const(0x3FFFFFFF)
# Each time the clock crosses a multiple of 2**_AGE_SHIFT ticks (37 hours at 1 kHz), _age dates
# the refills of every SC that is not running or waiting for a refill; see _age.
_AGE_SHIFT = const(27)  # k5.ticks.AGE_STEP is 2**_AGE_SHIFT

# Results of Kernel.run(): k5/building.py's RUN_* (the builders answer them too).


assert _TRAP_SYSCALL == abi.TRAP_SYSCALL
assert _SYS_COUNT == abi.SYS_COUNT
assert _ERR_INVALID_SYSCALL == abi.ERR_INVALID_SYSCALL
assert (
    _STATE_RUNNING == abi.STATE_RUNNING and _TICKS_HALF == TICKS_HALF and _TICKS_MASK == TICKS_MASK
)


class KernelPanic(Exception):
    """A Python exception escaped the kernel: a kernel bug. The kernel has halted."""


class Kernel(KernelObjects):
    """One K5 kernel instance (never a module global: it is created and passed around).

    **Invariants:**
    - current is None or a RUNNING thread with an SC, linked into no queue;
    - cur_sc is the SC whose uncharged time is being accumulated (None when idle);
    - every blocked thread is in exactly one queue, every queued thread is blocked or ready;
    - no ready thread has a higher priority than current (checked after each choose).
    """

    __slots__ = (
        "arch",
        "sched",
        "current",
        "cur_sc",
        "last_time",
        "tcbs",
        "handlers",
        "trace",
        "console",
        "halted",
        "epitaph",
        "next_id",
        "min_budget",
        "usage_log",
        "traps",
        "debug",
        "objects",
        "delivery_log",
        "set_result",
        "root",
        "build_service",
        "irq_table",
        "irq_handlers",
        "timers",
    )

    def __init__(self, arch, trace=None, console=None, min_budget=1, debug=False):
        self.arch = arch
        # arch.set_result bound once: `kernel.arch.set_result` would build a bound method
        # object at every use (the invocations set results all the time).
        self.set_result = arch.set_result
        self.sched = Scheduler()
        self.current = None
        self.cur_sc = None
        self.last_time = arch.now()
        self.tcbs = []
        self.objects = []
        self.trace = trace
        self.console = console
        self.halted = False
        self.epitaph = None
        self.next_id = 1
        self.min_budget = min_budget
        self.usage_log = None
        # Tests: when a list, every message transfer appends (receiver tid, label, first word).
        self.delivery_log = None
        self.traps = 0
        self.debug = debug
        self.handlers = syscalls.table()
        # call and reply_recv: the device's C fast path where there is one (set_fast_path).
        syscalls.set_fast_path(self.handlers, arch, "native")
        # The root task (device: the REPL): its exit stops run(), a fault restarts it, and it
        # alone may make SYS_BUILD, served by build_service(op, args) (k5/rootsrv.py).
        self.root = None
        self.build_service = None
        # Interrupt line -> (notification, badge) that the line signals (see _interrupts).
        self.irq_table = [None] * abi.IRQ_LINES
        # Hardware interrupt line -> its IRQHandler (k5/device.py; made at the first handler).
        self.irq_handlers = None
        # The timers set (k5/timer.py), each also in the sleep queue.
        self.timers = []

    def set_fast_path(self, mode):
        """Take call and reply_recv with "native" (C), "python" or "general" code (see
        k5.syscalls.set_fast_path); returns the mode before. "native" where the arch has no C
        fast path keeps the mode."""
        previous = syscalls.fast_path_of(self.handlers)
        syscalls.set_fast_path(self.handlers, self.arch, mode)
        return previous

    # --- tracing ---------------------------------------------------------------------------------

    def emit(self, text):
        trace = self.trace
        if trace is not None:
            try:
                trace("t=" + str(self.arch.now()) + " " + text)
            except MemoryError:
                pass  # a trace line is not worth the kernel

    def _interrupts(self, pending):
        """Signal the notification of every raised interrupt line (perform: cannot fail)."""
        if pending & (1 << abi.IRQ_BREAK):
            self._break_root()
        if pending & (1 << abi.IRQ_HARDWARE):
            device.deliver(self)
        table = self.irq_table
        line = 0
        while pending:
            if pending & 1:
                binding = table[line]
                if binding is not None:
                    notification.do_signal(self, binding[0], binding[1])
            pending >>= 1
            line += 1

    # --- the kernel loop -------------------------------------------------------------------------

    @micropython.native
    def run(self, ticks=-1, max_traps=-1):
        """Run tasks for `ticks` simulated ticks (-1: until idle). Returns a RUN_* code."""
        if self.halted:
            return RUN_HALTED
        # The hot path of every trap is this loop: it is kept flat (bound methods and queues
        # in locals, tick arithmetic inlined, the common "same thread goes on" choice decided
        # here without a call), because on the MCU each attribute lookup and call of
        # MicroPython's VM costs hundreds of instructions.
        trap = 0
        traps = self.traps
        try:
            arch = self.arch
            arch_run = arch.run
            arch_now = arch.now
            arch_request = arch.request
            arch_set_result = arch.set_result
            handlers = self.handlers
            sched = self.sched
            min_budget = self.min_budget
            debug = self.debug
            log = self.usage_log
            # Builtins are looked up in two dictionaries per use: bound to locals here, a type
            # check costs a tenth of what it does through the builtins.
            _type = type
            _int = int
            _tuple = tuple
            end = -1
            if ticks >= 0:
                end = ticks_add(arch_now(), ticks)
            # The time since the last run was nobody's (the device idled until an interrupt):
            # it is charged to no SC, but it ages their refills.
            now = arch_now()
            self._age(now, self.last_time)
            self.last_time = now
            # Threads may have been woken between runs (builder, interrupts).
            pending = arch.interrupts()
            if pending:
                self._interrupts(pending)
            self._release(arch_now())
            self._choose()
            while True:
                now = arch_now()
                if end >= 0 and ticks_diff(now, end) >= 0:
                    return RUN_TIME_UP
                if max_traps == 0:
                    return RUN_TIME_UP
                current = self.current
                if current is None:
                    # Lines raised while the kernel ran (an ack unmasking a pending line).
                    pending = arch.interrupts()
                    if pending:
                        self._interrupts(pending)
                        self._choose()
                        if self.current is not None:
                            continue
                    release = sched.next_wakeup()
                    if release < 0:
                        return RUN_IDLE
                    if end >= 0 and ticks_diff(release, end) > 0:
                        arch.idle(end)
                        now = arch_now()
                        self._age(now, self.last_time)
                        self.last_time = now
                        return RUN_TIME_UP
                    arch.idle(release)
                    # Idle ends early when an interrupt line is raised.
                    now = arch_now()
                    self._age(now, self.last_time)
                    self.last_time = now
                    pending = arch.interrupts()
                    if pending:
                        self._interrupts(pending)
                    self._release(now)
                    self._choose()
                    continue
                sc = current.sc
                limit = sc.r_amount[sc.head] - sc.consumed
                # The queues are looked at when the clock reaches their hint, not at each trap
                # (a sleeping task would otherwise cost every trap thousands of instructions).
                hint = sched.wake_hint
                if hint >= 0:
                    due = ((hint - now + _TICKS_HALF) & _TICKS_MASK) - _TICKS_HALF
                    if due < limit:
                        limit = due
                if end >= 0 and ticks_diff(end, now) < limit:
                    limit = ticks_diff(end, now)
                context = current.context
                trap = arch_run(context, limit)
                traps += 1
                if max_traps > 0:
                    max_traps -= 1
                now = arch_now()
                last = self.last_time
                elapsed = ((now - last + _TICKS_HALF) & _TICKS_MASK) - _TICKS_HALF
                self.last_time = now
                if (now ^ last) >> _AGE_SHIFT:
                    self._age(now, last)
                sc.consumed += elapsed
                sc.total += elapsed
                if log is not None and elapsed > 0:
                    log.append((sc, ticks_add(now, -elapsed), now, current))
                if trap == _TRAP_SYSCALL:
                    # The request as the kernel's own objects, decoded from the task's wire
                    # bytes (k5/wire.py). Decode the syscall number here; the handler decodes
                    # the rest. A syscall whose decoding needs memory (the request itself, a
                    # payload copied) while the heap is full fails for its caller: the kernel
                    # itself goes on.
                    handler = None
                    err = _ERR_INVALID_SYSCALL
                    try:
                        request = arch_request(context)
                        if _type(request) is _tuple and request:
                            sysno = request[0]
                            if _type(sysno) is _int and 0 < sysno < _SYS_COUNT:
                                handler = handlers[sysno]
                        if handler is not None:
                            err = handler(self, current, sysno, request)
                    except MemoryError:
                        err = _ERR_NOT_ENOUGH_MEMORY
                    if err is not None:
                        arch_set_result(context, err)
                    if handler is not None and sysno == _SYS_BUILD:
                        # The root task's builder may have turned logging or checks on.
                        log = self.usage_log
                        debug = self.debug
                elif trap == abi.TRAP_FAULT:
                    try:
                        text = arch.fault_text(context)
                    except MemoryError:
                        text = "MemoryError"  # no memory for the fault's text: a constant
                    thread.fault(self, current, abi.FAULT_EXCEPTION, text)
                elif trap == abi.TRAP_EXIT:
                    thread.do_exit(self, current, 0)
                    if current is self.root:
                        return RUN_STOPPED
                else:
                    # A raised interrupt line makes the running task trap at its next safe
                    # point (the device's arch.run returns TRAP_PREEMPT then): look here only,
                    # so that a syscall pays nothing for interrupts.
                    pending = arch.interrupts()
                    if pending:
                        self._interrupts(pending)
                if sc.r_amount[sc.head] - sc.consumed < min_budget:
                    self._check_budget(now)
                hint = sched.wake_hint
                if hint >= 0 and ((now - hint + _TICKS_HALF) & _TICKS_MASK) - _TICKS_HALF >= 0:
                    self._release(now)
                # Choose. Benno scheduling: a running thread is not in the ready queue, so when
                # nothing is ready the current thread goes on without a call. A thread that
                # trapped and is still current is running, unqueued and on cur_sc (every path
                # that changes one of those clears current); a thread the fast path switched
                # to is checked in full.
                chosen = self.current
                if chosen is not None and sched.top_bits == 0 and not chosen.yielded:
                    if chosen is not current and (
                        chosen.queue is not None
                        or chosen.state != _STATE_RUNNING
                        or chosen.sc is None
                        or chosen.sc is not self.cur_sc
                    ):
                        self._choose()
                else:
                    self._choose()
                if debug:
                    self.check_invariants()
        except Exception as exc:
            if isinstance(exc, KernelPanic):
                raise exc
            self._panic(exc, trap)
        finally:
            self.traps = traps
        return RUN_HALTED

    def _panic(self, exc, trap):
        name = "-"
        if self.current is not None:
            name = self.current.name
        self.halted = True
        self.epitaph = (
            "K5 PANIC at t="
            + str(self.arch.now())
            + " handling trap "
            + str(trap)
            + " of task "
            + name
            + ": "
            + type(exc).__name__
            + ": "
            + str(exc)
        )
        console = self.console
        if console is not None:
            console(self.epitaph)
        else:
            print(self.epitaph)
        raise KernelPanic(self.epitaph)

    # --- scheduling ------------------------------------------------------------------------------

    def _age(self, now, last):
        """Date the refills of every SC that is neither running nor waiting for one (perform),
        when the clock crossed a multiple of 2**_AGE_SHIFT ticks since it read `last`.

        Refill times are ticks modulo 2**30, ordered by ticks_diff only within 2**29 of now. An
        SC's times move when it runs or its thread wakes; an SC left idle (a server waiting in
        recv, one bound to no thread) kept old ones, which after 2**29 ticks looked future: its
        thread waited up to 2**29 ticks more for budget it had. The kernel looks at the clock
        at least every TIME_MAX ticks (every wait is bounded by it, the device's idle by
        AGE_STEP), so this runs at least every 2**27 + TIME_MAX ticks, and every time an SC
        holds stays within 2**29 of now. Dating is what waking does: a round-robin SC's
        refills are available now, a sporadic one's ready head starts now (unblock_check);
        refills to come (all at most TIME_MAX ahead) keep their times.
        """
        if not (now ^ last) >> _AGE_SHIFT:
            return
        cur_sc = self.cur_sc
        for sc in self.objects:
            if sc is cur_sc or not sc.is_configured():
                continue
            holder = sc.tcb
            if holder is not None and holder.queue_kind == QUEUE_RELEASE:
                continue  # released at its head refill's time, at most TIME_MAX ahead
            if sc.is_round_robin():
                sc.refresh_round_robin(now)
            else:
                sc.unblock_check(now)

    @micropython.native
    def schedule_runnable(self, tcb):
        """Queue a RUNNING thread: ready if its SC has budget now, else until its refill."""
        sc = tcb.sc
        if sc is None or tcb is self.current:
            return
        now = self.arch.now()
        if sc is not self.cur_sc and not sc.is_round_robin():
            sc.unblock_check(now)
        if (
            ticks_diff(sc.r_time[sc.head], now) <= 0
            and sc.r_amount[sc.head] - sc.consumed >= self.min_budget
        ):
            self.sched.append(tcb)
        elif sc is self.cur_sc:
            # Its time is still being charged: _check_budget postpones it after this trap.
            self.sched.append(tcb)
        else:
            self.sched.release_insert(tcb, now)

    @micropython.native
    def dequeue(self, tcb):
        """Unlink a thread from whatever queue holds it (ready, release, endpoint, ...)."""
        queue = tcb.queue
        if queue is None:
            return
        if tcb.queue_kind == QUEUE_READY:
            self.sched.remove(tcb)
        else:
            queue.remove(tcb)

    @micropython.native
    def commit(self, sc):
        """Charge the time an SC consumed since it was switched to."""
        usage = sc.consumed
        if usage <= 0:
            return
        sc.consumed = 0
        if sc.is_round_robin():
            sc.charge_round_robin(usage)
        else:
            sc.budget_check(usage)

    @micropython.native
    def _check_budget(self, now):
        sc = self.cur_sc
        if sc is None:
            return
        if sc.r_amount[sc.head] - sc.consumed >= self.min_budget:
            return
        # Budget exhausted: charge it and take the holder off the CPU until its next refill.
        sc.exhaustions += 1
        holder = sc.tcb
        if sc.is_round_robin():
            sc.consumed = 0
            sc.reset_round_robin(now)
            if holder is not None and holder.state == abi.STATE_RUNNING:
                if holder is self.current:
                    holder.yielded = True
                elif holder.queue_kind == QUEUE_READY:
                    self.sched.remove(holder)
                    self.sched.append(holder)
            return
        # Sporadic: its next refill lies in the future (refills are disjoint and the head merged
        # the ones it overlapped when the SC was switched in), so it waits in the release queue;
        # were one due, the release queue would hand it back at once, at the tail of its
        # priority, as seL4's endTimeslice does. A timeout fault comes first in either case.
        self.commit(sc)
        if holder is None or holder.state != abi.STATE_RUNNING:
            return
        if holder.queue_kind == QUEUE_READY:
            self.sched.remove(holder)
        if holder is self.current:
            self.current = None
        timeout = holder.handlers.slots[1]
        yielded = holder.yielded
        holder.yielded = False
        if timeout is not None and not yielded:
            self.emit("timeout " + holder.name)
            thread.fault(self, holder, abi.FAULT_TIMEOUT, "budget exhausted")
            return
        if self.trace is not None:
            self.emit("exhausted " + holder.name + " until " + str(sc.r_time[sc.head]))
        if holder.queue is None:
            self.sched.release_insert(holder, now)

    @micropython.native
    def _release(self, now):
        sched = self.sched
        release = sched.release
        tcb = release.head
        while tcb is not None and ticks_diff(tcb.sc.r_time[tcb.sc.head], now) <= 0:
            release.remove(tcb)
            sched.append(tcb)
            tcb = release.head
        sleepers = sched.sleep
        tcb = sleepers.head
        while tcb is not None and ticks_diff(tcb.wake_time, now) <= 0:
            sleepers.remove(tcb)
            if type(tcb) is Timer:
                timer.fire(self, tcb)
                tcb = sleepers.head
                continue
            tcb.state = abi.STATE_RUNNING
            self.arch.set_result(tcb.context, abi.OK)
            self.schedule_runnable(tcb)
            tcb = sleepers.head
        sched.wake_hint = sched.next_wakeup()

    @micropython.native
    def _choose(self):
        sched = self.sched
        current = self.current
        if current is not None:
            if (
                current.state == abi.STATE_RUNNING
                and current.sc is not None
                and current.queue is None
            ):
                if current.yielded:
                    current.yielded = False
                    sched.append(current)
                else:
                    top = sched.highest()
                    if top < 0 or not priority_higher(top, current.priority):
                        if self.cur_sc is not current.sc:
                            self._switch_sc(current.sc)
                        return
                    sched.prepend(current)
            current.yielded = False
        chosen = sched.pop_highest()
        self.current = chosen
        if chosen is None:
            self._switch_sc(None)
            return
        if self.cur_sc is not chosen.sc:
            self._switch_sc(chosen.sc)
        if self.trace is not None and chosen is not current:
            self.emit("switch " + chosen.name)

    @micropython.native
    def _switch_sc(self, sc):
        old = self.cur_sc
        if old is sc:
            return
        if old is not None:
            self.commit(old)
        self.cur_sc = sc
        if sc is not None and not sc.is_round_robin():
            # Activation: budget is consumed from now, so it comes back one period from now.
            sc.unblock_check(self.arch.now())

    # --- scheduling of threads and SCs (used by the invocations) ------------------------------

    def set_priority(self, tcb, priority):
        """Change a thread's priority, keeping every queue it is in ordered (perform)."""
        kind = tcb.queue_kind
        if kind == QUEUE_READY:
            self.sched.remove(tcb)
            tcb.priority = priority
            self.sched.append(tcb)
        elif kind == QUEUE_ENDPOINT or kind == QUEUE_NOTIFICATION:
            # seL4 MCS reorders endpoint and notification queues on a priority change.
            queue = tcb.queue
            queue.remove(tcb)
            tcb.priority = priority
            queue.insert_by_priority(tcb)
            tcb.queue_kind = kind
        else:
            # A lowered current thread may be preempted at the next choose.
            tcb.priority = priority

    def configure_sc(self, sc, budget, period, refills):
        # A new number of refills needs new arrays: made before anything changes, so that a
        # MemoryError leaves the SC and its thread's place in the queues as they were.
        times = None
        if sc.r_time is None or len(sc.r_time) != refills:
            times = [0] * refills
            amounts = [0] * refills
        if sc is self.cur_sc:
            self.commit(sc)
        holder = sc.tcb
        queued = holder is not None and (
            holder.queue_kind == QUEUE_READY or holder.queue_kind == QUEUE_RELEASE
        )
        if queued:
            self.dequeue(holder)
        if times is not None:
            sc.r_time = times
            sc.r_amount = amounts
        sc.configure(budget, period, refills, self.arch.now())
        if queued:
            self.schedule_runnable(holder)

    def unbind_sc(self, sc):
        holder = sc.tcb
        if sc is self.cur_sc:
            self.commit(sc)
        release_stack(sc)
        if holder is not None:
            if holder.queue_kind == QUEUE_READY or holder.queue_kind == QUEUE_RELEASE:
                self.dequeue(holder)
            if holder is self.current:
                self.current = None
            holder.sc = None
            holder.home_sc = None
        home = sc.home
        if home is not None and home.home_sc is sc:
            home.home_sc = None
        sc.tcb = None
        sc.home = None

    # --- invariants (debug builds and tests) -----------------------------------------------------

    def check_invariants(self):
        return invariants.check(self)
