"""On the board: a task holds the whole heap; the kernel goes on and others see why."""

# The hog allocates until MemoryError and keeps it all: every byte of the shared heap a task can
# reach. Meanwhile the prober's syscalls run on requests it built before (so that it allocates
# nothing itself): those whose decoding copies a payload (a list of words, a bytearray, a str)
# work too, because the kernel copies into the heap's reserve, which no task reaches
# (K5_HEAP_RESERVE); a call reaches its server, which is a task and cannot allocate its reply.
# Then the hog lets go, and everything has memory again. (The REPL's heap is its own: the hog
# never reaches it.)

import gc

import k5
from k5 import front
from k5.abi import NO_SLOT, RIGHT_GRANT, RIGHT_GRANT_REPLY, RIGHT_READ, RIGHT_WRITE
from k5.abi import SYS_CALL, SYS_NBSEND, SYS_SEND, SYS_SIGNAL, SYS_SLEEP, SYS_WAIT
from k5.system import System

EP, SRV, GO, RELEASE, DONE, CAPS, BACK = 1, 2, 3, 4, 5, 6, 7


def hog(ipc, arg):
    go = (SYS_SIGNAL, GO)
    wait = (SYS_WAIT, RELEASE)
    hoard = None
    count = 0
    for size in (4096, 1024, 256, 64, 16, 1):
        try:
            while True:
                hoard = (hoard, bytearray(size))  # a chain: no list to grow
                count += 1
        except MemoryError:
            pass
    k5.trap(go)
    k5.trap(wait)
    size = count
    hoard = None
    gc.collect()
    print("hog held", size)


def server(ipc, arg):
    k5.recv(SRV)
    while True:
        k5.reply_recv(SRV, 0, (ipc.words[0] + 1,))


def prober(ipc, arg):
    requests = (
        (SYS_NBSEND, EP, 0, [1, 2], None, NO_SLOT),  # a list: copied
        (SYS_NBSEND, EP, 0, (), bytearray(b"x" * 64), NO_SLOT),  # a bytearray: copied
        (SYS_NBSEND, EP, 0, (), "text", NO_SLOT),  # a str: encoded
        (SYS_NBSEND, EP, 0, (1, 2), b"bytes", NO_SLOT),  # nothing to copy
        (SYS_CALL, SRV, 0, (41,), None, NO_SLOT, NO_SLOT),  # an IPC round trip
        (SYS_SEND, 99, 0, (), None, NO_SLOT),  # an empty slot
    )
    results = [None] * len(requests)
    # A cap to a receiver waiting for one: the kernel needs memory for the receiver's new
    # cap; without, the message goes without it (the rendezvous is never left half done).
    give = (SYS_NBSEND, CAPS, 7, (8,), None, GO)
    wait = (SYS_WAIT, GO)
    release = (SYS_SIGNAL, RELEASE)
    pause = (SYS_SLEEP, 5)
    k5.trap(wait)
    for i in range(len(requests)):
        results[i] = k5.trap(requests[i])
    reply = ipc.words[0]
    given = k5.trap(give)
    k5.trap(release)
    k5.trap(pause)  # the hog lets go
    k5.signal(BACK)
    print("results", results, "reply", reply)
    print("give", given)
    print("free", gc.mem_free() > 20000)
    k5.signal(DONE)


def taker(ipc, arg):
    # Waits for a message with a cap before the heap fills; prints once it has memory again.
    back = (SYS_WAIT, BACK)
    result = k5.recv(CAPS, 9)
    label, word, cap = ipc.label, ipc.words[0], ipc.cap
    k5.trap(back)
    print("taker", result, label, word, cap)


start = front.heap()[0]  # the kernel's heap, free
system = System()
ep = system.endpoint("ep")
srv = system.endpoint("srv")
go = system.notification("go")
release = system.notification("release")
done = system.notification("done")
h = system.task("hog", hog, priority=10)
p = system.task("prober", prober, priority=20)
s = system.task("server", server, priority=30)
caps = system.endpoint("caps")
back = system.notification("back")
t = system.task("taker", taker, priority=40)
system.give(t, CAPS, caps, RIGHT_READ)
system.give(t, BACK, back)
system.give(p, BACK, back)
system.give(p, CAPS, caps, RIGHT_WRITE | RIGHT_GRANT)
system.give(h, GO, go)
system.give(h, RELEASE, release)
system.give(p, GO, go)
system.give(p, RELEASE, release)
system.give(p, EP, ep, RIGHT_WRITE)
system.give(p, SRV, srv, RIGHT_WRITE | RIGHT_GRANT_REPLY)
system.give(p, DONE, done)
system.give(s, SRV, srv, RIGHT_READ)
k5.wait(done.slot)
system.run(20)
for info in system.task_dicts():
    print("task", info["name"], info["state"], info["faults"], info["last_fault"])
system.close()
print("done", front.heap()[0] > start - 2048)  # all back but the kernel's caches
