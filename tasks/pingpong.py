"""Demo: two K5 tasks, a client calling a passive server through an endpoint capability."""

# The kernel's policy is frozen into the firmware. A task body is a plain function and each
# k5.* call in it is one syscall: through the native trap layer on the board, through the
# simulated arch backend (a thread per task, simulated ticks) on the host.

import k5
from k5.abi import RIGHT_GRANT_REPLY, RIGHT_READ, RIGHT_WRITE
from k5.system import System

EP = 1  # the CSpace slot both tasks use for the endpoint


def client(ipc, rounds):
    for i in range(rounds):
        err = k5.call(EP, 1, (i, i * i), "ping")
        k5.puts("call %d -> err=%d sum=%d %s" % (i, err, ipc.words[0], ipc.payload()))


def server(ipc, arg):
    k5.recv(EP)
    while True:
        k5.puts("request from badge %d: %s" % (ipc.badge, ipc.word_tuple()))
        k5.reply_recv(EP, 2, (ipc.words[0] + ipc.words[1],), b"pong")


system = System()
ep = system.endpoint("ep")
c = system.task("client", client, priority=10, arg=3, budget=20, period=100)
s = system.task("server", server, priority=20, passive=True)
system.give(c, EP, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY, badge=7)
system.give(s, EP, ep, RIGHT_READ)
system.run(1000)
system.ps()
system.close()  # the server never returns: end its thread (host) for good
