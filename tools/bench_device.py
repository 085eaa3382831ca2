"""On-target benchmark: instructions per operation on the emulated Cortex-M33 (mpremote run)."""

# Runs on MPS2_AN505 under QEMU with `-icount shift=0`, where CMSDK Timer0 ticks once per 50
# instructions and every run is exactly repeatable. Cost per operation = (T(2N) - T(N)) * 50 / N,
# which cancels set-up and timer-read overhead. Prints one "name instructions" line per
# measurement; tools/bench.py collects them into a table.

import gc

import asyncio
import machine
import micropython
import time

import k5
from k5 import log
from k5.abi import (
    NO_SLOT,
    RIGHT_GRANT_REPLY,
    RIGHT_READ,
    RIGHT_WRITE,
    SYS_CALL,
    SYS_RECV,
    SYS_REPLY_RECV,
)
from k5.system import System
from k5.ticks import TIME_MAX

_TIMER = 0x50000000  # CMSDK Timer0: CTRL +0, VALUE +4, RELOAD +8
_START = 0x3FFFFFFF  # largest small int: timer reads never allocate
_INSTRUCTIONS_PER_TICK = 50


def timer_start():
    mem = machine.mem32
    mem[_TIMER] = 0
    mem[_TIMER + 8] = _START
    mem[_TIMER + 4] = _START
    mem[_TIMER] = 1


def timer_ticks():
    return _START - machine.mem32[_TIMER + 4]


def measure(run, n):
    gc.collect()
    timer_start()
    run(n)
    return timer_ticks()


def per_op(run, n):
    # A short warm-up first: one-time costs (a first import, the kernel freezing a module
    # loaded since its last builder call) must not land in one of the two measurements.
    measure(run, 1)
    return (measure(run, 2 * n) - measure(run, n)) * _INSTRUCTIONS_PER_TICK // n


def plain_call(n):
    def f():
        pass

    for _ in range(n):
        f()


def sum_loop_bytecode(n):
    s = 0
    for i in range(n):
        s += i
    return s


# The same loop as machine code (viper), compiled at run time in the REPL and run from its
# execute-only area (native/k5arch, k5arch_commit_exec).
@micropython.viper
def sum_loop_viper(n: int) -> int:
    s = 0
    for i in range(n):
        s += i
    return s


def generator_ping_pong(n):
    def ping():
        value = 0
        while True:
            value = yield value

    a = ping()
    b = ping()
    next(a)
    next(b)
    value = 0
    for _ in range(n):
        value = a.send(value)
        value = b.send(value)


def asyncio_event_ping_pong(n):
    async def side(mine, theirs, rounds):
        for _ in range(rounds):
            theirs.set()
            await mine.wait()
            mine.clear()

    async def main():
        a = asyncio.Event()
        b = asyncio.Event()
        t = asyncio.create_task(side(a, b, n))
        await side(b, a, n)
        await t

    asyncio.run(main())


EP = 1
DONE = 2  # a measured task signals this notification when it is done


# How long the REPL waits for a measured task, in ticks (1 ms): far beyond any row's run, so
# that a task that faulted or is stuck stops the bench with its reason instead of hanging it.
_PATIENCE = 120000


def _wait_done(system, note, tasks):
    """Wait in the kernel for `note`, signalled when `tasks` are done (or by a timer the REPL
    sets on it: the timer waits in the kernel's sleep queue and costs the run nothing). Returns
    Timer0's count as the REPL woke."""
    start = time.ticks_ms()
    k5.set_timer(note.slot, _PATIENCE)
    k5.wait(note.slot)
    ticks = timer_ticks()
    k5.set_timer(note.slot, -1)
    for task in tasks:
        info = system.info(task)
        if info["faults"]:
            raise RuntimeError("bench: task %s faulted: %s" % (task.name, info["last_fault"]))
    if time.ticks_diff(time.ticks_ms(), start) >= _PATIENCE:
        raise RuntimeError("bench: no task signalled done in %d ticks" % _PATIENCE)
    return ticks


def _started(system, tasks):
    """Start `tasks` (made with start=False), each with a notification it signals when done;
    then wait for them all. The REPL (the root task) waits in the kernel, on the original caps
    it holds: it takes no CPU while they run, so the timer counts only their work."""
    done = []
    for task in tasks:
        note = system.notification("done")
        system.give(task, DONE, note)
        done.append(note)
    system.start()
    for task, note in zip(tasks, done):
        _wait_done(system, note, [task])


def _client(ipc, rounds):
    for i in range(rounds):
        k5.call(EP, 1, (i,))
    k5.signal(DONE)


def _server(ipc, arg):
    k5.recv(EP)
    while True:
        k5.reply_recv(EP, 2, (ipc.words[0],))


# The same exchange with each request built once and trapped directly: what remains is the trap
# and the kernel's own cost, without the task's per-call allocation of its request tuple.
_CALL = (SYS_CALL, EP, 1, (5,), None, NO_SLOT, NO_SLOT)
_RECV = (SYS_RECV, EP, NO_SLOT)
_REPLY_RECV = (SYS_REPLY_RECV, EP, 2, (6,), None, NO_SLOT, NO_SLOT)


def _client_prebuilt(ipc, rounds):
    trap = k5.trap
    for _ in range(rounds):
        trap(_CALL)
    k5.signal(DONE)


def _server_prebuilt(ipc, arg):
    trap = k5.trap
    trap(_RECV)
    while True:
        trap(_REPLY_RECV)


_OWN_HEAP = 16384  # the rows "_own": tasks with interpreters of their own (heap=)


def _ipc(n, client, server, heap=None):
    system = System()
    ep = system.endpoint("ep")
    c = system.task(
        "client",
        client,
        priority=10,
        arg=n,
        budget=TIME_MAX,
        period=TIME_MAX,
        start=False,
        heap=heap,
    )
    s = system.task("server", server, priority=20, passive=True, heap=heap)
    system.give(c, EP, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY)
    system.give(s, EP, ep, RIGHT_READ)
    _started(system, [c])
    system.close()


def _bystander(ipc, arg):
    k5.wait(1)


_GO = 10


def _client_after_go(ipc, rounds):
    k5.wait(_GO)
    _client_prebuilt(ipc, rounds)


def _exchange(tasks, n):
    """Instructions of n round trips with `tasks` tasks in the system, set-up excluded.

    The other tasks wait on notifications at priorities around the client's, holding 4 caps
    each (the client holds 8): a cost per trap that grew with tasks or caps would show. (8 caps
    each no longer fit beside 17 tasks: building them leaves the kernel's 90 KB heap with no
    free block of 512 B; docs/interpreters.md.) The pair starts first, while the kernel's heap
    still has room in one piece for the client's code.
    """
    system = System()
    ep = system.endpoint("ep")
    go = system.notification("go")
    done = system.notification("done")
    c = system.task(
        "client", _client_after_go, priority=10, arg=n, budget=TIME_MAX, period=TIME_MAX
    )
    s = system.task("server", _server_prebuilt, priority=20, passive=True)
    system.give(c, EP, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY)
    system.give(c, _GO, go)
    system.give(c, DONE, done)
    system.give(s, EP, ep, RIGHT_READ)
    system.run()  # the pair starts: the server waits for a call, the client for go
    for i in range(tasks - 2):
        ntfn = system.notification("n%d" % i)
        # (A body from the REPL arrives as an image the task unpacks on its stack: 1 KB is
        # too little for that.)
        t = system.task("b%d" % i, _bystander, priority=5 + i % 20, slots=8, stack=2048)
        system.give(t, 1, ntfn)
        for slot in range(2, 5):
            system.give(t, slot, ep, RIGHT_WRITE)
        if i < 5:
            system.give(c, 3 + i, ntfn)
    system.run()  # every task starts and waits
    system.signal(go)
    gc.collect()
    timer_start()
    # The REPL waits in the kernel: only the exchange runs.
    spent = _wait_done(system, done, [c, s]) * _INSTRUCTIONS_PER_TICK
    system.close()
    return spent


def k5_ipc_round_trip_tasks(tasks):
    n = 200
    return (_exchange(tasks, 2 * n) - _exchange(tasks, n)) // n


def k5_ipc_round_trip(n):
    _ipc(n, _client, _server)


def k5_ipc_round_trip_prebuilt(n):
    _ipc(n, _client_prebuilt, _server_prebuilt)


def k5_ipc_round_trip_own(n):
    _ipc(n, _client, _server, _OWN_HEAP)


def _in_mode(mode, run):
    # The same exchange with call and reply_recv taken by other code (kernel-wide, restored).
    def measured(n):
        system = System()
        previous = system.fast_path(mode)
        try:
            run(n)
        finally:
            system.fast_path(previous)
            system.close()

    return measured


def _solo(body, n, heap=None):
    system = System()
    task = system.task(
        "solo", body, priority=10, arg=n, budget=TIME_MAX, period=TIME_MAX, start=False, heap=heap
    )
    _started(system, [task])
    system.close()


def _clock_loop(ipc, n):
    ticks_us = time.ticks_us
    for _ in range(n):
        ticks_us()
    k5.signal(DONE)


def _ticks_ms_loop(ipc, n):
    ticks_ms = time.ticks_ms
    for _ in range(n):
        ticks_ms()
    k5.signal(DONE)


def ticks_ms_no_trap(n):
    # Baseline of k5_native_trap: time.ticks_ms() reads the tick count from RAM, with no trap.
    _solo(_ticks_ms_loop, n)


def k5_native_trap(n):
    # time.ticks_us() in a task: an SVC served in C (the kernel's Python is not entered).
    _solo(_clock_loop, n)


_NULL = (0,)  # not a syscall: the kernel decodes it and answers ERR_INVALID_SYSCALL


def _null_loop(ipc, n):
    trap = k5.trap
    for _ in range(n):
        trap(_NULL)
    k5.signal(DONE)


def k5_null_syscall(n):
    _solo(_null_loop, n)


def k5_null_syscall_own(n):
    # The same in a task with an interpreter of its own: each trap swaps the whole VM state.
    _solo(_null_loop, n, _OWN_HEAP)


def _work(ipc, n):
    for _ in range(n):
        pass
    k5.signal(DONE)


def _preemptions(n, budget, hogs):
    """Instructions to do 2n loop iterations over `hogs` tasks, and the preemptions taken."""
    system = System()
    tasks = [
        system.task(
            "w%d" % i,
            _work,
            priority=10,
            arg=2 * n // hogs,
            budget=budget,
            period=budget,
            start=False,
        )
        for i in range(hogs)
    ]
    gc.collect()
    timer_start()
    _started(system, tasks)
    spent = timer_ticks() * _INSTRUCTIONS_PER_TICK
    traps = 0
    for task in tasks:
        traps += system.stats(task)[3]
    system.close()
    return spent, traps


def k5_preempt_switch():
    # Two tasks sharing the CPU at 1-tick timeslices against one task doing the same work alone
    # with no timeslice: the extra instructions over the extra traps is one preemption's cost
    # (SysTick, the safe point's trap, the kernel's accounting and choice, entering the other).
    n = 300000
    shared, shared_traps = _preemptions(n, 1, 2)
    alone, alone_traps = _preemptions(n, TIME_MAX, 1)
    return (shared - alone) // (shared_traps - alone_traps)


_IRQ_ROUNDS = 16
_IRQ_PERIOD = 20000  # timer ticks: 1 ms
_NTFN, _WINDOW, _IRQ = 3, 4, 5


def _median_exit(ticks):
    # The measured task reports through its exit code (the root reads it with info()).
    ticks.sort()
    k5.signal(DONE)
    k5.exit(ticks[len(ticks) // 2] * _INSTRUCTIONS_PER_TICK)


def _irq_driver(ipc, rounds):
    # Timer0 interrupts every period; at each wake RELOAD - VALUE is the time since it did.
    mem = machine.mem32
    mem[_TIMER] = 0
    mem[_TIMER + 8] = _IRQ_PERIOD
    mem[_TIMER + 4] = _IRQ_PERIOD
    mem[_TIMER] = 0b1001  # enable, interrupt enable
    ticks = []
    for _ in range(rounds):
        k5.wait(_NTFN)
        ticks.append(_IRQ_PERIOD - mem[_TIMER + 4])
        mem[_TIMER + 12] = 1  # clear the timer's interrupt, then unmask the line
        k5.irq_ack(_IRQ)
    mem[_TIMER] = 0
    _median_exit(ticks)


def _signalled(ipc, rounds):
    # A lower-priority signaller preempted by this waiter: each round, the signaller restarts
    # Timer0 from _START just before it signals, so _START - VALUE here is the wake time.
    mem = machine.mem32
    ticks = []
    for _ in range(rounds):
        k5.wait(_NTFN)
        ticks.append(_START - mem[_TIMER + 4])
    _median_exit(ticks)


def _signaller(ipc, rounds):
    mem = machine.mem32
    while True:
        k5.sleep(1)
        mem[_TIMER] = 0
        mem[_TIMER + 4] = _START
        mem[_TIMER] = 1
        k5.signal(_NTFN)


def _spin(ipc, arg):
    while True:
        pass


def _wake_latency(hardware):
    """Median instructions from an event (Timer0's interrupt, or a lower-priority task's signal)
    to the woken task running, while a low-priority task spins."""
    system = System()
    ntfn = system.notification("event")
    window = system.window("timer0", _TIMER, 0x1000)
    body = _irq_driver if hardware else _signalled
    waiter = system.task("waiter", body, priority=50, arg=_IRQ_ROUNDS, start=False)
    system.give(waiter, _NTFN, ntfn)
    system.give(waiter, _WINDOW, window)
    if hardware:
        system.give(waiter, _IRQ, system.irq("timer0", 3, ntfn))
    else:
        signaller = system.task("signaller", _signaller, priority=20, start=False)
        system.give(signaller, _NTFN, ntfn)
        system.give(signaller, _WINDOW, window)
        system.start(signaller)
    system.start(system.task("spinner", _spin, priority=10, start=False))
    gc.collect()
    _started(system, [waiter])
    system.run(2)  # the waiter exits
    result = system.info(waiter)["exit_code"]
    system.close()
    return result


# The same line through k5.log (a format the image's table holds: tasks/pingpong's) and print.
_FORMAT = "round %d: err %d"


def _log_loop(ipc, n):
    info = log.info
    for i in range(n):
        info("round %d: err %d", i, 7)
    k5.signal(DONE)


def _print_loop(ipc, n):
    for i in range(n):
        print("round %d: err %d" % (i, 7))
    k5.signal(DONE)


def k5_log_two_ints(n):
    _solo(_log_loop, n)


def print_two_ints(n):
    _solo(_print_loop, n)


def wire(name, run, n):
    # tools/bench.py counts the console bytes between the two marks (frames are binary).
    print("wire-start", name)
    run(n)
    print("wire-end", name, n)


for name, run, n in (
    ("plain_call", plain_call, 2000),
    ("generator_ping_pong", generator_ping_pong, 1000),
    ("sum_loop_bytecode", sum_loop_bytecode, 2000),
    ("sum_loop_viper", sum_loop_viper, 2000),
    ("asyncio_event_ping_pong", asyncio_event_ping_pong, 200),
    ("ticks_ms_no_trap", ticks_ms_no_trap, 2000),
    ("k5_native_trap", k5_native_trap, 2000),
    ("k5_null_syscall", k5_null_syscall, 500),
    ("k5_ipc_round_trip", k5_ipc_round_trip, 200),
    ("k5_ipc_round_trip_prebuilt", k5_ipc_round_trip_prebuilt, 200),
    ("k5_null_syscall_own", k5_null_syscall_own, 500),
    ("k5_ipc_round_trip_own", k5_ipc_round_trip_own, 200),
    # The C fast path is the default; the Python fast path and the general path beside it.
    ("k5_ipc_round_trip_python_fastpath", _in_mode("python", k5_ipc_round_trip), 200),
    ("k5_ipc_round_trip_general_path", _in_mode("general", k5_ipc_round_trip), 200),
    ("print_two_ints", print_two_ints, 100),
    ("k5_log_two_ints", k5_log_two_ints, 100),
):
    print(name, per_op(run, n))
wire("print_two_ints", print_two_ints, 100)
wire("k5_log_two_ints", k5_log_two_ints, 100)
# The native layer holds 18 contexts (K5_MAX_CONTEXTS), one of them the REPL's: 17 tasks is
# the largest row.
for tasks in (2, 8, 17):
    print("k5_ipc_round_trip_%d_tasks" % tasks, k5_ipc_round_trip_tasks(tasks))
print("k5_preempt_switch", k5_preempt_switch())
print("k5_signal_latency", _wake_latency(False))
print("k5_irq_latency", _wake_latency(True))
