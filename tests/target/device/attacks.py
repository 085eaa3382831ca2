"""On the board: the attack corpus. Each case runs a hostile task next to a healthy pair."""

# For every case: a fresh system with a client/server pair doing IPC at priority 20 and the
# hostile task at priority 30 (budget 5 ticks every 20, so a hog cannot starve the pair). The
# case passes when the hostile task ended as expected (a fault whose text names the class and
# the address, a normal exit after checking that every attempt was refused, or still running
# inside its budget), the pair's exchange went on (the client kept trapping), the heap is
# consistent (a collection and a fresh allocation) and the GC's tuning is the root's.
# Hostile native code comes from _k5attack (emulated board only). Addresses of the kernel's
# memory are substituted by the test from the ELF's symbols (the `= 0` lines).
# docs/security.md lists every case with its expected outcome.

import gc
import machine
import micropython
import struct
import time

import _k5attack as x
import k5
from k5.abi import (
    BADGE_GEN_FLAG,
    BADGE_GEN_SHIFT,
    ERR_EMPTY_SLOT,
    ERR_ILLEGAL_OPERATION,
    ERR_INVALID_ARGUMENT,
    ERR_INVALID_SYSCALL,
    ERR_NO_REPLY,
    ERR_NOT_ENOUGH_MEMORY,
    ERR_RANGE,
    ERR_REVOKED,
    ERR_RIGHTS,
    ERR_STALE,
    ERR_WOULD_BLOCK,
    ERR_WRONG_TYPE,
    FAULT_EXCEPTION,
    OK,
    RIGHT_GRANT_REPLY,
    RIGHT_READ,
    RIGHT_WRITE,
    RIGHTS_ALL,
    ROOT_SLOT_IRQ_CONTROL,
    SYS_BORROW_READ,
    SYS_BUILD,
    SYS_CALL,
    SYS_DEBUG_PUTS,
    SYS_SEND,
    TYPE_TCB,
)
from k5.system import System

K5KERNEL = 0  # an address inside .k5kernel (task contexts)
MAIN_STACK = 0  # an address inside the kernel's main stack
VM_STATE = 0  # mp_state_ctx: the VM's state, the kernel's own while it runs
VM_STATE_SIZE = 0  # its size in bytes
KERNEL_HEAP = 0  # an address inside the kernel's heap (the shared GC heap)
HEAP_END = 0  # the end of the kernel's heap
CLOCK = 0  # k5_clock_ms: the kernel's own clock (kernel-private)
RX_HEAD = 0  # the console's receive ring index (kernel-private)
TICKS = 0  # systick_ms: the tasks' copy of the kernel's clock (.bss)
INTERRUPT_CHAR = 0  # mp_interrupt_char: the root's console interrupt character (.bss)
LOG_EVENTS = 0  # log.c's log_events: whether kernel events are logged (kernel-private)
USER_RAW = 0  # k5_user_raw: the raw-memory gate's "the root runs" (.bss)
REPL_MODE = 0  # pyexec_mode_kind: raw or friendly REPL (the VM block: each interpreter's own)
CPUID = 0  # modmachine.c's cpuid: the emulated board's machine.unique_id() (kernel-private)
RESET_CAUSE = 0  # modmachine.c's reset_cause: machine.reset_cause() (kernel-private)
CORE_HZ = 0  # system_core_clock_hz: the core clock set at boot (.data; the kernel keeps its own)
RESET_MAGIC = 0  # modmachine.c's reset_magic: "K5 asked for the next reset" (kernel-private)
ONLY = 0  # run only the case with this number (0: all)
FIRST = 0  # the number of the cases in the parts before this one

TIMER = 0x50000000
FAULT_TEXT_MAX = 120  # k5/abi.py's _FAULT_TEXT_MAX (private: folded, not importable)
OWN_HEAP = 16384  # the heap of a hostile task with an interpreter of its own
PAIR = 1  # the pair's endpoint slot
CAP = 3  # the hostile task's first cap slot
NTFN = 6  # a notification the root signals during a case

CASES = []


def case(name, expect, **options):
    """expect: ("fault", text, ...) substrings of its fault; ("exit",) a clean exit with code 0
    (its own checks passed); ("running",) still running at the end."""

    def add(body):
        CASES.append((name, body, expect, options))
        return body

    return add


# --- the healthy pair --------------------------------------------------------------------------


def server(ipc, arg):
    k5.recv(PAIR)
    while True:
        k5.reply_recv(PAIR, 0, (ipc.words[0] + 1,))


def client(ipc, arg):
    n = 0
    while True:
        k5.call(PAIR, 0, (n,))
        n = ipc.words[0]
        k5.sleep(1)


def check(*pairs):
    # (got, wanted), ...: exit 0 when all match, else the 1-based index of the first mismatch.
    for i in range(len(pairs)):
        if pairs[i][0] != pairs[i][1]:
            print("mismatch", i + 1, pairs[i])
            k5.exit(i + 1)
    k5.exit(0)


# Setups and bodies more than one part uses.


def _untyped(system, hostile):
    system.give(hostile, CAP, system.untyped("ut", 24))


def _late(ipc, arg):
    k5.exit(0)


# === part 1 of the cases ===
# (The test runs the prelude above and the harness below with each part in turn, on a fresh
# board: the REPL's heap holds the compiled corpus one part at a time. FIRST numbers a part's
# cases after those of the parts before it.)

# --- memory through the MPU (hostile native code) ----------------------------------------------


@case("other task's stack, read", ("fault", "MemManage", "addr=@stack"))
def _(ipc, stack):
    x.read(stack)


@case("other task's stack, write", ("fault", "MemManage", "addr=@stack"))
def _(ipc, stack):
    x.write(stack, 0)


@case("kernel stack, read", ("fault", "MemManage", "addr=@main"))
def _(ipc, arg):
    x.read(MAIN_STACK)


@case("kernel-private data, read", ("fault", "MemManage", "addr=@kernel"))
def _(ipc, arg):
    x.read(K5KERNEL)


@case("kernel-private data, write", ("fault", "MemManage", "addr=@kernel"))
def _(ipc, arg):
    x.write(K5KERNEL, 0)


@case("vector table, write", ("fault", "MemManage", "addr=0x10000008"))
def _(ipc, arg):
    x.write(0x10000008, 0)


@case("SCB, read", ("fault", "BusFault", "addr=0xe000ed00"))
def _(ipc, arg):
    x.read(0xE000ED00)


@case("MPU_CTRL, write", ("fault", "BusFault", "addr=0xe000ed94"))
def _(ipc, arg):
    x.write(0xE000ED94, 0)


@case("NVIC ISER, write", ("fault", "BusFault", "addr=0xe000e100"))
def _(ipc, arg):
    x.write(0xE000E100, 0xFFFFFFFF)


@case("SysTick CSR, write", ("fault", "BusFault", "addr=0xe000e010"))
def _(ipc, arg):
    x.write(0xE000E010, 0)


@case("console UART, write", ("fault", "MemManage", "addr=0x50200000"))
def _(ipc, arg):
    x.write(0x50200000, 0x41)


@case("unmapped address, read", ("fault", "MemManage", "addr=0x60000000"))
def _(ipc, arg):
    x.read(0x60000000)


@case("execute from the heap", ("fault", "MemManage", "CFSR=0x00000001"))
def _(ipc, arg):
    code = bytearray(64)
    x.jump(id(code))


@case("execute from its own stack", ("fault", "MemManage", "CFSR=0x00000001"))
def _(ipc, arg):
    x.jump(x.stack_addr())


@case("jump to 0", ("fault", "MemManage", "CFSR=0x00000001", "pc=0x00000000"))
def _(ipc, arg):
    x.jump(0)


@case("undefined instruction", ("fault", "UsageFault", "CFSR=0x00010000"))
def _(ipc, arg):
    x.udf()


@case("semihosting call (bkpt)", ("fault", "HardFault"))
def _(ipc, arg):
    x.bkpt()


@case("stack overflow, C recursion", ("fault", "UsageFault", "stack overflow (PSPLIM)"))
def _(ipc, arg):
    x.recurse(100000)


@case("stack overflow, one big frame", ("fault", "UsageFault", "stack overflow (PSPLIM)"))
def _(ipc, arg):
    x.frame(16384)


@case("stack overflow, Python recursion", ("fault", "maximum recursion depth exceeded"))
def _(ipc, arg):
    def deeper(n):
        return deeper(n + 1) + 1

    deeper(0)


@case("svc with a number the ABI lacks", ("fault", "UsageFault", "CFSR=0x00000000"))
def _(ipc, arg):
    x.svc(200, 0, 0)


@case("svc ENTER from a task", ("fault", "UsageFault"))
def _(ipc, arg):
    x.svc(0, 0, 0)


@case("svc MACHINE (reset) from a task", ("fault", "UsageFault"))
def _(ipc, arg):
    x.svc(9, 0, 0)


@case("svc PUTS of kernel memory", ("exit",))
def _(ipc, arg):
    check((x.svc(5, K5KERNEL, 16), 0xFFFFFFFF), (x.svc(5, 0x60000000, 4), 0xFFFFFFFF))


def _timer_ro(system, hostile):
    system.give(hostile, CAP, system.window("timer0", TIMER, 0x1000, RIGHT_READ))


@case("read-only window, native write", ("fault", "MemManage", "addr=0x50000008"), setup=_timer_ro)
def _(ipc, arg):
    x.read(TIMER + 8)  # reading is what the window allows
    x.write(TIMER + 8, 1)


# --- memory through every Python raw-memory path (the gate) ------------------------------------


@case("machine.mem32 of kernel data", ("fault", "OSError", "no window to read"))
def _(ipc, arg):
    machine.mem32[K5KERNEL]


@case("machine.mem8 write into the heap", ("fault", "OSError", "no window to write"))
def _(ipc, arg):
    machine.mem8[id(bytearray(4))] = 0


@case("machine.mem16 of another task's stack", ("fault", "OSError", "no window to read"))
def _(ipc, stack):
    machine.mem16[stack]


@case(
    "machine.mem32 unaligned in its window",
    ("fault", "ValueError", "not aligned"),
    setup=_timer_ro,
)
def _(ipc, arg):
    machine.mem32[TIMER + 2]


@case(
    "read-only window, mem32 write",
    ("fault", "OSError", "no window to write 0x50000008"),
    setup=_timer_ro,
)
def _(ipc, arg):
    machine.mem32[TIMER + 8] = 1


@case("native code compiled at run time", ("fault", "machine code runs only in the REPL"))
def _(ipc, arg):
    # In the kernel's interpreter its code could reach the kernel's heap: refused (a task with
    # an interpreter of its own may: the cases of its own machine code below).
    exec("@micropython.viper\ndef f(p: ptr32):\n    p[0] = 1\n")


@case("uctypes and micropython.schedule are absent", ("exit",))
def _(ipc, arg):
    try:
        import uctypes  # noqa: F401

        found = True
    except ImportError:
        found = False
    check((found, False), (hasattr(micropython, "schedule"), False))


def _timer_rw(system, hostile):
    system.give(hostile, CAP, system.window("timer0", TIMER, 0x1000))
    ntfn = system.notification("go")
    system.give(hostile, NTFN, ntfn)
    return ntfn


def _revoke_window(system, state):
    system.revoke(system.lookup("timer0"))
    system.signal(state, 1)


@case(
    "window used after revoke",
    ("fault", "OSError", "no window to read 0x50000004"),
    setup=_timer_rw,
    during=_revoke_window,
)
def _(ipc, arg):
    machine.mem32[TIMER + 4]
    k5.wait(NTFN)
    machine.mem32[TIMER + 4]


# --- capabilities and syscalls -----------------------------------------------------------------


def _endpoint_ro(system, hostile):
    system.give(hostile, CAP, system.lookup("pair"), RIGHT_READ)
    system.give(hostile, CAP + 1, system.notification("n"))


@case("forged and garbage slots", ("exit",))
def _(ipc, arg):
    check(
        (k5.send(9), ERR_EMPTY_SLOT),
        (k5.send(-1), ERR_RANGE),
        (k5.send(10**6), ERR_RANGE),
        (k5.send(2**40), ERR_RANGE),
        (k5.signal("slot"), ERR_RANGE),
        (k5.wait(None), ERR_RANGE),
    )


@case("wrong type and missing rights", ("exit",), setup=_endpoint_ro)
def _(ipc, arg):
    check(
        (k5.call(CAP + 1, 0, (1,)), ERR_WRONG_TYPE),
        (k5.send(CAP, 0, (1,)), ERR_RIGHTS),
        (k5.tcb_resume(CAP), ERR_WRONG_TYPE),
        (k5.sc_consumed(CAP + 1), ERR_WRONG_TYPE),
    )


@case("rights cannot grow, badges cannot be forged", ("exit",), setup=_endpoint_ro)
def _(ipc, arg):
    results = [k5.mint(CAP, 10, RIGHTS_ALL, 5), k5.identify(10)]
    rights = ipc.words[1]
    check(
        (results, [OK, OK]),
        (rights, RIGHT_READ),
        (k5.mint(10, 11, RIGHTS_ALL, 6), ERR_ILLEGAL_OPERATION),
        (k5.mutate(10, 12, RIGHTS_ALL, 7), ERR_ILLEGAL_OPERATION),
    )


def _stale(system, hostile):
    # A generation badge naming generation 5 of the server, which is at generation 0.
    system.set_owner(system.lookup("pair"), system.lookup("server"))
    badge = BADGE_GEN_FLAG | (5 << BADGE_GEN_SHIFT) | 1
    system.give(hostile, CAP, system.lookup("pair"), RIGHT_WRITE | RIGHT_GRANT_REPLY, badge)


@case("stale generation badge", ("exit",), setup=_stale)
def _(ipc, arg):
    check((k5.call(CAP, 0, (1,)), ERR_STALE))


def _own_endpoint(system, hostile):
    system.give(hostile, CAP, system.endpoint("trap"), RIGHT_READ)
    return None


def _revoke_trap(system, state):
    system.revoke(system.lookup("trap"))


@case("cap revoked while blocked on it", ("exit",), setup=_own_endpoint, during=_revoke_trap)
def _(ipc, arg):
    check((k5.recv(CAP), ERR_REVOKED), (k5.recv(CAP), ERR_EMPTY_SLOT))


def _irq(system, hostile):
    ntfn = system.notification("irq")
    system.give(hostile, CAP, system.irq("timer1", 4, ntfn))
    system.give(hostile, NTFN, ntfn)
    return ntfn


def _revoke_irq(system, state):
    system.revoke(system.lookup("timer1"))
    system.signal(state, 1)


@case("IRQ cap used after revoke", ("exit",), setup=_irq, during=_revoke_irq)
def _(ipc, arg):
    first = k5.irq_ack(CAP)
    k5.wait(NTFN)
    check((first, OK), (k5.irq_ack(CAP), ERR_EMPTY_SLOT), (k5.irq_clear(CAP), ERR_EMPTY_SLOT))


@case("IRQControl forged", ("exit",), setup=_endpoint_ro)
def _(ipc, arg):
    check(
        (k5.irq_control_get(CAP, 3, 10), ERR_WRONG_TYPE),
        (k5.irq_control_get(9, 3, 10), ERR_EMPTY_SLOT),
        (k5.irq_ack(CAP + 1), ERR_WRONG_TYPE),
    )


@case("garbage requests", ("exit",))
def _(ipc, arg):
    check(
        (k5.trap(None), ERR_INVALID_SYSCALL),
        (k5.trap(()), ERR_INVALID_SYSCALL),
        (k5.trap((0,)), ERR_INVALID_SYSCALL),
        (k5.trap((999,)), ERR_INVALID_SYSCALL),
        (k5.trap(("send",)), ERR_INVALID_SYSCALL),
        (k5.trap((SYS_SEND, 0, 0, "words")), ERR_INVALID_ARGUMENT),
        (k5.trap((SYS_SEND,) * 40), ERR_INVALID_ARGUMENT),
    )


@case("builder syscall from a task", ("exit",))
def _(ipc, arg):
    check((k5.trap((SYS_BUILD, "endpoint", (1, "x", -1))), ERR_ILLEGAL_OPERATION))


# --- names: one VM, a namespace per task -------------------------------------------------------


def _refused(action):
    try:
        action()
    except (AttributeError, TypeError):
        return "refused"
    return "allowed"


@case("rebinding the kernel's code", ("exit",))
def _(ipc, arg):
    from k5 import kernel, objects

    def module():
        k5.call = None

    def submodule():
        kernel.Kernel = None

    def method():
        kernel.Kernel.run = None

    def handler_sentinel():
        objects.NO_HANDLERS.slots = (1, 1)

    check(
        (_refused(module), "refused"),
        (_refused(submodule), "refused"),
        (_refused(method), "refused"),
        (_refused(handler_sentinel), "refused"),
    )


def _after_planting():
    import sys
    import time

    problems = []
    if not callable(getattr(time, "ticks_ms", None)):
        problems.append("the root's time is %r" % (time,))
    if len([1, 2]) != 2:
        problems.append("the root's len is overridden")
    if type(sys.path) is not list or ".frozen" not in sys.path:
        problems.append("the root's sys.path is %r" % (sys.path,))
    if ONLY == 99:
        problems.append("the script's ONLY is %r" % (ONLY,))
    from k5 import user

    if user.call is not k5.call:
        problems.append("the root's k5.user is %r" % (user,))
    return problems


@case("planting modules, builtins and globals", ("exit",), after=_after_planting)
def _(ipc, arg):
    import builtins
    import sys

    global ONLY
    sys.modules["time"] = "planted"
    sys.modules["k5.user"] = "planted"
    builtins.len = lambda value: 0
    sys.path = ["planted"]
    ONLY = 99
    import time

    check((time, "planted"), (len("abc"), 0), (sys.path, ["planted"]), (ONLY, 99))


@case("a mutable global of the script", ("fault", "NameError", "CASES (a list) is the spawner's"))
def _(ipc, arg):
    CASES.append(None)


@case("forged log records", ("exit",))
def _(ipc, arg):
    garbage = bytearray(b"\x02\x04\xff" * 20)  # a body of garbage is the task's own record
    data = x.read(id(garbage) + 12)  # the bytearray's items (mp_obj_array_t)
    check(
        (x.svc(10, K5KERNEL, 8), 0xFFFFFFFF),  # a body in kernel memory
        (x.svc(10, 0x60000000, 8), 0xFFFFFFFF),  # unmapped
        (x.svc(10, id(garbage), 400), 0xFFFFFFFF),  # longer than a record
        (x.svc(10, id(garbage), 1), 0xFFFFFFFF),  # shorter than one
        (x.svc(10, data, 60), 0),
    )


# === part 2 of the cases ===

# --- time, interrupts and the heap -------------------------------------------------------------


@case("infinite loop at high priority", ("running",))
def _(ipc, arg):
    while True:
        pass


@case("interrupts disabled, then a loop", ("running",))
def _(ipc, arg):
    machine.disable_irq()
    x.cpsid()
    while True:
        pass


@case("long call in C", ("exit",))
def _(ipc, arg):
    x.spin(1000000)
    check((1, 1))


@case("heap exhaustion", ("exit",))
def _(ipc, arg):
    hoard = []
    try:
        while True:
            hoard.append(bytearray(512))
    except MemoryError:
        got = len(hoard)
    hoard = None
    gc.collect()
    check((got > 10, True))


@case("micropython.kbd_intr", ("fault", "OSError", "only the root task"))
def _(ipc, arg):
    micropython.kbd_intr(-1)


@case("machine.reset", ("fault", "UsageFault"))
def _(ipc, arg):
    machine.reset()


@case("gc tuning", ("exit",))
def _(ipc, arg):
    gc.disable()
    gc.threshold(1)
    check((gc.isenabled(), False))


def _supervised(system, hostile):
    faults = system.endpoint("faults")
    supervisor = system.task("supervisor", supervisor_body, priority=40, arg=30)
    system.give(supervisor, CAP, faults, RIGHT_READ)
    system.give(supervisor, CAP + 1, hostile, RIGHTS_ALL)
    system.fault_handler(hostile, faults)


def supervisor_body(ipc, limit):
    # Restarts the hostile task at every fault, `limit` times.
    for _ in range(limit):
        k5.recv(CAP)
        if ipc.label != FAULT_EXCEPTION:
            k5.exit(1)
        k5.tcb_restart(CAP + 1)
    k5.exit(0)


@case("fault storm under a supervisor", ("storm",), setup=_supervised, ticks=80)
def _(ipc, arg):
    x.udf()


FUZZ_CALLS = 100000
_FUZZ_VALUES = (
    -1,
    0,
    1,
    2,
    3,
    7,
    15,
    16,
    255,
    2**29,
    2**40,
    -(2**40),
    None,
    "s",
    b"b",
    (),
    (1, 2),
    1.5,
)


@case("syscall fuzzer", ("exit",), ticks=20000, budget=18)
def _(ipc, arg):
    # Random syscall numbers (but exit and sleep, which would end or stall the fuzzer) with
    # random arguments; every result must be an error code or OK, never a kernel exception.
    import random

    random.seed(5)
    values = _FUZZ_VALUES
    count = len(values)
    bad = 0
    for i in range(FUZZ_CALLS):
        number = random.getrandbits(6)
        if number == 12 or number == 14:
            continue
        request = [number]
        for _ in range(random.getrandbits(3)):
            request.append(values[random.getrandbits(5) % count])
        result = k5.trap(tuple(request))
        if i % 25000 == 0:
            print("fuzz", i)
        if type(result) is not int or not 0 <= result < 16:
            bad += 1
    print("fuzzed", FUZZ_CALLS, "bad", bad)
    check((bad, 0))


# --- no task object on the kernel's thread; the VM's settings are each task's -----------------
# A task's unhandled exception is made into text by the task itself (in its own time, charged to
# its budget); the kernel gets bounded bytes, and a fixed text when making it fails.


@case("exception text reads hardware", ("fault", "ValueError: (its text could not be formatted)"))
def _(ipc, arg):
    class Text:
        def __str__(self):
            return "SCB %x MPU %x" % (machine.mem32[0xE000ED00], machine.mem32[0xE000ED94])

    raise ValueError(Text())


@case("exception text raises", ("fault", "ValueError: (its text could not be formatted)"))
def _(ipc, arg):
    class Text:
        def __str__(self):
            raise RuntimeError("no text")

    raise ValueError(Text())


@case("exception text spins", ("running",))
def _(ipc, arg):
    class Text:
        def __str__(self):
            while True:
                pass

    raise ValueError(Text())


@case("exception argument nested 2,000 deep", ("fault", "ValueError: (its text could not"))
def _(ipc, arg):
    nested = ()
    for _ in range(2000):
        nested = (nested,)
    raise ValueError(nested)


@case("huge exception argument", ("fault", "ValueError: [[0, 1, 2, 3, 4"))
def _(ipc, arg):
    # 6 KB of text in small pieces (the corpus, compiled on the board, leaves the heap in pieces).
    raise ValueError([list(range(100)) for _ in range(15)])


@case("console input", ("exit",))
def _(ipc, arg):
    import sys

    raw = x.svc(8, 0, 0)  # SVC_GETC: -3, console input is the root's alone
    peek = x.svc(8, 1, 0)
    try:
        sys.stdin.read(1)
        got = "read"
    except OSError as error:
        got = str(error)
    check(
        (raw, 0xFFFFFFFD),
        (peek, 0),
        (got, "K5: console input belongs to the root task (the REPL)"),
    )


ROOT_RANDOM = []


def _seed_root(system, hostile):
    import random

    random.seed(7)
    ROOT_RANDOM[:] = [random.getrandbits(30), random.getrandbits(30)]
    random.seed(7)
    random.getrandbits(30)
    micropython.opt_level(0)


def _after_seeding():
    import random

    problems = []
    if micropython.opt_level() != 0:
        problems.append("the root's opt level is %d" % micropython.opt_level())
    if random.getrandbits(30) != ROOT_RANDOM[1]:
        problems.append("the root's random sequence moved")
    return problems


@case("opt level and random seed", ("exit",), setup=_seed_root, after=_after_seeding)
def _(ipc, arg):
    import random

    micropython.opt_level(3)
    random.seed(1)
    first = random.getrandbits(30)
    random.seed(1)
    check((micropython.opt_level(), 3), (random.getrandbits(30), first))


SLEEP_STATES = []


def _hostile(system, hostile):
    return hostile


def _sleep_state(system, hostile):
    SLEEP_STATES.append(system.info(hostile)["state"])


def _after_sleep():
    states = SLEEP_STATES[:]
    SLEEP_STATES[:] = []
    return [] if states == ["sleep"] else ["20 ticks into time.sleep_us: %r" % (states,)]


@case(
    "time.sleep_us of 200 ms",
    ("exit",),
    setup=_hostile,
    during=_sleep_state,
    after=_after_sleep,
    ticks=300,
)
def _(ipc, arg):
    import time

    start = time.ticks_us()
    time.sleep_us(200000)
    check((time.ticks_diff(time.ticks_us(), start) >= 200000, True))


HOARD_SEEN = []


def _root_works(system, hostile):
    # While the hostile task holds every byte of the shared heap it can get, the root (the REPL)
    # still allocates and builds: it has the heap's reserve (native/k5arch, K5_HEAP_RESERVE).
    system.run(40)
    try:
        state = system.info(hostile)["state"]
        # A kilobyte in pieces: the reserve's 8 KB is also where the kernel allocated while the
        # hog held the rest, so how much of it is in one piece depends on the layout.
        free = [bytearray(256) for _ in range(4)]
        HOARD_SEEN.append((state, len(free), "ok"))
    except MemoryError:
        HOARD_SEEN.append(("MemoryError",))


def _after_hoard():
    seen = HOARD_SEEN[:]
    HOARD_SEEN[:] = []
    return [] if seen == [("sleep", 4, "ok")] else ["the root, with the heap hoarded: %r" % seen]


@case(
    "heap hoarded and kept", ("running",), setup=_hostile, during=_root_works, after=_after_hoard
)
def _(ipc, arg):
    hoard = []
    for size in (1024, 64, 16):
        try:
            while True:
                hoard.append(bytearray(size))
        except MemoryError:
            pass
    k5.sleep(100000)


@case(
    "half-made threads (contexts used up, a body the arch refuses)",
    ("exit",),
    setup=_untyped,
    slots=32,
    ticks=200,
)
def _(ipc, arg):
    # Configure TCBs of its own until the arch has no context or stack left: that configure
    # must change nothing, so restart and resume refuse the TCB (they reached the arch with no
    # context before: K5 PANIC, every task stopped). A callable the arch cannot start as a
    # body (a bound method) is refused at decode too (a ValueError on the kernel's thread).
    failed = -1
    result = OK
    for slot in range(CAP + 1, 32):
        if k5.untyped_retype(CAP, TYPE_TCB, slot) != OK:
            break
        result = k5.tcb_configure(slot, _late, None, 10, 4, "late")
        if result != OK:
            failed = slot
            break
    if failed < 0:
        k5.exit(9)
    check(
        (result, ERR_NOT_ENOUGH_MEMORY),
        (k5.tcb_restart(failed), ERR_ILLEGAL_OPERATION),
        (k5.tcb_resume(failed), ERR_ILLEGAL_OPERATION),
        (k5.tcb_configure(failed, "".join, None, 10, 4, "x"), ERR_INVALID_ARGUMENT),
        (k5.delete(CAP + 1), OK),  # one context free again: the TCB configures and runs
        (k5.tcb_configure(failed, _late, None, 10, 4, "late"), OK),
        (k5.tcb_resume(failed), OK),
    )


def _irq_control(system, hostile):
    # A copy of the root's own IRQControl (the builder hands out handlers, not IRQControl).
    k5.tcb_copy_cap(hostile.slot, ROOT_SLOT_IRQ_CONTROL, CAP)


@case("IRQControl for the console's lines", ("exit",), setup=_irq_control)
def _(ipc, arg):
    # The console's receive, transmit and overflow lines are the kernel's (peripherals.toml
    # [kept.uart0]); timer1's line is not.
    check(
        (k5.irq_control_get(CAP, 32, 10), ERR_RANGE),
        (k5.irq_control_get(CAP, 33, 10), ERR_RANGE),
        (k5.irq_control_get(CAP, 42, 10), ERR_RANGE),
        (k5.irq_control_get(CAP, 4, 10), OK),
        (k5.delete(10), OK),
    )


# === part 3 of the cases ===

# --- no task code or task bytes where the kernel or the console takes them --------------------


@case("a task's block device driven by a collection", ("exit",), stack=12288, ticks=400)
def _(ipc, arg):
    # An unclosed file of a filesystem the task mounted on a block device of its own: the
    # collection (in the kernel's privileged thread) closes it, and littlefs flushes it through
    # the device. Its methods must not run there: writeblocks would read MPU_CTRL.
    import vfs

    class Device:
        def __init__(self):
            # 32 blocks of 256 bytes, each its own allocation (the corpus, compiled on the
            # board, leaves the heap in pieces).
            self.data = [bytearray(256) for _ in range(32)]
            self.got = bytearray(2)  # MPU_CTRL as read privileged; the task's own refusal

        def readblocks(self, block, buf, off=0):
            for i in range(len(buf)):
                at = block * 256 + off + i
                buf[i] = self.data[at >> 8][at & 255]

        def writeblocks(self, block, buf, off=0):
            try:
                self.got[0] = machine.mem32[0xE000ED94] & 0xFF  # no allocation (heap locked)
            except OSError:
                self.got[1] = 1  # in the task: no window
            for i in range(len(buf)):
                at = block * 256 + off + i
                self.data[at >> 8][at & 255] = buf[i]

        def ioctl(self, op, arg):
            if op == 4:
                return 32
            if op == 5:
                return 256
            return 0

    device = Device()
    vfs.VfsLfs2.mkfs(device)
    vfs.mount(vfs.VfsLfs2(device), "/own")

    def drop():
        f = open("/own/f", "w")
        f.write("unflushed")

    def wipe(depth):
        return wipe(depth - 1) if depth else 0

    drop()
    wipe(16)  # no stale reference to the file left on the stack
    gc.collect()
    gc.collect()
    check((device.got[0], 0), (device.got[1], 1))


def _log_frame(text):
    # A log frame as the kernel makes it: a record of the kernel's (TASK_KERNEL), level ERROR,
    # its format's text inline (k5/log.py's wire format).
    payload = bytes((0x11, 0xFF, 0x00, 0x33, 0x00, 0x22, len(text))) + text
    out = bytearray((0x02,))
    for byte in bytes((len(payload),)) + payload + bytes((0xFF - (sum(payload) & 0xFF),)):
        if byte in (0x01, 0x02, 0x03, 0x04, 0x1B):
            out.extend((0x1B, byte ^ 0x40))
        else:
            out.append(byte)
    return bytes(out)


@case("console protocol bytes in a task's output", ("exit",))
def _(ipc, arg):
    # A forged kernel log record and mpremote's raw-REPL markers in a line of text: the console
    # must carry them as text ('?'), not as a frame or a marker (test_attacks.py checks).
    import sys

    sys.stdout.buffer.write(b"forged " + _log_frame(b"client faulted"))
    sys.stdout.write(" raw-repl \x01\x04\x1b[2J end\n")
    check((1, 1))


# --- scheduling contexts and bindings (issue 22) -----------------------------------------------


def chain_victim(ipc, arg):
    # Calls x (which calls y) on its own SC, then shows it runs by signalling `alive`.
    k5.call(1, 0, (1,))
    while True:
        k5.signal(2)
        k5.sleep(1)


def chain_x(ipc, arg):
    k5.recv(1, reply=3)
    k5.call(2, 0, (2,))
    while True:
        pass  # spins on whatever SC it is left with


def chain_y(ipc, arg):
    k5.recv(1, reply=3)
    k5.signal(2)  # the hostile task runs now
    k5.sleep(10)  # y's work, on the victim's SC
    k5.reply(0, (4,), reply=3)
    k5.recv(1, reply=3)


def _chain(system, hostile):
    # victim -> passive x -> passive y through named Replies; the hostile task holds copies of
    # both Replies (CAP, CAP + 1) and x's TCB cap (CAP + 2), is told when y works (NTFN) and
    # sees the victim run (NTFN + 1).
    ep_x = system.endpoint("ep_x")
    ep_y = system.endpoint("ep_y")
    rx = system.reply("rx")
    ry = system.reply("ry")
    bell = system.notification("bell")
    alive = system.notification("alive")
    victim = system.task("victim", chain_victim, priority=10, budget=5, period=20)
    x = system.task("x", chain_x, priority=25, passive=True)
    y = system.task("y", chain_y, priority=26, passive=True)
    system.give(victim, 1, ep_x, RIGHT_WRITE | RIGHT_GRANT_REPLY)
    system.give(victim, 2, alive, RIGHT_WRITE)
    system.give(x, 1, ep_x, RIGHT_READ)
    system.give(x, 2, ep_y, RIGHT_WRITE | RIGHT_GRANT_REPLY)
    system.give(x, 3, rx)
    system.give(y, 1, ep_y, RIGHT_READ)
    system.give(y, 2, bell, RIGHT_WRITE)
    system.give(y, 3, ry)
    system.give(hostile, CAP, rx)
    system.give(hostile, CAP + 1, ry)
    system.give(hostile, CAP + 2, x)
    system.give(hostile, NTFN, bell, RIGHT_READ)
    system.give(hostile, NTFN + 1, alive, RIGHT_READ)


@case("SC theft: a chain's Replies answered out of turn", ("exit",), setup=_chain, ticks=80)
def _(ipc, arg):
    k5.wait(NTFN)
    first = k5.reply(0, (66,), reply=CAP)  # the victim, while y works for x
    second = k5.reply(0, (67,), reply=CAP + 1)  # x: the victim's SC must not land on x
    k5.poll(NTFN + 1)
    k5.sleep(30)
    check((first, OK), (second, OK), (k5.poll(NTFN + 1), OK))


@case("SC theft: the middle of a chain restarted", ("exit",), setup=_chain, ticks=80)
def _(ipc, arg):
    k5.wait(NTFN)
    first = k5.tcb_restart(CAP + 2)
    k5.poll(NTFN + 1)
    k5.sleep(30)
    check((first, OK), (k5.poll(NTFN + 1), OK))


def _two_ntfn_caps(system, hostile):
    ntfn = system.notification("t")
    system.give(hostile, CAP, ntfn, RIGHT_WRITE)
    system.give(hostile, CAP + 1, ntfn, RIGHT_READ)


@case("timer after its cap is deleted", ("exit",), setup=_two_ntfn_caps)
def _(ipc, arg):
    first = k5.set_timer(CAP, 3)
    second = k5.delete(CAP)
    k5.sleep(10)
    check((first, OK), (second, OK), (k5.poll(CAP + 1), ERR_WOULD_BLOCK))


# --- the syscall wire: request bytes a task writes itself (k5/wire.py) --------------------------
# The tags of k5/wire.py (private constants there, folded into its bytecode).
_W_NONE = 0
_W_INT = 3
_W_BIG = 4
_W_STR = 6
_W_BYTES = 7
_W_BUFFER = 8
_W_TUPLE = 9
_W_DICT = 11
_W_FUNCTION = 12
_INVALID_R0 = (ERR_INVALID_SYSCALL << 1) | 1  # r0 of a raw svc: the small int's representation


def _w_int(value):
    return bytes([_W_INT]) + struct.pack("<i", value)


def _w_ref(tag, where, size):
    return bytes([tag]) + struct.pack("<II", where, size)


def _w_tuple(*items):
    return bytes([_W_TUPLE, len(items)]) + b"".join(items)


def _w_send(data):
    # (SYS_SEND, CAP, 0, (), data, NO_SLOT): CAP is empty, so bytes that decode get ERR_EMPTY_SLOT
    return _w_tuple(_w_int(SYS_SEND), _w_int(CAP), _w_int(0), _w_tuple(), data, _w_int(-1))


def _w_lease(where, size):
    # (SYS_CALL, CAP, 0, (), None, NO_SLOT, NO_SLOT, lease, READ | WRITE)
    return _w_tuple(
        _w_int(SYS_CALL),
        _w_int(CAP),
        _w_int(0),
        _w_tuple(),
        bytes([_W_NONE]),
        _w_int(-1),
        _w_int(-1),
        _w_ref(_W_BUFFER, where, size),
        _w_int(3),
    )


@case("request bytes outside the task's own stack", ("exit",))
def _(ipc, stack):
    good = _w_send(bytes([_W_NONE]))
    check(
        (x.svc(1, K5KERNEL, 16), _INVALID_R0),
        (x.svc(1, MAIN_STACK, 16), _INVALID_R0),
        (x.svc(1, stack, 16), _INVALID_R0),  # another task's stack
        (x.svc(1, id(good), 16), _INVALID_R0),  # the heap: a request is on its caller's stack
        (x.svc(1, 0x60000000, 4), _INVALID_R0),  # unmapped
        (x.wire(good, 0), ERR_INVALID_SYSCALL),
        (x.wire(good, 4096), ERR_INVALID_SYSCALL),  # longer than WIRE_MAX
        (x.wire(good, 0xFFFFFFF0), ERR_INVALID_SYSCALL),  # wraps around
        (x.wire(good), ERR_EMPTY_SLOT),  # the same bytes, as they are: they decode
    )


@case("memory a request names: the kernel's, another task's, flash to write", ("exit",))
def _(ipc, stack):
    mine = bytearray(16)
    items = x.read(id(mine) + 12)  # the bytearray's items (mp_obj_array_t)
    rom = id(len)  # a builtin: in flash
    check(
        (x.wire(_w_send(_w_ref(_W_BYTES, K5KERNEL, 16))), ERR_INVALID_SYSCALL),
        (x.wire(_w_send(_w_ref(_W_BYTES, MAIN_STACK, 16))), ERR_INVALID_SYSCALL),
        (x.wire(_w_send(_w_ref(_W_BYTES, stack, 16))), ERR_INVALID_SYSCALL),
        (x.wire(_w_send(_w_ref(_W_STR, K5KERNEL, 4))), ERR_INVALID_SYSCALL),
        (x.wire(_w_send(_w_ref(_W_BYTES, 0xFFFFFFF0, 0x20))), ERR_INVALID_SYSCALL),
        (x.wire(_w_send(_w_ref(_W_BUFFER, rom, 16))), ERR_INVALID_SYSCALL),
        (x.wire(_w_lease(K5KERNEL, 64)), ERR_INVALID_SYSCALL),  # a lease the server would write
        (x.wire(_w_lease(MAIN_STACK, 64)), ERR_INVALID_SYSCALL),
        (x.wire(_w_lease(stack, 64)), ERR_INVALID_SYSCALL),
        (x.wire(_w_lease(0x40000000, 64)), ERR_INVALID_SYSCALL),  # a device
        (x.wire(_w_send(_w_ref(_W_BYTES, rom, 16))), ERR_EMPTY_SLOT),  # flash to read: decodes
        (x.wire(_w_lease(items, 16)), ERR_EMPTY_SLOT),  # its own bytearray: decodes
        (x.wire(_w_send(_w_ref(_W_STR, items, 2))), ERR_EMPTY_SLOT),
    )


@case("deep, truncated, oversized and unknown request bytes", ("exit",))
def _(ipc, arg):
    deep = bytes([_W_TUPLE, 1] * 9) + bytes([_W_NONE])  # WIRE_DEPTH is 8
    raw_text = bytearray(b"ok")
    raw_bad = bytearray(b"\xff\xfe")
    text = x.read(id(raw_text) + 12)  # the bytearrays' items (mp_obj_array_t)
    bad_text = x.read(id(raw_bad) + 12)

    def puts(where):
        return _w_tuple(_w_int(SYS_DEBUG_PUTS), _w_ref(_W_STR, where, 2))

    check(
        (x.wire(deep), ERR_INVALID_SYSCALL),  # deeper than WIRE_DEPTH
        (x.wire(bytes([_W_TUPLE, 255])), ERR_INVALID_SYSCALL),  # a count and nothing after
        (x.wire(bytes([_W_TUPLE, 255]) + bytes(255)), ERR_INVALID_SYSCALL),  # 255 Nones
        (x.wire(bytes([_W_INT, 1, 2])), ERR_INVALID_SYSCALL),  # truncated
        (x.wire(bytes([200])), ERR_INVALID_SYSCALL),  # no such tag
        (x.wire(_w_tuple(_w_int(SYS_SEND)) + bytes(1)), ERR_INVALID_SYSCALL),  # bytes left over
        (x.wire(_w_ref(_W_FUNCTION, K5KERNEL, 0)[:5]), ERR_INVALID_SYSCALL),  # no function
        (x.wire(puts(bad_text)), ERR_INVALID_ARGUMENT),  # not UTF-8: no str, FOREIGN
        (x.wire(puts(text)), OK),  # the control: the same request with text
        (x.wire(_w_tuple(bytes([_W_BIG]) + struct.pack("<q", SYS_SEND))), ERR_INVALID_ARGUMENT),
    )


@case("garbage request bytes", ("exit",), ticks=600)
def _(ipc, arg):
    # 400 requests of random bytes (a fixed xorshift, so a failure repeats) whose syscall number
    # is never an int: every one must come back as ERR_INVALID_SYSCALL (or, the kernel's heap
    # full, ERR_NOT_ENOUGH_MEMORY), the kernel decoding all of it first.
    state = 0x2545F491
    bad = 0
    for i in range(400):
        raw = bytearray(1 + i % 48)
        for j in range(len(raw)):
            state ^= (state << 13) & 0xFFFFFFFF
            state ^= state >> 17
            state ^= (state << 5) & 0xFFFFFFFF
            raw[j] = state & 0xFF if j > 1 else state % 16
        if raw[0] == _W_TUPLE and len(raw) > 2 and raw[2] in (_W_INT, _W_BIG):
            raw[2] = _W_NONE
        result = x.wire(raw)
        if result != ERR_INVALID_SYSCALL and result != ERR_NOT_ENOUGH_MEMORY:
            print("garbage", bytes(raw), "->", result)
            bad += 1
    check((bad, 0))


@case("a forged closure as a request's function", ("exit",))
def _(ipc, arg):
    # FUNCTION names a closure in the heap (the task's to forge) whose function is a device or
    # unmapped memory: the kernel must not read it (it used to: a BusFault on its thread).
    # Since session 17 the device's wire has no FUNCTION (a body crosses as an image): the tag
    # is unknown, the request does not decode, and nothing it names is read.
    def outer():
        v = 1

        def inner():
            return v

        return inner

    closure_type = x.read(id(outer()))  # mp_type_closure, from a real closure
    fake = bytearray(32)
    items = x.read(id(fake) + 12)  # the bytearray's items (mp_obj_array_t)
    results = []
    for fun in (0x60000000, TIMER, 0xE000ED00, K5KERNEL):
        struct.pack_into("<II", fake, 0, closure_type, fun)
        results.append(x.wire(_w_send(bytes([_W_FUNCTION]) + struct.pack("<I", items))))
    check((results, [ERR_INVALID_SYSCALL] * 4))


@case("a BUFFER over the VM's state, live on the kernel's thread", ("exit",))
def _(ipc, arg):
    # The VM's RAM is every task's to write, but while the kernel runs, mp_state_ctx.thread
    # holds the kernel's own stack bounds and exception chain: a borrow's destination or a
    # lease there would have the kernel write over them. Only the heap and the task's own stack
    # are a task's buffers.
    mine = bytearray(8)
    items = x.read(id(mine) + 12)  # the bytearray's items (mp_obj_array_t)
    borrow = bytes([_W_TUPLE, 4]) + _w_int(SYS_BORROW_READ) + _w_int(-1) + _w_int(0)
    check(
        (x.wire(borrow + _w_ref(_W_BUFFER, VM_STATE, 8)), ERR_INVALID_SYSCALL),
        (x.wire(_w_lease(VM_STATE, 8)), ERR_INVALID_SYSCALL),
        (x.wire(borrow + _w_ref(_W_BUFFER, items, 8)), ERR_NO_REPLY),  # its own: decodes
    )


@case("request bytes that claim big containers, then end", ("exit",), ticks=80)
def _(ipc, arg):
    # Eight nested dicts of 255 items, then nothing: 18 bytes that do not decode. The kernel
    # must find that out before it allocates (it used to make all eight tables first: 16 KB of
    # the shared heap a trap).
    claim = bytes([_W_DICT, 255] * 8 + [_W_NONE] * 2)
    least = 1 << 20
    for i in range(5):  # the least of five: the pair may run and allocate in between
        gc.collect()
        free = gc.mem_free()
        result = x.wire(claim)
        least = min(least, free - gc.mem_free())
    check((result, ERR_INVALID_SYSCALL), (least < 2048, True))


# === part 4 of the cases ===

# --- a task with an interpreter of its own (heap=OWN_HEAP): its own memory and nothing else ---
# Its hostile native code stands for what crafted bytecode gives (any word read or written): it
# reaches its own block (stack, heap) and .data/.bss, which hold nothing the kernel trusts.


@case(
    "own interpreter: the kernel's heap, read",
    ("fault", "MemManage", "addr=@kheap"),
    heap=OWN_HEAP,
)
def _(ipc, arg):
    x.read(KERNEL_HEAP)


@case(
    "own interpreter: the kernel's heap, write",
    ("fault", "MemManage", "addr=@kheap"),
    heap=OWN_HEAP,
)
def _(ipc, arg):
    x.write(KERNEL_HEAP, 0)


@case(
    "own interpreter: another task's stack", ("fault", "MemManage", "addr=@stack"), heap=OWN_HEAP
)
def _(ipc, stack):
    x.read(stack)


@case(
    "own interpreter: the kernel's clock, write",
    ("fault", "MemManage", "addr=@clock"),
    heap=OWN_HEAP,
)
def _(ipc, arg):
    x.write(CLOCK, 0)


@case("own interpreter: the console's ring index, write", ("fault", "MemManage"), heap=OWN_HEAP)
def _(ipc, arg):
    x.write(RX_HEAD & ~3, 0xFFFFFFFF)


@case("own interpreter: a long call in C", ("running",), heap=OWN_HEAP, ticks=120)
def _(ipc, arg):
    # Preempted wherever it is (PendSV): the pair keeps its share inside the call.
    while True:
        sum(range(3000000))


def _spin_text(self):
    while True:
        pass


@case("own interpreter: an exception whose text spins", ("running",), heap=OWN_HEAP, ticks=120)
def _(ipc, arg):
    # Its fault text is made in its own time, preempted anywhere: it only burns its own budget.
    # (A class made with type(): a class statement is nested code, which no image carries.)
    raise ValueError(type("Spinner", (), {"__str__": _spin_text})())


@case("own interpreter: its heap hoarded", ("fault", "MemoryError"), heap=OWN_HEAP)
def _(ipc, arg):
    hoard = None
    while True:
        hoard = (hoard, bytearray(64))


@case("own interpreter: its heap bounds forged", ("fault",), heap=OWN_HEAP)
def _(ipc, arg):
    # It rewrites every word of its live VM state that points into its own block to point into
    # the kernel's heap, then allocates and collects: its own GC faults, nobody else's.
    mine = id(bytearray(8))
    for offset in range(0, VM_STATE_SIZE, 4):
        word = x.read(VM_STATE + offset)
        if mine - 0x20000 <= word <= mine + 0x20000:
            x.write(VM_STATE + offset, KERNEL_HEAP)
    gc.collect()
    bytearray(512)
    k5.exit(1)


# === part 5 of the cases ===

# --- own interpreter: what .data and .bss hold that the kernel or the REPL reads ---------------
# Everything there that the kernel or the REPL trusts is kernel-private (a write faults), part
# of the VM block (each interpreter's own copy), or a copy the kernel makes true again.


def _byte_at(address):
    return (x.read(address & ~3) >> ((address & 3) * 8)) & 0xFF


def _kept(read, what):
    """A case's setup and after: what the REPL reads with read() is the same after the case."""
    seen = [None]

    def setup(system, hostile):
        seen[0] = read()

    def after():
        now = read()
        return [] if now == seen[0] else ["%s became %r (was %r)" % (what, now, seen[0])]

    return {"setup": setup, "after": after}


def _interrupt_char():
    return x.read(INTERRUPT_CHAR)


@case(
    "own interpreter: the console's interrupt character, written",
    ("exit",),
    heap=OWN_HEAP,
    **_kept(_interrupt_char, "the root's interrupt character"),
)
def _(ipc, arg):
    # The receive interrupt compares with the kernel's copy of the root's character; the word
    # in .bss is put back whenever the root enters (-1 would take Ctrl-C from the REPL).
    x.write(INTERRUPT_CHAR, 13)
    check((x.read(INTERRUPT_CHAR), 13))


@case(
    "own interpreter: the root's rights forged, then micropython.kbd_intr",
    ("exit",),
    heap=OWN_HEAP,
    **_kept(_interrupt_char, "the root's interrupt character"),
)
def _(ipc, arg):
    # The gate's flag is in .bss: set, the HAL's root-only check passes in this task, and the
    # character it sets is this task's word only.
    x.write(USER_RAW, 1)
    micropython.kbd_intr(-1)
    check((x.read(INTERRUPT_CHAR), 0xFFFFFFFF))


@case(
    "own interpreter: kernel events switched off or on",
    ("fault", "MemManage", "addr=@logevents"),
    heap=OWN_HEAP,
)
def _(ipc, arg):
    x.write(LOG_EVENTS & ~3, 0x01010101)


def _repl_mode():
    return _byte_at(REPL_MODE)


@case(
    "own interpreter: the REPL's mode",
    ("exit",),
    heap=OWN_HEAP,
    **_kept(_repl_mode, "the REPL's mode"),
)
def _(ipc, arg):
    # pyexec_mode_kind (raw or friendly REPL) is in the VM block: it flips its own copy only.
    word = x.read(REPL_MODE & ~3)
    x.write(REPL_MODE & ~3, word ^ (1 << ((REPL_MODE & 3) * 8)))
    check((x.read(REPL_MODE & ~3) != word, True))


def _ticks_victim(ipc, arg):
    # Its clock (time.ticks_ms, which sleep_ms counts with) against the kernel's (k5.now, a
    # trap): a forged copy shows as a difference.
    while True:
        time.sleep_ms(1)
        if not -2 <= time.ticks_diff(time.ticks_ms(), k5.now(ipc)) <= 2:
            k5.exit(1)


_VICTIM = [None, None]


def _ticks_setup(system, hostile):
    _VICTIM[0] = system.task("victim", _ticks_victim, priority=25)


def _ticks_during(system, state):
    # The victim sleeps 1 ms a round: in 10 ticks it traps again and again, unless a forged
    # clock sent it to sleep for 1,000 s.
    before = system.stats(_VICTIM[0])[3]
    system.run(10)
    _VICTIM[1] = (system.stats(_VICTIM[0])[3] - before, system.info(_VICTIM[0])["state"])


def _ticks_after():
    traps, state = _VICTIM[1]
    return [] if traps >= 3 and state != "exited" else ["the victim: %d traps, %s" % _VICTIM[1]]


@case(
    "own interpreter: the tasks' copy of the clock, written before each sleep",
    ("running",),
    heap=OWN_HEAP,
    setup=_ticks_setup,
    during=_ticks_during,
    after=_ticks_after,
)
def _(ipc, arg):
    # The kernel makes the copy true at every entry: the next task's ticks_ms and sleep_ms
    # never see this task's write (a sleep used to end at once, or last 1,000 s).
    n = 0
    while True:
        n += 1
        x.write(TICKS, x.read(TICKS) + (n & 1) * 1000000)  # a jump forward every other tick
        k5.sleep(1)


def _facts():
    return (machine.unique_id(), machine.reset_cause(), machine.freq())


@case(
    "own interpreter: the board's identity (machine.unique_id), written",
    ("fault", "MemManage", "addr=@cpuid"),
    heap=OWN_HEAP,
    **_kept(_facts, "the REPL's machine facts"),
)
def _(ipc, arg):
    # The REPL's machine.unique_id() on a board without a UID register: found by the red team
    # in .bss (session 13), kernel-private now, read by every task through a trap.
    x.write(CPUID, 0x41414141)


@case(
    "own interpreter: the reset cause, written",
    ("fault", "MemManage", "addr=@resetcause"),
    heap=OWN_HEAP,
    **_kept(_facts, "the REPL's machine facts"),
)
def _(ipc, arg):
    x.write(RESET_CAUSE, 5)  # machine.SOFT_RESET


@case(
    "own interpreter: the mark of a reset K5 asked for, written",
    ("fault", "MemManage", "addr=@resetmagic"),
    heap=OWN_HEAP,
    **_kept(_facts, "the REPL's machine facts"),
)
def _(ipc, arg):
    # It survives a reset; set by a task, a reset K5 did not ask for would be reported as soft.
    x.write(RESET_MAGIC, 0x4B35B007)


@case(
    "own interpreter: the core clock's word in .data, written",
    ("exit",),
    heap=OWN_HEAP,
    **_kept(_facts, "the REPL's machine facts"),
)
def _(ipc, arg):
    # machine.freq() asks the kernel, which keeps its own copy: this word misleads no one.
    x.write(CORE_HZ, 0)
    check((x.read(CORE_HZ), 0), (machine.freq() > 0, True))


@case("console protocol bytes through k5.puts", ("exit",))
def _(ipc, arg):
    # SYS_DEBUG_PUTS is written by the kernel's Python: the same rule as a printed line (case
    # 68), or the task ends the REPL's mpremote run and forges `k5 logs` records (red team,
    # session 14). test_attacks.py checks the line.
    check((k5.puts("raw-repl2 \x01\x02\x04\x1b[2J end"), OK))


@case("console protocol bytes in the name of a TCB it configures", ("exit",), setup=_untyped)
def _(ipc, arg):
    # A name goes out in front of the task's console lines (and in k5.ps): refused.
    check(
        (k5.untyped_retype(CAP, TYPE_TCB, CAP + 1), OK),
        (k5.tcb_configure(CAP + 1, _late, None, 10, 4, "ev\x04il"), ERR_INVALID_ARGUMENT),
        (k5.tcb_configure(CAP + 1, _late, None, 10, 4, "evil"), OK),
    )


# === part 6 of the cases ===

# --- a task's own machine code (SVC_EXEC): raw Thumb instructions, crafted --------------------
# A task with an interpreter of its own may run machine code (native/k5arch, k5arch_commit_exec),
# so it may run any instruction: here a .mpy of viper functions made of raw Thumb, which it
# imports from a RAM filesystem of its own. A viper function is entered as fun(self, n_args,
# n_kw, args): its arguments (small ints) are loaded through r3.
_ARG0 = (0x6818, 0x1040)  # ldr r0, [r3]; asrs r0, r0, #1
_ARG1 = (0x6859, 0x1049)  # ldr r1, [r3, #4]; asrs r1, r1, #1
_RETURN_R0 = (0x0040, 0x3001, 0x4770)  # r0 as a small int; bx lr
_RETURN_0 = (0x2001, 0x4770)  # movs r0, #1 (the small int 0); bx lr
_THUMB = (
    ("svc_exec", _ARG0 + _ARG1 + (0xDF0C,) + _RETURN_R0),  # svc #12 (SVC_EXEC) with r0, r1
    ("semihost", (0x6819, 0x1049, 0x2018, 0xBEAB) + _RETURN_0),  # bkpt 0xab: SYS_EXIT(arg)
    ("store", _ARG0 + _ARG1 + (0x6001,) + _RETURN_0),  # str r1, [r0]
    ("load", _ARG0 + (0x6800,) + _RETURN_R0),  # ldr r0, [r0]
    ("svc_enter", (0xDF00,) + _RETURN_0),  # svc #0: the kernel's own entry
    ("svc_stack", _ARG0 + (0x4685, 0xDF01) + _RETURN_0),  # mov sp, r0; svc #1
    ("here", (0x4678,) + _RETURN_R0),  # mov r0, pc: where its own code runs
    ("svc_hw", (0xDF80,) + _RETURN_0),  # svc #0x80: the trap code of a hardware fault
    ("svc_heap", _ARG0 + _ARG1 + (0xDF0D,) + _RETURN_R0),  # svc #13 (SVC_HEAP) with r0, r1
)


def _varint(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.insert(0, 0x80 | (n & 0x7F))
        n >>= 7
    return bytes(out)


def _crafted_mpy():
    """A .mpy (version 6, this board's architecture) whose module binds each _THUMB function."""
    import sys

    out = bytearray(bytes((77, 6, sys.implementation._mpy >> 8, 31)))
    out += _varint(2 + len(_THUMB)) + b"\x00"  # qstrs, no constants
    out += b"\x0eevil.py\x00\x0f"  # "evil.py", then the static qstr "<module>"
    for name, _ in _THUMB:
        out += _varint(len(name) << 1) + name.encode() + b"\x00"
    top = bytearray(b"\x00\x02\x01")  # prelude, name <module>
    for i in range(len(_THUMB)):
        top += b"\x32" + _varint(i) + b"\x16" + _varint(2 + i)  # MAKE_FUNCTION; STORE_NAME
    top += b"\x51\x63"  # LOAD_CONST_NONE; RETURN_VALUE
    out += _varint(len(top) << 3 | 4) + top + _varint(len(_THUMB))
    for _, halfwords in _THUMB:
        code = b"".join(h.to_bytes(2, "little") for h in halfwords)
        out += _varint(len(code) << 3 | 2) + code + b"\x00"  # viper code, no scope flags
    return bytes(out)


EVIL = _crafted_mpy()


def _evil():
    """The crafted module, imported from a RAM filesystem of the task's own."""
    import io
    import os
    import sys

    class File(io.IOBase):
        def __init__(self, data):
            self.data = memoryview(data)
            self.pos = 0

        def readinto(self, buf):
            n = min(len(buf), len(self.data) - self.pos)
            buf[:n] = self.data[self.pos : self.pos + n]
            self.pos += n
            return n

        def ioctl(self, request, arg):
            return 0

    class Files:
        def mount(self, readonly, mkfs):
            pass

        def stat(self, path):
            if path == "/evil.mpy":
                return (32768, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            raise OSError(2)

        def open(self, path, mode):
            return File(EVIL)

    os.mount(Files(), "/evil")
    sys.path.append("/evil")
    import evil

    return evil


@case("own machine code: a commit from the kernel's memory", ("exit",), heap=OWN_HEAP)
def _(ipc, arg):
    evil = _evil()
    # A piece of its own area is reserved; the kernel copies only what the task may read, once.
    check(
        (evil.svc_exec(0, 16) != 0, True),
        (evil.svc_exec(KERNEL_HEAP, 16), 0),
        (evil.svc_exec(KERNEL_HEAP, 16), 0),
        (evil.svc_exec(0, 1 << 20), 0),
    )


@case("own machine code: a semihosting exit", ("fault", "HardFault"), heap=OWN_HEAP)
def _(ipc, arg):
    _evil().semihost(7)  # unprivileged: no semihosting call, QEMU goes on


@case("own machine code: a write to its own code", ("fault", "MemManage"), heap=OWN_HEAP)
def _(ipc, arg):
    evil = _evil()
    evil.store(evil.here(), 0)  # read and execute, never write


@case(
    "own machine code: the kernel's heap, read",
    ("fault", "MemManage", "addr=@kheap"),
    heap=OWN_HEAP,
)
def _(ipc, arg):
    _evil().load(KERNEL_HEAP)


@case("own machine code: the kernel's entry (svc 0)", ("fault", "UsageFault"), heap=OWN_HEAP)
def _(ipc, arg):
    _evil().svc_enter()


@case(
    "own machine code: svc #0x80, a hardware fault's trap code",
    ("fault", "UsageFault"),
    heap=OWN_HEAP,
)
def _(ipc, arg):
    _evil().svc_hw()  # found by session 15's review: the kernel took it for a hardware fault


@case("own machine code: its area holds nothing of another task", ("exit",), heap=OWN_HEAP)
def _(ipc, arg):
    # The area is taken from the arena at the first commit, where other tasks' stacks were:
    # beyond its own code it reads zeroes (and so does its heap, zeroed with its block).
    evil = _evil()
    start = (evil.here() + 64) & ~3
    check((sum(1 for i in range(256) if evil.load(start + 4 * i) != 0), 0))


@case(
    "own machine code: a trap with its stack in the kernel's memory",
    ("fault", "stack overflow"),
    heap=OWN_HEAP,
)
def _(ipc, arg):
    _evil().svc_stack(KERNEL_HEAP)


# --- starting from an image: the kernel's copy of it, and tcb_configure's ---------------------


@case(
    "its image's object in the kernel's heap forged, then SVC_IMAGE",
    ("exit",),
    ticks=3000,
    budget=18,
)
def _(ipc, arg):
    # The kernel keeps every task's image as a bytes object in its heap (for restarts), which a
    # task in the kernel's interpreter can write (its hostile code stands for crafted
    # bytecode). It points each image there at .k5kernel, with a length of its choosing, and
    # asks for its own again: the kernel must copy nothing the task could not read itself
    # (session 16's review found this copy a privileged read). The old data pointer waits in
    # the object's hash word, where the collector still sees it, and all is put back.
    kind = id(bytes)
    images = []
    at = KERNEL_HEAP & ~15
    while at < HEAP_END and len(images) < 16:
        if x.read(at) == kind:
            data = x.read(at + 12)
            if KERNEL_HEAP <= data < HEAP_END and x.read(data) == 0x0149354B:  # b"K5I\x01"
                images.append((at, x.read(at + 4), x.read(at + 8), data))
        at += 16
    buf = bytearray(64)
    where = x.read(id(buf) + 12)  # the bytearray's items (mp_obj_array_t)
    for at, hash_, length, data in images:
        x.write(at + 4, data)
        x.write(at + 8, 64)
        x.write(at + 12, K5KERNEL)
    got = x.svc(11, where, 64)
    for at, hash_, length, data in images:
        x.write(at + 12, data)
        x.write(at + 8, length)
        x.write(at + 4, hash_)
    check((len(images) > 0, True), (got, 0xFFFFFFFF), (bytes(buf), bytes(64)))


@case(
    "own interpreter: configure a TCB in the kernel's interpreter",
    ("exit",),
    heap=OWN_HEAP,
    setup=_untyped,
)
def _(ipc, arg):
    # tcb_configure makes a task of the kernel's interpreter with heap=0: refused to a task with
    # an interpreter of its own, which would get a way into the shared heap; with a heap it
    # makes one of its own, which runs. A body it cannot pack (a bound method) is refused in
    # the caller, before any trap.
    check(
        (k5.untyped_retype(CAP, TYPE_TCB, CAP + 1), OK),
        (k5.tcb_configure(CAP + 1, _late, None, 10, 4, "late"), ERR_ILLEGAL_OPERATION),
        (k5.tcb_configure(CAP + 1, [].append, None, 10, 4, "late"), ERR_INVALID_ARGUMENT),
        # A heap its Untyped does not pay for: at most 16 KB (2**40 once made the arch raise an
        # OverflowError on the kernel's thread: a kernel panic, found by session 17's review).
        (k5.tcb_configure(CAP + 1, _late, None, 10, 4, "late", 2**40), ERR_RANGE),
        (k5.tcb_configure(CAP + 1, _late, None, 10, 4, "late", 16385), ERR_RANGE),
        (k5.tcb_configure(CAP + 1, _late, None, 10, 4, "late", 4096), OK),
        (k5.tcb_resume(CAP + 1), OK),
    )


# --- a lease's object in the kernel's heap ------------------------------------------------------


def _lends(ipc, arg):
    # Calls the hostile server with a lease of 32 bytes it may only read, and the buffer's
    # address in a word.
    buf = bytearray(b"L" * 32)
    k5.call(1, 0, (x.read(id(buf) + 12),), lease=buf, lease_rights=RIGHT_READ)
    k5.sleep(1000)


def _lender(system, hostile):
    ep = system.endpoint("lent")
    lender = system.task("lender", _lends, priority=20)
    system.give(lender, 1, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY)
    system.give(hostile, CAP, ep, RIGHT_READ)


@case(
    "a lease's object in the kernel's heap redirected, then borrowed",
    ("exit",),
    setup=_lender,
    ticks=3000,
    budget=18,
)
def _(ipc, arg):
    # The kernel kept a lease as a memoryview of the lender's buffer in its heap, which a task in
    # the kernel's interpreter can write, and borrowed through it privileged: this server points
    # it at .k5kernel with 64 bytes, and raises the lease's rights (read only) to read and
    # write in the kernel's tuple of them, then borrows. Now the kernel copies by its own record
    # of the lease (32 bytes of the lender's, read only, checked when lent): both borrows are
    # refused and nothing changes. The objects are put back before the reply.
    err = k5.recv(CAP)
    lent = ipc.words[0]
    views = []
    rights = []
    at = KERNEL_HEAP & ~15
    while at < HEAP_END:
        if x.read(at) == id(memoryview) and x.read(at + 12) == lent:
            views.append((at, x.read(at + 8)))
        at += 16
    at = KERNEL_HEAP & ~15
    while at < HEAP_END and views:
        if x.read(at) == id(tuple) and x.read(at + 4) == 2 and x.read(at + 8) == views[0][0]:
            rights.append((at, x.read(at + 12)))
        at += 16
    for at, size in views:
        x.write(at + 8, 64)
        x.write(at + 12, K5KERNEL)
    for at, word in rights:
        x.write(at + 12, 7)  # the small int 3: RIGHT_READ | RIGHT_WRITE
    into = bytearray(64)
    read = k5.borrow_read(0, into)
    wrote = k5.borrow_write(0, b"W" * 8)
    for at, size in views:
        x.write(at + 12, lent)
        x.write(at + 8, size)
    for at, word in rights:
        x.write(at + 12, word)
    check(
        (err, OK),
        (len(views), 1),
        (rights, [(rights[0][0] if rights else 0, 3)]),  # found once: the small int 1 (READ)
        (read, ERR_INVALID_ARGUMENT),
        (bytes(into), bytes(64)),
        (wrote, ERR_INVALID_ARGUMENT),
        (x.read(lent), 0x4C4C4C4C),  # b"LLLL": the lender's buffer as it lent it
        (k5.reply(0), OK),
    )


@case("own machine code: a heap area of the arena (SVC_HEAP)", ("exit",), heap=OWN_HEAP)
def _(ipc, arg):
    # Only the REPL's heap grows: a task is offered no room, gets no area, and cannot give back
    # one that is not its own (the REPL's, or any other address).
    evil = _evil()
    check(
        (evil.svc_heap(0, 0), 0),
        (evil.svc_heap(1, 8192), 0),
        (evil.svc_heap(1, 1 << 29), 0),
        (evil.svc_heap(1, -1), 0),  # rounded up, it was 0 bytes (session 19's review)
        (evil.svc_heap(1, -1024), 0),
        (evil.svc_heap(2, KERNEL_HEAP), -1),
        (evil.svc_heap(2, 0), -1),
        (evil.svc_heap(7, 0), -1),
    )


# --- the harness -------------------------------------------------------------------------------


def _stats(system, task):
    return system.stats(task)


def run(index, name, body, expect, options):
    system = System()
    pair = system.endpoint("pair")
    s = system.task("server", server, priority=20)
    c = system.task("client", client, priority=20)
    system.give(s, PAIR, pair, RIGHT_READ)
    system.give(c, PAIR, pair, RIGHT_WRITE | RIGHT_GRANT_REPLY)
    system.run(3)
    stack = _stats(system, s)[4] + 256
    hostile = system.task(
        "hostile",
        body,
        priority=30,
        budget=options.get("budget", 5),
        period=20,
        arg=stack,
        start=False,
        slots=options.get("slots", 16),
        stack=options.get("stack"),
        heap=options.get("heap"),
    )
    setup = options.get("setup")
    state = setup(system, hostile) if setup is not None else None
    traps = _stats(system, c)[3]
    system.start(hostile)
    ticks = options.get("ticks", 40)
    system.run(20)
    during = options.get("during")
    if during is not None:
        during(system, state)
    # Until the time is up, or (a fault or an exit expected) until the hostile task ended.
    left = ticks - 20
    while left > 0:
        system.run(20)
        left -= 20
        if expect[0] in ("fault", "exit"):
            if system.info(hostile)["state"] in ("faulted", "exited"):
                system.run(20)  # the pair goes on after it
                break
    progress = _stats(system, c)[3] - traps
    info = [t for t in system.task_dicts() if t["name"] == "hostile"][0]
    supervisor = [t for t in system.task_dicts() if t["name"] == "supervisor"]
    exit_code = system.info(hostile)["exit_code"]
    system.close()
    gc.collect()
    problems = []
    kind = expect[0]
    text = info["last_fault"]
    if text and len(text) > FAULT_TEXT_MAX:
        problems.append("a fault text of %d characters" % len(text))
    if kind == "fault":
        if info["state"] != "faulted":
            problems.append("state " + info["state"])
        for want in expect[1:]:
            want = want.replace("@stack", "0x%08x" % stack)
            want = want.replace("@kernel", "0x%08x" % K5KERNEL)
            want = want.replace("@main", "0x%08x" % MAIN_STACK)
            want = want.replace("@kheap", "0x%08x" % KERNEL_HEAP)
            want = want.replace("@clock", "0x%08x" % CLOCK)
            want = want.replace("@logevents", "0x%08x" % (LOG_EVENTS & ~3))
            want = want.replace("@cpuid", "0x%08x" % CPUID)
            want = want.replace("@resetcause", "0x%08x" % RESET_CAUSE)
            want = want.replace("@resetmagic", "0x%08x" % RESET_MAGIC)
            if want not in text:
                problems.append("no %r in %r" % (want, text))
    elif kind == "exit":
        if info["state"] != "exited" or exit_code != 0:
            problems.append("state %s code %s fault %r" % (info["state"], exit_code, text))
    elif kind == "running":
        if info["state"] not in ("running", "ready", "sleep"):
            problems.append("state " + info["state"])
    elif kind == "storm":
        if info["faults"] < 10 or not supervisor or supervisor[0]["state"] == "faulted":
            problems.append("faults %d supervisor %s" % (info["faults"], supervisor))
    if progress < 4:
        problems.append("the pair made only %d traps" % progress)
    if not gc.isenabled():
        problems.append("gc left disabled")
        gc.enable()
    if len(bytearray(2048)) != 2048:  # the heap still gives memory
        problems.append("no memory")
    after = options.get("after")
    if after is not None:
        problems += after()
    outcome = "ok" if not problems else "FAIL " + "; ".join(problems)
    print("case %d %s: %s | %s" % (index + 1, outcome, name, text or info["state"]))


threshold = gc.threshold()
for index in range(FIRST, FIRST + len(CASES)):
    if ONLY == 0 or ONLY == index + 1:
        name, body, expect, options = CASES[index - FIRST]
        run(index, name, body, expect, options)
        if gc.threshold() != threshold:
            print("case %d FAIL: gc threshold changed" % (index + 1))
print("cases", len(CASES))
from k5 import front  # noqa: E402

print("kernel stack used", front.arena()[2])
