"""Scenario: deterministic pseudo-random syscalls from five tasks (no kernel exception)."""

import sys

try:
    sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../.." if "/" in __file__ else "../..")
except NameError:
    pass  # run on a board (mpremote run): k5 is frozen into the firmware

import k5  # noqa: E402
from k5 import abi as A  # noqa: E402
from k5.system import System  # noqa: E402

STEPS = 400
SYSNOS = (
    A.SYS_SEND,
    A.SYS_NBSEND,
    A.SYS_RECV,
    A.SYS_NBRECV,
    A.SYS_CALL,
    A.SYS_REPLY,
    A.SYS_REPLY_RECV,
    A.SYS_SIGNAL,
    A.SYS_WAIT,
    A.SYS_POLL,
    A.SYS_YIELD,
    A.SYS_CNODE_COPY,
    A.SYS_CNODE_MINT,
    A.SYS_CNODE_MOVE,
    A.SYS_CNODE_MUTATE,
    A.SYS_CNODE_DELETE,
    A.SYS_CNODE_REVOKE,
    A.SYS_CNODE_IDENTIFY,
    A.SYS_TCB_SET_PRIORITY,
    A.SYS_TCB_INFO,
    A.SYS_TCB_RESTART,
    A.SYS_TCB_SUSPEND,
    A.SYS_TCB_RESUME,
    A.SYS_SPIN,
    0,
    99,
)
ODD = (None, -1, 2**31, "x", b"yy", (1, 2), 3, 0, 7, 2**29)


def draw(rng, bound):
    """A small LCG whose state is rng[0]: identical sequences on CPython and MicroPython."""
    rng[0] = (rng[0] * 1103515245 + 12345) % 2147483648
    return (rng[0] >> 8) % bound


def value(rng):
    if draw(rng, 4) == 0:
        return ODD[draw(rng, len(ODD))]
    return draw(rng, 8) - 1


def request(rng):
    sysno = SYSNOS[draw(rng, len(SYSNOS))]
    if sysno == A.SYS_SPIN:
        return (sysno, draw(rng, 6))
    if sysno in (A.SYS_SEND, A.SYS_NBSEND):
        return (sysno, draw(rng, 4), draw(rng, 3), (draw(rng, 100),), None, value(rng))
    if sysno in (A.SYS_CALL, A.SYS_REPLY_RECV):
        return (sysno, draw(rng, 4), draw(rng, 3), (draw(rng, 100),), b"p", -1, value(rng))
    if sysno == A.SYS_REPLY:
        return (sysno, -1, 1, (draw(rng, 100),), None, -1)
    if sysno in (A.SYS_RECV, A.SYS_NBRECV):
        return (sysno, draw(rng, 4), value(rng))
    count = draw(rng, 5)
    return tuple([sysno] + [value(rng) for _ in range(count)])


def puppet(ipc, seed):
    rng = [seed]
    counts = [0] * A.ERR_COUNT
    for step in range(STEPS):
        result = k5.trap(request(rng))
        if type(result) is int and 0 <= result < A.ERR_COUNT:
            counts[result] += 1
        if step % 100 == 99:
            k5.trap((A.SYS_DEBUG_PUTS, "step %d results %s" % (step + 1, counts)))


def janitor(ipc, arg):
    # Keeps the system from deadlocking: drains senders, answers calls, signals waiters.
    while True:
        result = k5.trap((A.SYS_NBRECV, 0, -1))
        if result == A.OK:
            k5.trap((A.SYS_REPLY, -1, 2, (0,), None, -1))
        k5.trap((A.SYS_SIGNAL, 2))
        k5.spin(1)


system = System(debug=True)
ep = system.endpoint("ep")
n = system.notification("n")
tasks = []
for i in range(5):
    priority = (10, 20, 20, 5, 30)[i]
    budget, period = ((3, 3), (2, 7), (3, 11), (5, 5), (4, 4))[i]
    tasks.append(
        system.task(
            "p%d" % i,
            puppet,
            priority=priority,
            mcp=30,
            budget=budget,
            period=period,
            slots=8,
            arg=1000 + i,
            passive=i == 4,
        )
    )
for i in range(5):
    t = tasks[i]
    system.give(t, 0, ep)
    system.give(t, 1, ep, A.RIGHT_WRITE | A.RIGHT_GRANT, i + 1)
    system.give(t, 2, n, A.RIGHTS_ALL, 1 << i)
    system.give(t, 3, tasks[(i + 1) % 5])
jan = system.task("janitor", janitor, priority=1, budget=2, period=2, slots=4)
system.give(jan, 0, ep)
system.give(jan, 2, n, A.RIGHT_WRITE, 32)
print("result", system.run(3000))
print("traps", system.traps())
system.ps()
