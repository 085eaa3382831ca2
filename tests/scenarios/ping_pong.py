"""Scenario: ping-pong between a client (call) and a server (reply_recv)."""

import sys

try:
    sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../.." if "/" in __file__ else "../..")
except NameError:
    pass  # run on a board (mpremote run): k5 is frozen into the firmware

from k5 import user as k  # noqa: E402
from k5.abi import RIGHT_READ, RIGHT_WRITE, RIGHT_GRANT_REPLY  # noqa: E402
from k5.system import System  # noqa: E402

EP = 1


def client(ipc, rounds):
    for i in range(rounds):
        err = yield k.call(EP, 1, (i, i * i), "ping")
        yield k.puts(
            "reply err=%d label=%d words=%s data=%s"
            % (err, ipc.label, ipc.word_tuple(), ipc.payload())
        )
    yield k.puts("done")


def server(ipc, arg):
    yield k.recv(EP)
    while True:
        yield k.puts(
            "request badge=%d words=%s data=%s" % (ipc.badge, ipc.word_tuple(), ipc.payload())
        )
        total = ipc.words[0] + ipc.words[1]
        yield k.reply_recv(EP, 2, (total,), b"pong")


system = System(trace=print, debug=True)
ep = system.endpoint("ep")
c = system.task("client", client, priority=10, arg=3)
s = system.task("server", server, priority=20)
system.give(c, EP, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY, badge=7)
system.give(s, EP, ep, RIGHT_READ)
print("result", system.run(1000))
system.ps()
