"""On the board: 1,000 faults injected into a task at random instructions; the VM stays sound."""

# The victim works the VM's shared structures without pause: dict inserts, attribute names
# interned as qstrs, string formatting, list growth, raised and caught exceptions, bytearrays.
# SysTick faults it at random ticks (MACHINE_FAULT_INJECT) wherever it is, inside an
# allocation, a dict insert or the GC's lock included; its supervisor restarts it after every
# fault. Meanwhile a client/server pair exchanges messages. Afterwards: a full collection, a
# walk over the interned names, fresh allocations, and the pair's and the REPL's health.

import gc

import _k5arch
import k5
from k5 import front
from k5.abi import FAULT_EXCEPTION, MACHINE_FAULT_INJECT, RIGHT_GRANT_REPLY, RIGHT_READ
from k5.abi import RIGHT_WRITE, RIGHTS_ALL
from k5.system import System

FAULTS = 0  # injected faults (< 1024), replaced by the test
PAIR, CAP, DONE = 1, 3, 5


def victim(ipc, arg):
    class Box:  # the task's own class (one of the script's would not be shared)
        pass

    table = {}
    box = Box()
    items = []
    n = 0
    while True:
        n += 1
        key = "k%d" % (n % 97)
        table[key] = [n, key * 2]
        setattr(box, "a%d" % (n % 31), n)
        items.append(bytearray(n % 64))
        if len(items) > 40:
            items = items[20:]
        try:
            raise ValueError("v%d" % n)
        except ValueError as exc:
            table[str(exc)] = exc
        if len(table) > 100:  # (150 until session 18: the kernel's heap is 80 KB since)
            table = {}


def supervisor(ipc, limit):
    faults = 0
    classes = {}
    while faults < limit:
        k5.recv(CAP)
        if ipc.label != FAULT_EXCEPTION:
            break
        faults += 1
        text = ipc.payload().decode()
        kind = text.split(" ")[0]
        classes[kind] = classes.get(kind, 0) + 1
        k5.tcb_restart(CAP + 1)
    print("supervised", faults, sorted(classes.items()))
    k5.signal(DONE)


def server(ipc, arg):
    k5.recv(PAIR)
    while True:
        k5.reply_recv(PAIR, 0, (ipc.words[0] + 1,))


def client(ipc, arg):
    n = 0
    while True:
        k5.call(PAIR, 0, (n,))
        n = ipc.words[0]


system = System()
pair = system.endpoint("pair")
faults = system.endpoint("faults")
done = system.notification("done")
s = system.task("server", server, priority=20)
c = system.task("client", client, priority=20)
system.give(s, PAIR, pair, RIGHT_READ)
system.give(c, PAIR, pair, RIGHT_WRITE | RIGHT_GRANT_REPLY)
v = system.task("victim", victim, priority=20)
sup = system.task("supervisor", supervisor, priority=40, arg=FAULTS)
system.give(sup, CAP, faults, RIGHT_READ)
system.give(sup, CAP + 1, v, RIGHTS_ALL)
system.give(sup, DONE, done)
system.fault_handler(v, faults)
traps = system.stats(c)[3]
_k5arch.machine(MACHINE_FAULT_INJECT, system.stats(v)[4] | FAULTS)
k5.wait(done.slot)
_k5arch.machine(MACHINE_FAULT_INJECT, 0)
print("pair traps", system.stats(c)[3] - traps)
info = [t for t in system.task_dicts() if t["name"] in ("client", "server")]
print("pair", [(t["name"], t["state"], t["faults"]) for t in info])
system.close()
# The kernel's heap (where the victim ran) is collected after the faults; the REPL's, its own.
print("kernel heap", front.heap())
gc.collect()
print("heap", gc.mem_free())
names = dir(system) + dir(gc) + dir(k5)
print("names", len(names), all(type(n) is str for n in names))
blocks = [bytearray(256) for _ in range(64)]
print("alloc", sum(len(b) for b in blocks))
blocks = None
gc.collect()
print("done")
