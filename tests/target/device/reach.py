"""On the board: everything a task reaches, walked; no kernel object, nothing shared mutable."""

# Two tasks run the same body from this script, and the root walks its own globals. Each walk
# follows every reference Python can take from its roots (the body's globals, sys.modules, the
# modules and builtins, the IPC buffer, arg, exceptions and sys.exc_info(), types, attributes,
# container items) and prints one line per mutable object it reached ("m <name> <id> <type>")
# and per instance of a kernel class ("k <name> <type>"). The test intersects the sets: no
# mutable object may be reached by two of them (sys.modules is one dict object of the VM's
# whose contents are each task's own), and no one may reach a kernel object.

import sys

import _k5attack
import k5
from k5.abi import RIGHT_READ, RIGHT_WRITE
from k5.system import System

EP = 1
SECRET = [1, 2, 3]  # the root's: the tasks get a stand-in that refuses to be used
TABLE = {"a": 1}
LIMIT = 4


class Mine:
    pass


THING = Mine()
IMMUTABLE = ("x", 2, b"y")

# The k5 modules whose objects a task or the root holds (the rest are the kernel's).
_USER = ("k5.front", "k5.ipcbuf", "k5.user", "k5.root", "k5.supervisor", "k5.arch", "k5.abi")
# Immutable values (shared) and the walk's own bookkeeping are not reported.
_IMMUTABLE = (str, bytes, int, float, bool, type(None), tuple, frozenset, range)
_MUTABLE = (list, dict, set, bytearray)
_LEAVES = (str, bytes, int, float, bool, type(None))
# The references an object gives besides its items: its attributes, a function's globals, a
# bound method's parts, a class's bases, an exception's arguments.
_HIDDEN = ("__dict__", "__globals__", "__self__", "__func__", "__class__", "__bases__", "args")


def helper(n):
    return n * LIMIT


# The kernel's heap (_heap_start, _heap_end: the test gives them). A walk marks each object of
# it has seen in a bitmap of the heap's 16-byte blocks (about 650 bytes), and others in RAM in
# a set: a set of every id would need one table of about 8 KB in the kernel's 80 KB heap, which
# its fragments need not have.
HEAP_LO = 0
HEAP_HI = 0
RAM_LO = 0  # the RAM's first address (_k5_vmram_start): below it, flash


def _mark(bits, others, key):
    """Whether key was not seen before; it is from now on. (A function: a task gets the
    script's functions, never its classes.)"""
    if HEAP_LO <= key < HEAP_HI:
        block = (key - HEAP_LO) >> 4
        bit = 1 << (block & 7)
        if bits[block >> 3] & bit:
            return False
        bits[block >> 3] |= bit
        return True
    if key in others:
        return False
    others.add(key)
    return True


def walk(who, roots, own):
    """Print what `roots` reach (but the objects in `own`, the walker's own)."""
    bits = bytearray((HEAP_HI - HEAP_LO) // 128 + 1)
    others = set()
    for item in own:
        _mark(bits, others, id(item))
    stack = [[]]  # a stack in chunks of at most 128 items (_put, _take): no one big list
    for item in roots:
        _put(stack, item)
    kernel_classes = set()
    user_classes = set()
    # The types of the instances reached (their classes' modules may be walked later): a set of
    # type ids, not a list of every instance, keeps the walk's memory small.
    instance_types = {}
    lent = set()
    for item in (bits, others, stack, kernel_classes, user_classes, instance_types, lent):
        _mark(bits, others, id(item))
    count = 0
    while len(stack) > 1 or stack[0]:
        obj = _take(stack)
        kind = type(obj)
        if kind in _LEAVES:
            # Met again and again (every name in every dict), and they reach only their type,
            # which the builtins module reaches: counted, not remembered, which keeps the
            # walk's set small in the shared heap.
            count += 1
            continue
        key = id(obj)
        if key < RAM_LO:
            # In flash: MicroPython's own objects, frozen, and all they reach is in flash too.
            # Counted, not remembered (there are about as many as in RAM).
            count += 1
            continue
        if not _mark(bits, others, key):
            continue
        count += 1
        _put(stack, kind)
        if kind in _IMMUTABLE:
            if kind is tuple or kind is frozenset:
                count += _push(stack, obj)
            continue
        if kind.__name__ == "Unshared":
            continue  # a stand-in for a mutable global (k5/image.py): it refuses every use
        if kind is list or kind is set:
            count += _push(stack, obj)
        elif kind is dict:
            count += _push(stack, obj) + _push(stack, obj.values())
        elif kind is type(sys):  # a module
            name = getattr(obj, "__name__", "")
            if name.startswith("k5."):
                lent.add(name)
            if name.startswith("k5.") and name not in _USER:
                for value in obj.__dict__.values():
                    if type(value) is type:
                        kernel_classes.add(id(value))
            elif name in _USER:
                for value in obj.__dict__.values():
                    if type(value) is type:
                        user_classes.add(id(value))
        if kind in _MUTABLE or kind is type(sys) or hasattr(obj, "__dict__"):
            if kind is dict and _k5attack.fixed(obj):
                pass  # frozen: immutable
            elif kind is type(sys) and _k5attack.fixed(obj.__dict__):
                pass
            elif kind is type and _frozen_class(obj):
                pass
            else:
                print("m", who, key, kind.__name__)
        if kind is not dict and kind is not list and kind is not set:
            if obj is not own[0]:
                instance_types[id(kind)] = kind.__name__
            for name in _HIDDEN:
                try:
                    _put(stack, getattr(obj, name))
                except Exception:  # not there
                    pass
        if kind.__name__ in ("Context", "Arch"):
            print("k", who, kind.__name__)
    for key in instance_types:
        if key in kernel_classes and key not in user_classes:
            print("k", who, instance_types[key])
    print("modules", who, id(sys.modules))
    print("walked", who, count, len(lent))


def _push(stack, items):
    """Push the items that are not leaves; the number of leaves (counted, never stacked: the
    stack stays small in the shared heap)."""
    leaves = 0
    for item in items:
        if type(item) in _LEAVES:
            leaves += 1
        else:
            _put(stack, item)
    return leaves


def _put(stack, item):
    top = stack[-1]
    if len(top) >= 128:
        top = []
        stack.append(top)
    top.append(item)


def _take(stack):
    top = stack[-1]
    item = top.pop()
    if not top and len(stack) > 1:
        stack.pop()
    return item


def _frozen_class(cls):
    try:
        return _k5attack.fixed(cls.__dict__)
    except (AttributeError, TypeError):
        return False


def body(ipc, arg):
    roots = [ipc, arg, globals(), sys.modules, sys.path, sys, k5]
    import builtins

    roots.append(builtins)
    roots.append(__import__("__main__"))
    try:
        1 // 0
    except ZeroDivisionError as exc:
        roots.append(exc)
        roots.append(sys.exc_info())
    try:
        SECRET.append(4)
    except NameError as exc:
        roots.append(exc)
        print("refused", type(exc).__name__)
    roots.append(k5.nbsend(EP, 1, (helper(2),), b"hello"))
    print("helper", helper(arg))
    walk(arg, roots, (ipc, roots))
    k5.recv(EP)


system = System()
ep = system.endpoint("ep")
# A (priority 20) walks before B (10) runs, and the root after both: one walk's bookkeeping in
# the heap at a time, so that no walk's memory depends on how the others were interleaved.
for name, priority in (("A", 20), ("B", 10)):
    t = system.task("walk" + name, body, priority=priority, arg=ord(name))
    system.give(t, EP, ep, RIGHT_READ | RIGHT_WRITE)
for _ in range(60):  # until both have walked and wait in recv
    system.run(1000)
    if [t["state"] for t in system.task_dicts()].count("recv") == 2:
        break
walk(0, [globals(), sys.modules, sys.path, sys, k5], (None,))
print("root", SECRET, TABLE, LIMIT)
