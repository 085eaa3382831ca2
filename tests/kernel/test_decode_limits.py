"""Decode-limits fuzzer: every syscall with arguments at and around each limit."""

# A hostile task makes seeded random syscalls whose arguments sit at and around every limit the
# kernel has (0, -1, TIME_MAX +- 1, 2**29 +- 1, 2**30 +- 1, 2**31, huge ints, bools, None,
# other types) beside valid cap slots, so that decoding reaches every check. The kernel runs in
# debug mode: its invariants (k5/invariants.py, the whole sleep and release queues' order
# included) are asserted after every trap, and any exception in it is a KernelPanic here.
# Meanwhile a victim at a lower priority sleeps again and again: each sleep must end on time,
# late by no more than the hostile task's budget, and the hostile task gets no more than its
# share. A request that blocks the hostile task for good (a far sleep, a recv nobody answers)
# is ended from outside by a restart; it then goes on with the next request.

import random

import pytest

import k5
from k5 import abi, thread
from k5.system import System
from k5.ticks import TICKS_PERIOD, TIME_MAX, ticks_diff

LIMITS = (
    0,
    1,
    -1,
    -2,
    TIME_MAX - 1,
    TIME_MAX,
    TIME_MAX + 1,
    2**29 - 2,
    2**29 - 1,
    2**29,
    2**29 + 1,
    2**29 + 64,
    2**30 - 64,
    2**30 - 2,
    2**30 - 1,
    2**30,
    2**30 + 1,
    2**31 - 1,
    2**31,
    -(2**30),
    -(2**30) - 1,
    -(2**31),
    2**63,
    -(2**64),
    2**200,
    True,
    False,
    None,
    0.5,
    "x",
    b"x",
    bytearray(3),
    (),
    (1,),
    (2**30,),
    [1],
)
SLOTS = 12  # the hostile task's caps: slots 0..11 (see _caps)
HOSTILE_BUDGET = 2
HOSTILE_PERIOD = 10
VICTIM_SLEEP = 5
CHUNK = 40  # ticks between the driver's looks at the hostile task


# Requests shaped as each syscall expects (S: a cap slot, mostly valid; V: any value), so that
# the values reach the range checks after the arity and slot checks; the times most often.
S = "slot"
V = "value"
SHAPES = (
    (abi.SYS_SLEEP, V),
    (abi.SYS_SLEEP, V),
    (abi.SYS_SET_TIMER, S, V),
    (abi.SYS_SET_TIMER, 1, V),
    (abi.SYS_SET_TIMER, 11, V),
    (abi.SYS_SC_CONFIGURE, S, S, V, V, V),
    (abi.SYS_SC_CONFIGURE, 4, 5, V, V, V),
    (abi.SYS_SC_CONFIGURE, 4, 5, 1, V, 4),
    (abi.SYS_SC_BIND, S, S),
    (abi.SYS_SC_UNBIND, S),
    (abi.SYS_SC_CONSUMED, S),
    (abi.SYS_TCB_SET_PRIORITY, S, V),
    (abi.SYS_TCB_SET_MCP, S, V),
    (abi.SYS_TCB_RESUME, S),
    (abi.SYS_TCB_SUSPEND, S),
    (abi.SYS_TCB_RESTART, S),
    (abi.SYS_TCB_INFO, S),
    (abi.SYS_TCB_BIND_NOTIFICATION, S, S),
    (abi.SYS_TCB_SET_HANDLER, S, V, S),
    (abi.SYS_CNODE_COPY, S, S, V),
    (abi.SYS_CNODE_MINT, S, S, V, V),
    (abi.SYS_CNODE_MUTATE, S, S, V),
    (abi.SYS_CNODE_IDENTIFY, S),
    (abi.SYS_SIGNAL, S),
    (abi.SYS_POLL, S),
    (abi.SYS_WAIT, S),
    (abi.SYS_NBRECV, S, V),
    (abi.SYS_NBSEND, S, V, (V, V), None, V),
    (abi.SYS_UNTYPED_RETYPE, S, V, S, V),
    (abi.SYS_IRQ_SET_NOTIFICATION, S, S, V),
    (abi.SYS_IRQ_ACK, S),
    (abi.SYS_WINDOW_INFO, S),
    (abi.SYS_DEBUG_PUTS, V),
    (abi.SYS_SPIN, V),
)


def _value(rng):
    if rng.random() < 0.55:
        return rng.choice(LIMITS)
    return rng.randrange(-1, SLOTS + 1)


def _words(rng):
    return tuple(_value(rng) for _ in range(rng.randrange(0, abi.MSG_MAX_WORDS + 2)))


def _shaped(rng, kind):
    if kind == S:
        return rng.randrange(0, SLOTS) if rng.random() < 0.9 else _value(rng)
    if kind == V:
        return rng.choice(LIMITS) if rng.random() < 0.7 else rng.randrange(-1, 17)
    if type(kind) is tuple:
        return tuple(_shaped(rng, item) for item in kind)
    return kind


def _request(rng):
    if rng.random() < 0.5:
        return tuple(_shaped(rng, kind) for kind in rng.choice(SHAPES))
    sysno = rng.randrange(0, abi.SYS_COUNT + 1)
    if sysno == abi.SYS_EXIT:
        sysno = abi.SYS_NOW
    if rng.random() < 0.3 and sysno in (
        abi.SYS_SEND,
        abi.SYS_NBSEND,
        abi.SYS_CALL,
        abi.SYS_REPLY_RECV,
        abi.SYS_NBSEND_RECV,
    ):
        # The IPC layout (slot, label, words, data, cap, recv slot): limits inside the words.
        data = rng.choice((None, b"", b"p" * rng.choice((1, abi.MSG_MAX_BYTES, 129)), "s"))
        request = [sysno, rng.randrange(0, SLOTS), _value(rng), _words(rng), data, _value(rng)]
        request += [_value(rng) for _ in range(rng.randrange(0, 3))]
        return tuple(request)
    return tuple([sysno] + [_value(rng) for _ in range(rng.randrange(0, 7))])


def _caps(system):
    # A cap of every type, so that a slot number in a request reaches the decoding of every
    # invocation: (slot, ref) for the hostile task.
    other = system.task("other", lambda ipc, arg: None, priority=3, start=False)
    return (
        (0, system.endpoint("ep")),
        (1, system.notification("n")),
        (2, other),
        (3, system.untyped("quota", 4)),
        (4, system.sched_control()),
        (5, system.sched_context("spare", 5, 10)),
        (6, system.reply("reply")),
        (7, system.window("w", 0x40000000, 0x400)),
        (8, system.irq("irq", 3)),
        (9, system.irq_control()),
        (10, system.endpoint("ep2")),
        (11, system.notification("n2")),
    )


@pytest.mark.parametrize("seed, start_time", ((1, 0), (2, TICKS_PERIOD - 3000), (3, 2**29 - 77)))
def test_syscalls_at_their_limits_break_no_invariant_and_starve_no_one(seed, start_time):
    rng = random.Random(seed)
    requests = [_request(rng) for _ in range(3000)]
    position = [0]
    results = []
    woke = []

    def hostile(ipc, arg):
        while position[0] < len(requests):
            request = requests[position[0]]
            position[0] += 1
            result = k5.trap(request)
            results.append((request, result))

    def victim(ipc, arg):
        while True:
            start = system.now()
            err = k5.sleep(VICTIM_SLEEP)
            woke.append((err, ticks_diff(system.now(), start)))

    system = System(debug=True, start_time=start_time)
    # mcp 4: whatever it does to `other` (priority 3), nothing of it outranks the victim.
    h = system.task(
        "hostile",
        hostile,
        priority=10,
        mcp=4,
        budget=HOSTILE_BUDGET,
        period=HOSTILE_PERIOD,
        slots=16,
    )
    v = system.task("victim", victim, priority=8)
    caps = _caps(system)
    ticks = 0
    stuck = 0
    last = -1
    while position[0] < len(requests):
        for slot, ref in caps:
            if h.tcb.cspace.slots[slot] is None:
                system.give(h, slot, ref)  # deleted, moved or revoked: back for coverage
        system.run(CHUNK)
        ticks += CHUNK
        assert not system.kernel.halted, system.kernel.epitaph
        if position[0] == last:
            stuck += 1
            if stuck >= 2:
                # Blocked for good (or spinning for ever): end its request from outside.
                thread.restart(system.kernel, h.tcb)
                stuck = 0
        else:
            stuck = 0
        last = position[0]
    hostile_used = h.sc.obj.total
    victim_used = v.sc.obj.total
    system.close()
    # Every result a syscall returned is an error code (or a builder-style tuple), never junk.
    for request, result in results:
        assert type(result) is int and 0 <= result < abi.ERR_COUNT, (request, result)
    # The decoding reached past the type checks: every error code a limit can cause came back.
    codes = set(result for _, result in results)
    assert {abi.OK, abi.ERR_INVALID_ARGUMENT, abi.ERR_RANGE, abi.ERR_INVALID_SYSCALL} <= codes
    # No one starved: the victim's sleeps ended on time all along...
    late = [took - VICTIM_SLEEP for err, took in woke]
    assert len(woke) >= ticks // (VICTIM_SLEEP + HOSTILE_BUDGET + 2) - 2, (len(woke), ticks)
    assert max(late) <= HOSTILE_BUDGET + 2, max(late)
    # ... and the hostile task took no more than its budget in each period.
    assert hostile_used <= HOSTILE_BUDGET * (ticks // HOSTILE_PERIOD + 2)
    assert victim_used > 0
