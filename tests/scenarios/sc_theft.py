"""Scenario: a thief answers a donation chain's Replies out of turn; the SC stays on the chain."""

import sys

try:
    sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../.." if "/" in __file__ else "../..")
except NameError:
    pass  # run on a board (mpremote run): k5 is frozen into the firmware

import k5  # noqa: E402
from k5.abi import RIGHT_GRANT_REPLY, RIGHT_READ, RIGHT_WRITE  # noqa: E402
from k5.system import System  # noqa: E402


def client(ipc, arg):
    k5.puts("client call err=%d" % k5.call(1, 0, (1,)))
    for i in range(5):
        k5.puts("client runs %d" % i)
        k5.spin(2)


def server_x(ipc, arg):
    k5.recv(1, reply=3)
    k5.puts("x calls y")
    k5.puts("x call err=%d" % k5.call(2, 0, (2,)))
    while True:
        k5.spin(1)


def server_y(ipc, arg):
    k5.recv(1, reply=3)
    k5.signal(2)
    k5.spin(4)
    k5.puts("y done")
    k5.reply(0, (4,), reply=3)


def thief(ipc, arg):
    k5.wait(1)
    k5.puts("thief answers the client err=%d" % k5.reply(0, (66,), reply=2))
    k5.puts("thief answers x err=%d" % k5.reply(0, (67,), reply=3))


system = System(trace=print, debug=True)
ep_x = system.endpoint("ep_x")
ep_y = system.endpoint("ep_y")
bell = system.notification("bell")
rx = system.reply("rx")
ry = system.reply("ry")
c = system.task("client", client, priority=10, budget=20, period=40)
x = system.task("x", server_x, priority=20, passive=True)
y = system.task("y", server_y, priority=21, passive=True)
t = system.task("thief", thief, priority=30, budget=5, period=40)
system.give(c, 1, ep_x, RIGHT_WRITE | RIGHT_GRANT_REPLY)
system.give(x, 1, ep_x, RIGHT_READ)
system.give(x, 2, ep_y, RIGHT_WRITE | RIGHT_GRANT_REPLY)
system.give(x, 3, rx)
system.give(y, 1, ep_y, RIGHT_READ)
system.give(y, 2, bell, RIGHT_WRITE)
system.give(y, 3, ry)
system.give(t, 1, bell, RIGHT_READ)
system.give(t, 2, rx)
system.give(t, 3, ry)
print("result", system.run(200))
print("has SC: client", system.info(c)["has_sc"], "x", system.info(x)["has_sc"])
print("consumed client", system.info(c.sc)["total"])
system.ps(show_caps=False)
