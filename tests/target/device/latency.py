"""On the board: a task woken by a notification preempts a spinning lower-priority task."""

import time

import k5
from k5.abi import RIGHT_READ, RIGHT_WRITE
from k5.system import System

NTFN = 1


def spinner(ipc, arg):
    while True:
        pass


def signaller(ipc, rounds):
    for _ in range(rounds):
        time.sleep_ms(7)
        sent = time.ticks_us()
        k5.signal(NTFN)
        print("signal", sent)
    k5.exit()


def waiter(ipc, arg):
    while True:
        k5.wait(NTFN)
        print("woke", time.ticks_us())


system = System()
ntfn = system.notification("n")
system.task("spinner", spinner, priority=10)
s = system.task("signaller", signaller, priority=30, arg=5)
w = system.task("waiter", waiter, priority=20)
system.give(s, NTFN, ntfn, RIGHT_WRITE)
system.give(w, NTFN, ntfn, RIGHT_READ)
system.run(60)
for info in system.task_dicts():
    print("task", info["name"], info["state"], info["cpu"])
system.close()
