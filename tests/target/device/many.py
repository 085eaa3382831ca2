"""On the board: 16 tasks of the default stack size, blocked, with the kernel's heap left."""

import gc

import k5
from k5 import front
from k5.abi import RIGHT_READ
from k5.system import System

EP = 1


def sleeper(ipc, arg):
    k5.recv(EP)


system = System()
ep = system.endpoint("ep")
for i in range(16):
    t = system.task("t%d" % i, sleeper, priority=10)
    system.give(t, EP, ep, RIGHT_READ)
system.run(100)
states = [info["state"] for info in system.task_dicts()]
# The kernel's heap holds the 16 tasks (their namespaces and what they keep) and the kernel's
# objects for them; the REPL's heap is its own.
gc.collect()
print("states", states.count("recv"), len(states))
print("heap", front.heap()[0])
print("repl heap", gc.mem_free())
print("arena", front.arena())
