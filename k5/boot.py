"""Boot the device: one kernel, with the REPL as its root task (called by the port's main.c)."""

# main(repl) builds the boot system: the root task "repl" runs `repl` (MicroPython's REPL, in C)
# unprivileged on its own stack, at the top priority and MCP, so no task it starts can take the
# console away. It holds the console notification in slot ROOT_SLOT_CONSOLE (bound to it; the
# console's receive interrupt signals it) and builds everything else through SYS_BUILD. The
# kernel then runs until the root task exits (a soft reset), idling in WFI when nothing can run.

from k5 import arch as arch_module
from k5.abi import (
    IRQ_CONSOLE,
    PRIORITY_MAX,
    RIGHT_READ,
    ROOT_SLOT_CONSOLE,
    ROOT_SLOT_IRQ_CONTROL,
    ROOT_SLOTS,
)
from k5 import log  # noqa: F401 (loaded here, it is lent to every task: see namespace.c)
from k5 import image  # noqa: F401 (the same: every task in the kernel's interpreter starts with it)
from k5.building import RUN_IDLE, RUN_STOPPED
from k5.ticks import AGE_STEP, ticks_add
from k5.rootsrv import RootService, freeze_k5
from k5.builder import Builder, BuildError

try:
    import k5app  # a static app (k5 build app.toml), started at boot beside the REPL
except ImportError:
    k5app = None
if k5app is not None:
    from k5 import app  # only then: the plain image keeps its heap

# The root task's stack (bytes) and time slice (ticks): the REPL runs MicroPython's test suite,
# so its stack is the largest; alone at its priority, a long slice saves needless traps.
ROOT_STACK = 8 * 1024
ROOT_TIMESLICE = 50
# On the device the REPL runs an interpreter of its own on a heap of its own this big, from the
# task arena (the boards' K5_ARENA_SIZE counts it): the kernel's heap holds none of its objects.
# MicroPython compiles a script whole: `mpremote run` of a 21 KB script (sel4_semantics.py of
# tests/scenarios) fails with MemoryError in 64 KB and runs in 72 KB (in 64 KB MicroPython's
# suite lost deflate_decompress too). The kernel's heap has the rest of RAM: in 82 KB, the fault
# injection and the fast paths' differential test ran out of it. (The model checker's walk on
# the board, its .mpy modules and the kernel's Python imported into the REPL's heap, 53 KB,
# needs more than 80 KB: it waits for a REPL heap that grows.)
ROOT_HEAP = 72 * 1024


def build(repl, **options):
    """The boot system: a kernel whose root task runs repl(ipc, arg); returns (system, root).

    options go to the kernel-side builder (the host tests pass console, trace, ...).
    """
    system = Builder(**options)
    kernel = system.kernel
    root = system.task(
        "repl",
        repl,
        priority=PRIORITY_MAX,
        mcp=PRIORITY_MAX,
        budget=ROOT_TIMESLICE,
        slots=ROOT_SLOTS,
        stack=ROOT_STACK,
        heap=ROOT_HEAP if arch_module.DEVICE else None,
        start=False,
    )
    console = system.notification("console")
    system.give(root, ROOT_SLOT_CONSOLE, console, RIGHT_READ)
    system.bind_notification(root, console)
    kernel.bind_irq(IRQ_CONSOLE, console.obj, 1)
    system.give(root, ROOT_SLOT_IRQ_CONTROL, system.irq_control())
    kernel.root = root.obj
    kernel.build_service = RootService(kernel, root.obj.cspace).call
    make_root = getattr(system.arch, "make_root", None)
    if make_root is not None:
        make_root(root.obj.context)  # the device: raw console, SVC_MACHINE, the peripherals
    system.start(root)
    return system, root


def main(repl):
    """Run the device's kernel until the root task exits (a soft reset)."""
    system, root = build(repl)
    kernel = system.kernel
    if k5app is not None:
        try:
            app.build(system, k5app.APP)
        except BuildError as exc:  # validated by k5 gen: only a board without the resources
            print("K5: the app " + k5app.APP["name"] + " was not started: " + str(exc.args[0]))
    freeze_k5()
    try:
        while True:
            code = kernel.run()
            if code == RUN_STOPPED:
                return
            if code == RUN_IDLE:
                # Until an interrupt line is raised, or AGE_STEP ticks: the kernel looks at the
                # clock that often, to date idle SCs' refills (Kernel._age).
                system.arch.idle(ticks_add(system.arch.now(), AGE_STEP))
    finally:
        system.close()
