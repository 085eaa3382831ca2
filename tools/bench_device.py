"""On-target benchmark: instructions per operation on the emulated Cortex-M33 (mpremote run)."""

# Runs on MPS2_AN505 under QEMU with `-icount shift=0`, where CMSDK Timer0 ticks once per 50
# instructions and every run is exactly repeatable. Cost per operation = (T(2N) - T(N)) * 50 / N,
# which cancels set-up and timer-read overhead. Prints one "name instructions" line per
# measurement; tools/bench.py collects them into a table.

import gc

import asyncio
import machine
from k5 import user as k
from k5.abi import RIGHT_GRANT_REPLY, RIGHT_READ, RIGHT_WRITE
from k5.system import System

_TIMER = 0x50000000  # CMSDK Timer0: CTRL +0, VALUE +4, RELOAD +8
_START = 0x3FFFFFFF  # largest small int: timer reads never allocate
_INSTRUCTIONS_PER_TICK = 50


def timer_start():
    mem = machine.mem32
    mem[_TIMER] = 0
    mem[_TIMER + 8] = _START
    mem[_TIMER + 4] = _START
    mem[_TIMER] = 1


def timer_ticks():
    return _START - machine.mem32[_TIMER + 4]


def measure(run, n):
    gc.collect()
    timer_start()
    run(n)
    return timer_ticks()


def per_op(run, n):
    return (measure(run, 2 * n) - measure(run, n)) * _INSTRUCTIONS_PER_TICK // n


def plain_call(n):
    def f():
        pass

    for _ in range(n):
        f()


def generator_ping_pong(n):
    def ping():
        value = 0
        while True:
            value = yield value

    a = ping()
    b = ping()
    next(a)
    next(b)
    value = 0
    for _ in range(n):
        value = a.send(value)
        value = b.send(value)


def asyncio_event_ping_pong(n):
    async def side(mine, theirs, rounds):
        for _ in range(rounds):
            theirs.set()
            await mine.wait()
            mine.clear()

    async def main():
        a = asyncio.Event()
        b = asyncio.Event()
        t = asyncio.create_task(side(a, b, n))
        await side(b, a, n)
        await t

    asyncio.run(main())


EP = 1


def _client(ipc, rounds):
    for i in range(rounds):
        yield k.call(EP, 1, (i,))


def _server(ipc, arg):
    yield k.recv(EP)
    while True:
        yield k.reply_recv(EP, 2, (ipc.words[0],))


# The same exchange with each request built once (the wrappers return plain request tuples): what
# remains is the kernel's own cost, without the task's per-call allocations.
_CALL = k.call(EP, 1, (5,))
_RECV = k.recv(EP)
_REPLY_RECV = k.reply_recv(EP, 2, (6,))


def _client_prebuilt(ipc, rounds):
    for _ in range(rounds):
        yield _CALL


def _server_prebuilt(ipc, arg):
    yield _RECV
    while True:
        yield _REPLY_RECV


def _ipc(n, client, server):
    system = System()
    ep = system.endpoint("ep")
    c = system.task("client", client, priority=10, arg=n, budget=1 << 29, period=1 << 29)
    s = system.task("server", server, priority=20, passive=True)
    system.give(c, EP, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY)
    system.give(s, EP, ep, RIGHT_READ)
    system.run()


def k5_call_reply_recv(n):
    _ipc(n, _client, _server)


def k5_call_reply_recv_prebuilt(n):
    _ipc(n, _client_prebuilt, _server_prebuilt)


for name, run, n in (
    ("plain_call", plain_call, 2000),
    ("generator_ping_pong", generator_ping_pong, 1000),
    ("asyncio_event_ping_pong", asyncio_event_ping_pong, 200),
    ("k5_call_reply_recv", k5_call_reply_recv, 200),
    ("k5_call_reply_recv_prebuilt", k5_call_reply_recv_prebuilt, 200),
):
    print(name, per_op(run, n))
