"""Scenario: a worker faults, its supervisor reads the fault and restarts it."""

import sys

try:
    sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../.." if "/" in __file__ else "../..")
except NameError:
    pass  # run on a board (mpremote run): k5 is frozen into the firmware

import k5  # noqa: E402
from k5.abi import (  # noqa: E402
    BADGE_GEN_FLAG,
    BADGE_GEN_SHIFT,
    FAULT_EXCEPTION,
    RIGHT_GRANT_REPLY,
    RIGHT_READ,
    RIGHT_WRITE,
    RIGHTS_ALL,
)
from k5.system import System  # noqa: E402

FAULTS = 1
WORKER_TCB = 2
SERVICE = 1


def worker(ipc, arg):
    # Serves one request, then crashes on the second one.
    k5.recv(SERVICE)
    count = 0
    while True:
        count += 1
        k5.puts("serving request %d word=%d" % (count, ipc.words[0]))
        if ipc.words[0] == 13:
            raise ValueError("unlucky request")
        k5.reply_recv(SERVICE, 0, (ipc.words[0] * 2,))


def client(ipc, arg):
    for value in (1, 13, 2):
        err = k5.call(SERVICE, 0, (value,))
        k5.puts("call %d -> err=%d reply=%s" % (value, err, ipc.word_tuple()))
        k5.spin(3)


def stale_client(ipc, arg):
    # Its badge encodes generation 0 of the worker: valid until the worker restarts.
    k5.spin(20)
    err = k5.call(SERVICE, 0, (5,))
    k5.puts("stale-badge call err=%d" % err)


def supervisor(ipc, arg):
    while True:
        err = k5.recv(FAULTS)
        kind = "exception" if ipc.label == FAULT_EXCEPTION else str(ipc.label)
        k5.puts(
            "fault %s from badge=%d tid=%d gen=%d count=%d: %s"
            % (kind, ipc.badge, ipc.words[0], ipc.words[1], ipc.words[2], ipc.payload())
        )
        err = k5.tcb_info(WORKER_TCB)
        k5.puts("worker state=%d generation=%d" % (ipc.words[0], ipc.words[3]))
        err = k5.tcb_restart(WORKER_TCB)
        k5.tcb_info(WORKER_TCB)
        k5.puts("restart err=%d generation now %d" % (err, ipc.words[3]))


system = System(trace=print, debug=True)
service = system.endpoint("service")
faults = system.endpoint("faults")
w = system.task("worker", worker, priority=50)
c = system.task("client", client, priority=40)
sc = system.task("stale", stale_client, priority=30)
sup = system.task("supervisor", supervisor, priority=200)
system.set_owner(service, w)
system.give(w, SERVICE, service, RIGHT_READ)
system.give(c, SERVICE, service, RIGHT_WRITE | RIGHT_GRANT_REPLY)
system.give(
    sc,
    SERVICE,
    service,
    RIGHT_WRITE | RIGHT_GRANT_REPLY,
    badge=BADGE_GEN_FLAG | (0 << BADGE_GEN_SHIFT) | 9,
)
system.give(sup, FAULTS, faults, RIGHT_READ)
system.give(sup, WORKER_TCB, w, RIGHTS_ALL)
system.fault_handler(w, faults, badge=77)
print("result", system.run(300))
system.ps()
