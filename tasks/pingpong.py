"""Demo: two K5 tasks, a client calling a passive server through an endpoint capability."""

# The kernel's policy is frozen into the firmware. Until the native trap layer lands, tasks are
# generators driven by the simulated arch backend (simulated ticks), on the board as on the host.

from k5 import user as k
from k5.abi import RIGHT_GRANT_REPLY, RIGHT_READ, RIGHT_WRITE
from k5.system import System

EP = 1  # the CSpace slot both tasks use for the endpoint


def client(ipc, rounds):
    for i in range(rounds):
        err = yield k.call(EP, 1, (i, i * i), "ping")
        yield k.puts("call %d -> err=%d sum=%d %s" % (i, err, ipc.words[0], ipc.payload()))


def server(ipc, arg):
    yield k.recv(EP)
    while True:
        yield k.puts("request from badge %d: %s" % (ipc.badge, ipc.word_tuple()))
        yield k.reply_recv(EP, 2, (ipc.words[0] + ipc.words[1],), b"pong")


system = System()
ep = system.endpoint("ep")
c = system.task("client", client, priority=10, arg=3, budget=20, period=100)
s = system.task("server", server, priority=20, passive=True)
system.give(c, EP, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY, badge=7)
system.give(s, EP, ep, RIGHT_READ)
system.run(1000)
system.ps()
