"""Scenario: a root task builds a system dynamically (retype, configure, give caps)."""

import sys

try:
    sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../.." if "/" in __file__ else "../..")
except NameError:
    pass  # run on a board (mpremote run): k5 is frozen into the firmware

import k5  # noqa: E402
from k5.abi import (  # noqa: E402
    HANDLER_FAULT,
    RIGHT_READ,
    TYPE_ENDPOINT,
    TYPE_SCHED_CONTEXT,
    TYPE_TCB,
)
from k5.system import System  # noqa: E402

CONTROL = 1
UNTYPED = 2
EP = 3
WORKER = 4
WORKER_SC = 5
FAULTS = 6


def worker(ipc, arg):
    name, factor = arg
    k5.puts("%s up, factor %d" % (name, factor))
    print("%s at work" % name)  # the task's own console: on the board, a line under its name
    k5.recv(1)
    while True:
        if ipc.words[0] < 0:
            raise ValueError("negative input")
        k5.reply_recv(1, 0, (ipc.words[0] * factor,))


def root(ipc, arg):
    for kind, slot in (
        (TYPE_ENDPOINT, EP),
        (TYPE_TCB, WORKER),
        (TYPE_SCHED_CONTEXT, WORKER_SC),
        (TYPE_ENDPOINT, FAULTS),
    ):
        k5.puts(
            "retype %d -> slot %d: err=%d" % (kind, slot, k5.untyped_retype(UNTYPED, kind, slot))
        )
    err = k5.untyped_retype(UNTYPED, TYPE_ENDPOINT, 7)
    k5.puts("quota exhausted: err=%d" % err)
    err = k5.tcb_configure(WORKER, worker, ("w1", 3), 15, 4, "worker")
    k5.puts("configure err=%d" % err)
    err = k5.tcb_copy_cap(WORKER, EP, 1, RIGHT_READ)
    k5.puts("copy cap err=%d" % err)
    err = k5.tcb_set_handler(WORKER, FAULTS, HANDLER_FAULT)
    k5.puts("fault handler err=%d" % err)
    err = k5.sc_configure(CONTROL, WORKER_SC, 2, 10, 4)
    k5.puts("sc configure err=%d" % err)
    err = k5.sc_bind(WORKER_SC, WORKER)
    k5.puts("sc bind err=%d" % err)
    err = k5.tcb_resume(WORKER)
    k5.puts("resume err=%d" % err)
    for value in (1, 2, -1):
        err = k5.call(EP, 0, (value,))
        k5.puts("call %d -> err=%d words=%s" % (value, err, ipc.word_tuple()))
        if err:
            k5.recv(FAULTS)
            k5.puts("fault from worker: %s" % ipc.payload())


system = System(trace=print, debug=True)
r = system.task("root", root, priority=20, mcp=50)
system.give(r, CONTROL, system.sched_control())
system.give(r, UNTYPED, system.untyped("untyped", 4))
print("result", system.run(500))
system.ps()
