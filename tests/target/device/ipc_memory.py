"""On the board: 10,000 call/reply_recv round trips leak no memory."""

import gc

import k5
from k5.abi import RIGHT_GRANT_REPLY, RIGHT_READ, RIGHT_WRITE, STATE_EXITED
from k5.system import System

EP = 1
ROUNDS = 10000


def client(ipc, rounds):
    for i in range(rounds):
        k5.call(EP, 1, (i,))
        if i == 100 or i == rounds - 1:
            gc.collect()
            print("free", i, gc.mem_free())
    k5.exit()


def server(ipc, arg):
    k5.recv(EP)
    while True:
        k5.reply_recv(EP, 2, (ipc.words[0] + 1,))


system = System()
ep = system.endpoint("ep")
c = system.task("client", client, priority=10, arg=ROUNDS)
s = system.task("server", server, priority=20)
system.give(c, EP, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY)
system.give(s, EP, ep, RIGHT_READ)
while c.obj.state != STATE_EXITED:
    system.run(1000)
print("done", system.task_dicts()[0]["state"])
system.close()
