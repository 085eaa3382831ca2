"""On the board: faulting tasks are stopped and reported; the others keep running."""

import _k5attack  # raw native loads and stores (machine.mem32 in a task reaches its windows only)

from k5.system import System

# The test replaces STATE_CTX with the address of mp_state_ctx (from the image's symbols).
STATE_CTX = 0
KERNEL_RAM = 0  # and this with an address in the kernel's private RAM


def hog(ipc, arg):
    while True:
        pass


def recurse(ipc, arg):
    def down(n):
        return down(n + 1) + 1

    down(0)


def overflow(ipc, arg):
    # Switch MicroPython's own recursion check off (the task's stack_limit, in the per-thread
    # state it may write), so that only PSPLIM stops the recursion.
    _k5attack.write(STATE_CTX + 4, 0x7FFFFFFF)

    def down(n):
        return down(n + 1) + 1

    down(0)


def read_kernel(ipc, address):
    return _k5attack.read(address)


def write_stack(ipc, address):
    _k5attack.write(address, 0)


system = System()
h = system.task("hog", hog, priority=5)
system.run(20)
hog_stack = system.stats(h)[4]
cpu_before = system.task_dicts()[0]["cpu"]
system.task("recurse", recurse, priority=10)
system.task("overflow", overflow, priority=10)
system.task("readkernel", read_kernel, priority=10, arg=KERNEL_RAM)
system.task("writestack", write_stack, priority=10, arg=hog_stack + 256)
system.run(100)
print("hogstack", hog_stack)
for info in system.task_dicts():
    print("fault", info["name"], info["state"], info["faults"], repr(info["last_fault"]))
print("hogcpu", cpu_before, system.task_dicts()[0]["cpu"])
system.close()
