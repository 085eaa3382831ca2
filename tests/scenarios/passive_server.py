"""Scenario: a passive server (no SC) runs on the budget its callers donate."""

import sys

try:
    sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../.." if "/" in __file__ else "../..")
except NameError:
    pass  # run on a board (mpremote run): k5 is frozen into the firmware

import k5  # noqa: E402
from k5.abi import RIGHT_GRANT_REPLY, RIGHT_READ, RIGHT_WRITE  # noqa: E402
from k5.system import System  # noqa: E402

EP = 1


def server(ipc, arg):
    k5.recv(EP)
    while True:
        k5.puts("serving badge=%d work=%d" % (ipc.badge, ipc.words[0]))
        k5.spin(ipc.words[0])
        k5.reply_recv(EP, 0, (ipc.words[0],))


def client(ipc, work):
    for i in range(3):
        err = k5.call(EP, 0, (work,))
        k5.puts("reply err=%d" % err)
        k5.spin(1)


system = System(trace=print, debug=True)
ep = system.endpoint("ep")
srv = system.task("server", server, priority=100, passive=True)
a = system.task("client_a", client, priority=10, budget=4, period=20, arg=3)
b = system.task("client_b", client, priority=10, budget=30, period=30, arg=6)
system.give(srv, EP, ep, RIGHT_READ)
system.give(a, EP, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY, badge=1)
system.give(b, EP, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY, badge=2)
print("server has SC before:", system.info(srv)["has_sc"])
print("result", system.run(300))
print("server has SC after:", system.info(srv)["has_sc"])
print("consumed client_a", system.info(a.sc)["total"], "client_b", system.info(b.sc)["total"])
system.ps(show_caps=False)
