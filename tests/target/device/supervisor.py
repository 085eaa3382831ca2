"""On the board: the supervisor restarts with back-off, holds, and k5.ps() shows it all."""

import time

import _k5attack

from k5 import supervisor
from k5.supervisor import BACKOFF, HOLD
from k5.system import System


def storm(ipc, arg):
    _k5attack.udf()  # an undefined instruction at once, on every start


def held(ipc, arg):
    _k5attack.read(0x60000000)


system = System()
s = system.task("storm", storm, priority=10)
h = system.task("held", held, priority=10)
supervisor.supervise(system, [(s, BACKOFF, 1, 64, 0), (h, HOLD)])
time.sleep_ms(500)  # (run() would return at once: no task is runnable between restarts)
for info in system.task_dicts():
    print("task", info["name"], info["state"], info["faults"], info["generation"])
system.ps()
system.close()
