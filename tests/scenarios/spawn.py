"""Scenario: a root task builds a system dynamically (retype, configure, give caps)."""

import sys

try:
    sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../.." if "/" in __file__ else "../..")
except NameError:
    pass  # run on a board (mpremote run): k5 is frozen into the firmware

from k5 import user as k  # noqa: E402
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
    yield k.puts("%s up, factor %d" % (name, factor))
    yield k.recv(1)
    while True:
        if ipc.words[0] < 0:
            raise ValueError("negative input")
        yield k.reply_recv(1, 0, (ipc.words[0] * factor,))


def root(ipc, arg):
    for kind, slot in (
        (TYPE_ENDPOINT, EP),
        (TYPE_TCB, WORKER),
        (TYPE_SCHED_CONTEXT, WORKER_SC),
        (TYPE_ENDPOINT, FAULTS),
    ):
        yield k.puts(
            "retype %d -> slot %d: err=%d"
            % (kind, slot, (yield k.untyped_retype(UNTYPED, kind, slot)))
        )
    err = yield k.untyped_retype(UNTYPED, TYPE_ENDPOINT, 7)
    yield k.puts("quota exhausted: err=%d" % err)
    err = yield k.tcb_configure(WORKER, worker, ("w1", 3), 15, 4, "worker")
    yield k.puts("configure err=%d" % err)
    err = yield k.tcb_copy_cap(WORKER, EP, 1, RIGHT_READ)
    yield k.puts("copy cap err=%d" % err)
    err = yield k.tcb_set_handler(WORKER, FAULTS, HANDLER_FAULT)
    yield k.puts("fault handler err=%d" % err)
    err = yield k.sc_configure(CONTROL, WORKER_SC, 2, 10, 4)
    yield k.puts("sc configure err=%d" % err)
    err = yield k.sc_bind(WORKER_SC, WORKER)
    yield k.puts("sc bind err=%d" % err)
    err = yield k.tcb_resume(WORKER)
    yield k.puts("resume err=%d" % err)
    for value in (1, 2, -1):
        err = yield k.call(EP, 0, (value,))
        yield k.puts("call %d -> err=%d words=%s" % (value, err, ipc.word_tuple()))
        if err:
            yield k.recv(FAULTS)
            yield k.puts("fault from worker: %s" % ipc.payload())


system = System(trace=print, debug=True)
r = system.task("root", root, priority=20, mcp=50)
system.give(r, CONTROL, system.sched_control())
system.give(r, UNTYPED, system.untyped("untyped", 4))
print("result", system.run(500))
system.ps()
