"""The workload of `k5 profile` by default: IPC round trips (call + reply_recv), on the board."""

import k5
from k5.abi import RIGHT_GRANT_REPLY, RIGHT_READ, RIGHT_WRITE
from k5.system import System
from k5.ticks import TIME_MAX

EP = 1
DONE = 2
ROUNDS = 20000


def client(ipc, rounds):
    for i in range(rounds):
        k5.call(EP, 1, (i,))
    k5.signal(DONE)


def server(ipc, arg):
    k5.recv(EP)
    while True:
        k5.reply_recv(EP, 2, (ipc.words[0],))


system = System()
ep = system.endpoint("ep")
c = system.task("client", client, priority=10, arg=ROUNDS, budget=TIME_MAX, period=TIME_MAX)
s = system.task("server", server, priority=20, passive=True)
system.give(c, EP, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY)
system.give(s, EP, ep, RIGHT_READ)
done = system.notification("done")
system.give(c, DONE, done)
print("profile-start")
system.start()
k5.wait(done.slot)
print("profile-end")
system.close()
