"""On the board: tasks with interpreters of their own (spawned with a heap)."""

# Each part prints one line the test reads. A task with a heap of its own gets its body and arg
# as an image (k5/image.py) and makes its interpreter on its own heap; everything it reaches is
# its own, and the kernel hands it numbers and raw bytes only.

import gc
import marshal
import time

import _k5arch

import k5
from k5 import front
from k5.abi import RIGHT_GRANT_REPLY, RIGHT_READ, RIGHT_WRITE
from k5.system import System

HEAP = 16384
EP, DONE = 1, 2
SCALE = 3  # a global the server's code uses: it travels in the image by value
GREETING = "pong"


def helper(n):  # (parts 1 and 2 use it)
    return n * 2


def server(ipc, arg):
    k5.recv(EP)
    while True:
        reply = (ipc.words[0] * SCALE + arg,)
        k5.reply_recv(EP, 0, reply, GREETING.encode() + bytes(ipc.payload()))


def client(ipc, arg):
    got = []
    for i in range(arg):
        err = k5.call(EP, 7, (i,), b"!" * (i + 1))
        got.append((err, ipc.words[0], bytes(ipc.payload())))
    print("client", got[0], got[-1], len(got))
    k5.signal(DONE)


def settle(system, task, ticks=2000):
    """Runs the system until `task` has ended (at most `ticks` ticks)."""
    for _ in range(ticks // 50):
        system.run(50)
        if system.info(task)["state"] in ("exited", "faulted"):
            return


def fault(system, name):
    return [t for t in system.task_dicts() if t["name"] == name][0]["last_fault"]


def pair(server_heap, client_heap, rounds):
    system = System()
    ep = system.endpoint("ep")
    done = system.notification("done")
    s = system.task("server", server, priority=20, arg=1, heap=server_heap)
    c = system.task("client", client, priority=20, arg=rounds, heap=client_heap, start=False)
    system.give(s, EP, ep, RIGHT_READ)
    system.give(c, EP, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY)
    system.give(c, DONE, done)
    system.start(c)
    settle(system, c)
    states = (system.info(s)["state"], system.info(c)["state"])
    faults = (fault(system, "server"), fault(system, "client"))
    # The walker (native/k5arch): words in each block that name the kernel's heap or another
    # task's block (None for a task in the kernel's interpreter).
    walk = (system.stats(s)[5:], system.stats(c)[5:])
    system.close()
    print("walk", walk)
    print("pair", server_heap is not None, client_heap is not None, states, faults)


# === part 1 ===
# (The test runs the prelude above with each part in turn, each on a fresh board: the REPL's
# 72 KB heap of its own holds one part's compiled code at a time.)

# --- IPC between interpreters ------------------------------------------------------------------
pair(HEAP, HEAP, 20)
pair(None, HEAP, 5)
pair(HEAP, None, 5)


# --- The walker sees a raw word that names the kernel's heap (its control) -------------------


def keeper(ipc, addresses):
    import struct

    kept = bytearray(4 * len(addresses))
    for i in range(len(addresses)):
        struct.pack_into("<I", kept, 4 * i, addresses[i])  # raw words, as crafted code would
    k5.sleep(1000)


KERNEL_HEAP = 0  # the kernel's heap's first word (_heap_start: the test gives it)
system = System()
mine = bytearray(16)  # the REPL's: in its own block of the arena, another task's to the keeper
words = (id(mine), id(mine) + 4, KERNEL_HEAP, KERNEL_HEAP + 64, KERNEL_HEAP + 128)
k = system.task("keeper", keeper, priority=20, arg=words, heap=HEAP)
system.run(50)
print("control", system.stats(k)[5:])
system.close()


# --- Its heap is its own: running out harms only it; what it interned dies with it -------------


def hoarder(ipc, arg):
    hoard = None
    try:
        while True:
            hoard = (hoard, bytearray(256))
    except MemoryError:
        pass
    hoard = None
    # Names interned in its own pools, never freed while it lives.
    for i in range(arg):
        "name_%d" % i  # noqa: B018 (a str object)
        _ = ("q%d" % i).encode()
    raise MemoryError("hoarded")


before = front.heap()[0]
for round_ in range(3):
    system = System()
    ep = system.endpoint("ep")
    # (The pair in the kernel's interpreter: three heaps of 16 KB and the REPL's stack would
    # not fit the arena.)
    h = system.task("hoarder", hoarder, priority=20, arg=2000, heap=HEAP)
    s = system.task("server", server, priority=20, arg=1)
    done = system.notification("done")
    c = system.task("client", client, priority=20, arg=3, start=False)
    system.give(s, EP, ep, RIGHT_READ)
    system.give(c, EP, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY)
    system.give(c, DONE, done)
    system.run(50)
    system.start(c)
    settle(system, c)
    print("hoarder", round_, system.info(h)["state"], fault(system, "hoarder"))
    system.close()
print("kernel heap", before, front.heap()[0])


# --- The smallest heap that imports k5 and calls ---------------------------------------------


def smallest():
    for heap in range(1024, 12289, 256):
        system = System()
        ep = system.endpoint("ep")
        done = system.notification("done")
        s = system.task("server", server, priority=20, arg=1, heap=HEAP)
        c = system.task("client", client, priority=20, arg=1, heap=heap, start=False)
        system.give(s, EP, ep, RIGHT_READ)
        system.give(c, EP, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY)
        system.give(c, DONE, done)
        system.start(c)
        system.run(200)
        state = system.info(c)["state"]
        system.close()
        if state == "exited":
            return heap
    return None


print("smallest heap", smallest())


# --- Its body's rules: plain values, modules, functions; anything else a stand-in ---------------

TABLE = [1, 2, 3]  # mutable: the spawner's alone


def rules(ipc, arg):
    try:
        TABLE.append(4)
        table = "shared"
    except NameError as exc:
        table = str(exc)[:40]
    print("rules", helper(arg), gc.mem_free() < HEAP, table)


system = System()
t = system.task("rules", rules, priority=20, arg=21, heap=HEAP)
system.run(50)
print("rules state", system.info(t)["state"], fault(system, "rules"))
system.close()

# --- Nested code travels: functions, lambdas, comprehensions, classes inside the body ----------

SCALE = 3


def nested(ipc, arg):
    def triple(n):
        return n * SCALE

    class Box:
        def __init__(self, v):
            self.v = v

        def get(self):
            return triple(self.v)

    squares = [i * i for i in range(arg)]
    odd = list(filter(lambda n: n % 2, squares))
    gen = sum(Box(n).get() for n in range(arg))
    print("nested", squares, odd, gen, {k: triple(k) for k in range(2)})


system = System()
t = system.task("nested", nested, priority=20, arg=4, heap=HEAP)
system.run(50)
print("nested state", system.info(t)["state"], fault(system, "nested"))
system.close()

# --- A closure with default arguments: its cells' values and defaults travel too ----------------


def twice(n):
    return n * 2


def make_closure(base, seen):
    def body(ipc, arg, scale=10, *, extra=(twice, 1), log=seen):
        try:
            log.append(1)
            logged = "shared"
        except NameError:
            logged = "stand-in"
        print("closure", base + arg * scale, extra[0](extra[1]), logged, inner())

    def inner():
        return base

    return body


system = System()
t = system.task("closure", make_closure(100, [1]), priority=20, arg=4, heap=HEAP)
system.run(50)
print("closure state", system.info(t)["state"], fault(system, "closure"))
system.close()
# A function is made only with the defaults its code expects: the VM reads them unchecked.

code = marshal.loads(marshal.dumps(lambda a, b=5: a + b))
for parts in ((None, None, None), ((1, 2), None, None), ((7,), {}, None), ((7,), None, None)):
    try:
        print("make_fun", _k5arch.make_fun(code, globals(), *parts)(1))
    except ValueError as exc:
        print("make_fun", exc)
# Cells: a tuple, never another object read as one.
for cells in ([1, 2], tuple(range(256))):
    try:
        _k5arch.make_fun(code, globals(), (7,), None, cells)
        print("make_fun cells accepted")
    except TypeError as exc:
        print("make_fun", exc)

# === part 2 ===

# --- A restart is a fresh interpreter: nothing of the last run's state is left ------------------
from k5 import supervisor  # noqa: E402


def restarted(ipc, arg):
    import builtins

    print("restarted", "stale" if hasattr(builtins, "k5_marker") else "fresh")
    builtins.k5_marker = True  # in this interpreter's builtins: gone with it
    raise ValueError("again")


system = System()
t = system.task("restarted", restarted, priority=20, heap=HEAP)
supervisor.supervise(system, [(t, supervisor.BACKOFF, 1, 4, 0)])
time.sleep_ms(300)
print("restarted generation", system.info(t)["generation"])
system.close()

# --- The user API in flash (native/k5arch/user.c): Python's binding rules ---------------------


def bindings(ipc, arg):
    import k5.user

    out = [repr(k5.call), k5.user is k5.user, k5.yield_(), k5.now(ipc) >= 0]
    for call in (lambda: k5.call(), lambda: k5.signal(1, 2), lambda: k5.send(1, bogus=2)):
        try:
            call()
            out.append("accepted")
        except TypeError as exc:
            out.append(str(exc))
    # Keywords in any order, a default cut from the request (reply=NO_SLOT) or not.
    out.append(k5.send(data=b"x", slot=7, label=1))
    out.append((k5.nbrecv(7, reply=-1), k5.nbrecv(7, reply=3), k5.poll(slot=7)))
    for item in out:
        print("bindings", item)


system = System()
t = system.task("bindings", bindings, priority=20, heap=HEAP)
system.run(50)
print("bindings state", system.info(t)["state"])
system.close()

# --- marshal (native/k5arch/code.c): nested code, tables past 128 entries, refusals -------------

ftype = type(helper)
source = "def big():\n" + "".join("    n%d = %d\n" % (i, i) for i in range(300))
source += "    return " + " + ".join("n%d" % i for i in range(0, 300, 7)) + "\n"
source += "".join("c%d = %d.5\n" % (i, i) for i in range(200))
source += "def late():\n    return [c199 + k for k in (1, 2)], 'tail'\n"
space = {}
exec(source, space)
for name in ("big", "late"):
    fun = space[name]
    print("marshal", name, ftype(marshal.loads(marshal.dumps(fun)), space)() == fun())
print("marshal code", ftype(marshal.loads(marshal.dumps(helper.__code__)), {})(5))
for what in (type, 1, k5.spawn):
    try:
        marshal.dumps(what)
        print("marshal refused nothing")
    except ValueError as exc:
        print("marshal refused", exc)

# --- the REPL's side of the builder, in an interpreter of its own -------------------------------


def builder_side(ipc, arg):
    # What k5.system and k5.root (k5.spawn, k5.tasks) import: none of the kernel's modules, so
    # that a REPL with an interpreter of its own will not load the kernel's Python into its heap.
    import sys

    gc.collect()
    before = gc.mem_alloc()
    from k5 import root, system  # noqa: F401

    gc.collect()
    for name in sorted(k for k in sys.modules if k.startswith("k5")):
        print("builder side", name)  # (a task's line is cut at 64 bytes: one name a line)
    print("builder side heap", gc.mem_alloc() - before)


system = System()
t = system.task("side", builder_side, priority=20, heap=HEAP)
system.run(50)
print("side state", system.info(t)["state"], fault(system, "side"))
system.close()

# --- a task's image, unpacked in C (native/k5arch/image.c) as k5/image.py packs it -------------
from k5 import image  # noqa: E402

unpacked = 0
for arg in (
    None,
    (),
    ((),),
    (1, -2, 2**40, -(2**70), 1.5, -0.0, float("inf"), "h\u00e9", b"\x00\xff", True, False),
    (((((((1,),),),),),),),
    tuple(range(300)),
    (("rounds", 6), ("name", "x" * 200), ("deep", (1, (2, (3, ()))))),
):
    body, back = _k5arch.unpack(image.pack(helper, arg))
    if back != arg or repr(back) != repr(arg) or body(3) != helper(3):
        print("image differs", repr(arg)[:60], repr(back)[:60])
    unpacked += 1
print("image unpacked", unpacked)
good = image.pack(helper, (1, 2))
damaged = (
    b"",
    b"K5I\x02" + good[4:],
    good[:-1],
    good + b"\x00",
    good[:4] + b"\x07\xff\xff\xff\xff\x0f",
    good[:4] + b"\x07\x80\x80\x80\x80\x80\x01",
    good[:4] + b"\x00",
    good[:4] + b"\x07\x00" + b"\x07\x01" * 9 + b"\x00" + b"\x00",
    good[:4] + b"\x07\x00\x0c\x00",
    good[:4] + b"\x07\x00\x05\x02\xff\xfe\x00",
    good[:4] + b"\x07\x00\x03\x02x1\x00",
)


def inside(ipc, n=None):
    return n


def functions(levels):
    # An image whose body holds its next function in its default, `levels` of them inside each
    # other (made by hand: the packer stops at 8).
    code = marshal.dumps(inside.__code__)
    size = bytearray()
    n = len(code)
    while n >= 0x80:
        size.append((n & 0x7F) | 0x80)
        n >>= 7
    size.append(n)
    record = b"\x00"
    for _ in range(levels):
        record = b"\x09\x01g" + size + code + b"\x07\x01" + record + b"\x00\x00"
    return good[:4] + b"\x07\x00" + record + b"\x00"


body, back = _k5arch.unpack(functions(8))
depth = 0
while body is not None:
    body = body(None)
    depth += 1
print("image functions", depth)
damaged += (functions(9),)
for bad in damaged:
    try:
        _k5arch.unpack(bad)
        print("image accepted", bad)
    except ValueError as exc:
        print("image refused", str(exc)[:40])


# --- An exception's text made with the heap locked (in the emergency buffer, in the VM state) ---


def locked(ipc, arg):
    import micropython

    micropython.heap_lock()
    try:
        name_nowhere()  # noqa: F821 (the NameError is the point)
    except NameError as exc:
        print("locked", exc)
    micropython.heap_unlock()


system = System()
system.task("locked", locked, priority=20, heap=HEAP)
system.run(50)
system.close()
print("done")
