# The three ways the device kernel can take call and reply_recv (the C fast path, the Python
# fast path, the general path) on the same random traces: tests/target/test_native_code.py
# requires the same output from each. Budgets are far longer than a run, so what happens
# depends on the syscalls alone, not on how fast the kernel is (see `long`).
import time

import k5
from k5 import abi as A
from k5.system import System
from k5.ticks import TIME_MAX

SEEDS = 0
STEPS = 40
MODES = ("native", "python", "general")
NAMES = ("p", "q", "a", "c0", "c1", "c2")


def step(s):
    return (s * 1103515245 + 12345) & 0x3FFFFFFF


def pick(s, n):
    return (s >> 8) % n


def message(s):
    # A label, words (9 is one too many) and sometimes something the fast paths do not take.
    s = step(s)
    label = pick(s, 50)
    s = step(s)
    count = pick(s, 10)
    words = []
    for _ in range(count):
        s = step(s)
        words.append(pick(s, 1 << 20) - (1 << 19))
    words = tuple(words)
    s = step(s)
    odd = pick(s, 16)
    if odd == 0:
        label = "x"
    elif odd == 1:
        label = 1 << 31
    elif odd == 2:
        words = [1, 2]
    return s, odd, label, words


def digest(words):
    # The words received, in a number short enough that a task's line stays one console line.
    d = len(words)
    for w in words:
        d = (d * 31 + w) & 0xFFFFFF
    return d


def say(*words):
    # A line on the console that never lets another task of the trace run first: print waits
    # a tick in the task's own time when the console's ring is full, and who runs in that tick
    # depends on how fast the host reads. This one keeps the CPU and tries again (the ring
    # drains from the UART's interrupt), so the order of the syscalls depends on the syscalls
    # alone. It waits on the clock between tries (a trap served in C): each refused line is a
    # string the kernel made in its heap, and thousands of them fragmented it.
    line = " ".join(str(w) for w in words)
    while k5.puts(line) == A.ERR_WOULD_BLOCK:
        start = time.ticks_us()
        while time.ticks_diff(time.ticks_us(), start) < 500:
            pass


def client(ipc, seed):
    s = seed
    for n in range(STEPS):
        s = step(s)
        kind = pick(s, 10)
        if kind < 7:
            s = step(s)
            ep = 1 + pick(s, 2)
            s, odd, label, words = message(s)
            data = b"d" if odd == 3 else None
            cap = 4 if odd == 4 else -1
            if odd == 5:
                ep = 9
            request = (A.SYS_CALL, ep, label, words, data, cap, -1)
        elif kind < 9:
            request = (A.SYS_SEND, 2, 3, (n,), None, -1)
        else:
            request = (A.SYS_YIELD,)
        result = k5.trap(request)
        say(n, result, ipc.label, ipc.badge, digest(ipc.word_tuple()), ipc.source, ipc.cap)


def server(ipc, arg):
    s = arg >> 1
    passive = arg & 1
    # p (s a multiple of 7) sometimes calls q, a second passive server, before it answers:
    # the donated SC goes one step up its call stack and comes back with q's reply_recv.
    chains = passive and s % 7 == 0
    say("recv", k5.recv(1))
    n = 0
    while True:
        s = step(s)
        # A passive server answers only with reply_recv: a plain reply or a recv would give
        # its donated SC back and leave it without one.
        kind = pick(s, 8) if passive else pick(s, 12)
        if chains and kind == 7:
            request = (A.SYS_CALL, 3, 7, (n,), None, -1, -1)
        elif kind < 8:
            s, odd, label, words = message(s)
            data = b"r" if odd == 3 else None
            slot = 7 if odd == 5 else 1
            request = (A.SYS_REPLY_RECV, slot, label, words, data, -1, -1)
        elif kind == 8:
            request = (A.SYS_REPLY, -1, 5, (n,), None, -1)
        elif kind == 9:
            request = (A.SYS_RECV, 1, -1)
        elif kind == 10:
            request = (A.SYS_NBRECV, 1, -1)
        else:
            request = (A.SYS_YIELD,)
        result = k5.trap(request)
        say(n, result, ipc.label, ipc.badge, digest(ipc.word_tuple()), ipc.source)
        n += 1


def trace(seed, mode):
    s = step(seed + 1)
    system = System()
    previous = system.fast_path(mode)
    print("trace", seed, mode, "after", previous)
    ep1 = system.endpoint("ep1")
    ep2 = system.endpoint("ep2")
    # Round-robin SCs (budget == period) with a time slice longer than the run: a sporadic SC
    # would split its budget into refills as its thread blocks, and when to refill depends on
    # how fast the kernel is.
    # The passive servers too, for their start (until their first recv): a time slice that
    # ended during it would hand the CPU to a client at a point set by time, and the console's
    # interrupts (paced by the host that reads it) move that point.
    long = {"budget": TIME_MAX, "period": TIME_MAX}
    passive = system.task(
        "p", server, priority=20, passive=True, arg=seed * 14 + 1, start=False, **long
    )
    s = step(s)
    active = system.task(
        "a", server, priority=8 + pick(s, 14), arg=seed * 14 + 2, start=False, **long
    )
    second = system.task(
        "q", server, priority=25, passive=True, arg=seed * 14 + 9, start=False, **long
    )
    ep3 = system.endpoint("ep3")
    system.give(passive, 1, ep1, A.RIGHT_READ)
    system.give(passive, 3, ep3, A.RIGHT_WRITE | A.RIGHT_GRANT_REPLY, badge=30)
    system.give(second, 1, ep3, A.RIGHT_READ)
    system.give(active, 1, ep2, A.RIGHT_READ)
    for i in range(3):
        s = step(s)
        priority = (5, 10, 10, 15, 20)[pick(s, 5)]
        # The clients run interpreters of their own: six tasks' code unpacked into the kernel's
        # 90 KB heap left it without a free block of 1.5 KB for the last client's now and then.
        c = system.task(
            "c%d" % i,
            client,
            priority=priority,
            arg=seed * 14 + 4 + i,
            start=False,
            heap=8192,
            **long,
        )
        s = step(s)
        rights = A.RIGHTS_ALL if pick(s, 4) else A.RIGHT_WRITE
        system.give(c, 1, ep1, rights, badge=i + 1)
        system.give(c, 2, ep2, A.RIGHT_WRITE | A.RIGHT_GRANT_REPLY, badge=10 + i)
    system.start()
    # The tasks start (each unpacks its code in the kernel's heap) before the REPL first asks
    # the kernel for its tasks (an answer the kernel makes in that heap too).
    time.sleep_ms(100)
    # Until every task has finished or waits for good (a client can be left waiting for a
    # reply its server will only give when another call comes: the traces are random). No task
    # here sleeps but one whose print waits for room in the console's transmit ring (the host
    # reads it at its own pace): that one has not finished.
    while any(t["state"] in ("running", "sleep") for t in k5.tasks() if t["name"] in NAMES):
        time.sleep_ms(20)
    tasks = [t for t in k5.tasks() if t["name"] in NAMES]
    print("states", " ".join(t["name"] + ":" + t["state"] for t in tasks))
    for t in tasks:
        if t["state"] == "faulted":
            print("fault of", t["name"], "-", t["last_fault"])
    system.close()
    print("end", seed, mode)


for seed in range(SEEDS):
    for mode in MODES:
        trace(seed, mode)
system = System()
print("mode at the end", system.fast_path("native"))
system.close()
