"""Scenario: ping-pong between a client (call) and a server (reply_recv)."""

import sys

try:
    sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../.." if "/" in __file__ else "../..")
except NameError:
    pass  # run on a board (mpremote run): k5 is frozen into the firmware

import k5  # noqa: E402
from k5.abi import RIGHT_READ, RIGHT_WRITE, RIGHT_GRANT_REPLY  # noqa: E402
from k5.system import System  # noqa: E402

EP = 1


def client(ipc, rounds):
    for i in range(rounds):
        err = k5.call(EP, 1, (i, i * i), "ping")
        k5.puts(
            "reply err=%d label=%d words=%s data=%s"
            % (err, ipc.label, ipc.word_tuple(), ipc.payload())
        )
    k5.puts("done")


def server(ipc, arg):
    k5.recv(EP)
    while True:
        k5.puts("request badge=%d words=%s data=%s" % (ipc.badge, ipc.word_tuple(), ipc.payload()))
        total = ipc.words[0] + ipc.words[1]
        k5.reply_recv(EP, 2, (total,), b"pong")


system = System(trace=print, debug=True)
ep = system.endpoint("ep")
c = system.task("client", client, priority=10, arg=3)
s = system.task("server", server, priority=20)
system.give(c, EP, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY, badge=7)
system.give(s, EP, ep, RIGHT_READ)
print("result", system.run(1000))
system.ps()
