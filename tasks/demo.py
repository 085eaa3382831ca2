"""Demo: real K5 tasks: a client and a passive server, a hog, a faulting worker, its supervisor."""

# On the board every task below is Python running unprivileged on its own stack, confined by the
# MPU and preempted by the kernel; the kernel itself runs in the REPL's thread for run(ticks).

import machine

import k5
from k5.abi import RIGHT_GRANT_REPLY, RIGHT_READ, RIGHT_WRITE, RIGHTS_ALL
from k5.system import System

EP = 1
FAULTS = 1
WORKER = 2
TIMER0 = 0x50000000  # a peripheral no task has a capability for


def client(ipc, rounds):
    for i in range(rounds):
        err = k5.call(EP, 1, (i, i * i), b"ping")
        print("call %d -> err=%d sum=%d %s" % (i, err, ipc.words[0], ipc.payload()))


def server(ipc, arg):
    k5.recv(EP)
    while True:
        print("request from badge %d: %s" % (ipc.badge, ipc.word_tuple()))
        k5.reply_recv(EP, 2, (ipc.words[0] + ipc.words[1],), b"pong")


def hog(ipc, arg):
    while True:
        pass


def worker(ipc, arg):
    print("worker up, touching the timer it has no capability for")
    machine.mem32[TIMER0]


def supervisor(ipc, arg):
    for restart in range(2):
        k5.recv(FAULTS)
        print("fault of task %d: %s" % (ipc.words[0], ipc.payload().decode()))
        if restart == 0:
            print("restarting it, err=%d" % k5.tcb_restart(WORKER))
    print("leaving it stopped")


system = System()
ep = system.endpoint("ep")
faults = system.endpoint("faults")
c = system.task("client", client, priority=10, arg=3, budget=20, period=100)
s = system.task("server", server, priority=20, passive=True)
system.task("hog", hog, priority=5)
w = system.task("worker", worker, priority=15)
sup = system.task("supervisor", supervisor, priority=30)
system.give(c, EP, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY, badge=7)
system.give(s, EP, ep, RIGHT_READ)
system.give(sup, FAULTS, faults, RIGHT_READ)
system.give(sup, WORKER, w, RIGHTS_ALL)
system.fault_handler(w, faults, badge=1)
system.run(500)
system.ps(show_caps=False)
