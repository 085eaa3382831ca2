"""On the board: 10,000 call/reply_recv round trips leak no memory."""

import gc

import k5
from k5.abi import RIGHT_GRANT_REPLY, RIGHT_READ, RIGHT_WRITE
from k5.system import System

EP = 1
DONE = 2
ROUNDS = 10000


def client(ipc, rounds):
    for i in range(rounds):
        k5.call(EP, 1, (i,))
        if i == 100 or i == rounds - 1:
            gc.collect()
            print("free", i, gc.mem_free())
    k5.signal(DONE)
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
done = system.notification("done")
system.give(c, DONE, done)
# The REPL (the root task) holds the original cap of `done` in its own CSpace: it waits there,
# in the kernel, so that nothing of its own runs (or allocates) while the client measures.
k5.wait(done.slot)
system.run()
print("done", system.task_dicts()[0]["state"])
system.close()
