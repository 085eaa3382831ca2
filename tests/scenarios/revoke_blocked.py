"""Scenario: revoking a cap wakes the threads blocked through it with an error."""

import sys

try:
    sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../.." if "/" in __file__ else "../..")
except NameError:
    pass  # run on a board (mpremote run): k5 is frozen into the firmware

import k5  # noqa: E402
from k5.abi import RIGHTS_ALL, RIGHT_READ, RIGHT_WRITE  # noqa: E402
from k5.system import System  # noqa: E402

MASTER = 1
GIVEN = 2


def waiter(ipc, arg):
    err = k5.recv(1)
    k5.puts("recv returned err=%d" % err)
    err = k5.recv(1)
    k5.puts("recv on deleted slot err=%d" % err)


def owner(ipc, arg):
    # Mint a badged copy, hand nothing out: the waiter got its cap from the builder, derived
    # from the owner's cap. Revoke the owner's cap: the waiter's cap goes, and the waiter wakes.
    k5.spin(5)
    err = k5.identify(MASTER)
    k5.puts("identify err=%d type=%d rights=%d" % (err, ipc.words[0], ipc.words[1]))
    err = k5.revoke(MASTER)
    k5.puts("revoke err=%d" % err)
    err = k5.identify(MASTER)
    k5.puts("master still there err=%d" % err)


system = System(trace=print, debug=True)
ep = system.endpoint("ep")
own = system.task("owner", owner, priority=10)
wait = system.task("waiter", waiter, priority=20)
system.give(own, MASTER, ep, RIGHTS_ALL)
# Derive the waiter's cap from the owner's cap (as a cap transfer would).
system.copy_cap(own, MASTER, wait, 1, RIGHT_READ | RIGHT_WRITE)
print("result", system.run(100))
system.ps()
