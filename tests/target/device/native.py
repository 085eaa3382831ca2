"""On the board: machine code compiled at run time.

The REPL and tasks with an interpreter of their own run @micropython.native and viper code from
an area they may execute but not write (native/k5arch, k5arch_commit_exec); a task in the
kernel's interpreter is refused. (Crafted machine code against the kernel: the attack corpus,
"own machine code".) Prints "native <what> <result>" lines.
"""

import time

import micropython

import k5
from k5 import front
from k5.system import System

HEAP = 16384


@micropython.native
def native_add(x):
    return x + 1


@micropython.viper
def viper_sum(n: int) -> int:
    s = 0
    for i in range(n):
        s += i
    return s


print("native root", native_add(1), viper_sum(100))

SOURCE = (
    "@micropython.native\n"
    "def f(x):\n"
    "    return x * 2\n"
    "@micropython.viper\n"
    "def g(n: int) -> int:\n"
    "    s = 0\n"
    "    for i in range(n):\n"
    "        s += i\n"
    "    return s\n"
    "print('native own', f(21), g(10))\n"
)


def compiled(ipc, arg):
    exec(arg)


def run(name, body, arg, heap=None):
    """Runs body as a task of a system of its own until it ends; prints how it ended."""
    system = System()
    task = system.task(name, body, arg=arg, heap=heap, priority=50)
    system.start()
    for _ in range(200):
        info = [t for t in k5.tasks() if t["tid"] == task.tid][0]
        if info["state"] in ("exited", "faulted"):
            break
        time.sleep_ms(10)
    print("native", name, info["state"], info["last_fault"][:60])
    system.close()


free = front.arena()[0]
run("own", compiled, SOURCE, HEAP)
run("shared", compiled, SOURCE)
# The area of the task's machine code went back to the arena with the task.
print("native arena", front.arena()[0] == free)
print("native alive", native_add(41))
