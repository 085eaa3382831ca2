"""Syscall arguments with dunder methods never run task code on the kernel's thread."""

# The kernel decodes what a task hands it (k5/decode.py): every item of a request is type-checked
# (`type(x) is int`, ...) before it is compared, measured, iterated or converted, so an object
# whose __eq__, __len__, __index__, __iter__ or encode is the task's code cannot make the kernel
# run that code with the kernel's authority. Each request below holds such an object somewhere;
# the dunders record any call made on a thread other than the task's own.

import _thread
import random

import k5
from k5 import abi
from k5.system import System

DUNDERS = (
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__len__", "__iter__",
    "__getitem__", "__index__", "__int__", "__bool__", "__hash__", "__add__", "__radd__",
    "__str__", "__repr__", "__contains__", "__and__", "__rand__", "__or__", "__ror__",
    "__mul__", "__sub__", "__rsub__", "__lshift__", "__rshift__", "__mod__", "__floordiv__",
    "__neg__", "__float__", "__bytes__", "encode", "__call__",
)  # fmt: skip
RESULTS = {"__str__": "evil", "__repr__": "evil", "__bool__": False, "__hash__": 1}


def _hostile_class(hits, task):
    def make(name):
        def method(self, *args):
            if _thread.get_ident() != task[0]:
                hits.append(name)
            if name == "__iter__":
                return iter(())
            return RESULTS.get(name, 0)

        return method

    return type("Hostile", (), {name: make(name) for name in DUNDERS})


def test_no_dunder_of_a_task_runs_in_the_kernel():
    hits = []
    task = [None]
    hostile = _hostile_class(hits, task)()
    plain = [
        0,
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
        10,
        11,
        (),
        (1,),
        None,
        -1,
        b"",
        b"ab",
        bytearray(2),
        "s",
    ]
    done = []

    def body(ipc, arg):
        task[0] = _thread.get_ident()
        rng = random.Random(7)
        for _ in range(20000):
            n = rng.randrange(2, 10)
            request = [rng.randrange(1, abi.SYS_COUNT)] + [rng.choice(plain) for _ in range(n - 1)]
            if request[0] in (abi.SYS_EXIT, abi.SYS_SPIN):
                continue
            request[rng.randrange(1, n)] = hostile
            if rng.random() < 0.3:
                request[rng.randrange(1, n)] = (hostile, 1)
            result = k5.trap(tuple(request))
            assert type(result) is int and 0 <= result < abi.ERR_COUNT, (request, result)
        done.append(True)

    system = System(debug=True)
    t = system.task("hostile", body, priority=10, slots=16)
    other = system.task("other", lambda ipc, arg: None, priority=5, start=False)
    # A cap of every type in slots 0..11 (the plain values name them), so that requests reach
    # the decoding of every invocation.
    system.give(t, 0, system.endpoint("ep"))
    system.give(t, 1, system.notification("n"))
    system.give(t, 2, other)
    system.give(t, 3, system.untyped("quota", 4))
    system.give(t, 4, system.sched_control())
    system.give(t, 5, system.sched_context("sc", 5, 10))
    system.give(t, 6, system.reply("reply"))
    system.give(t, 7, system.window("w", 0x40000000, 0x400))
    system.give(t, 8, system.irq("irq", 3))
    system.give(t, 9, system.irq_control())
    system.give(t, 10, system.endpoint("ep2"), abi.RIGHT_READ)
    system.run(200000)
    system.close()
    assert done == [True]
    # The dunders ran on the task's own thread only (e.g. the assert's repr), never the kernel's.
    assert hits == []
    # The probe works: a comparison made off the task's thread is recorded.
    probe = []
    _ = _hostile_class(probe, [None])() == 0
    assert probe == ["__eq__"]
