"""The IPC fast path equals the general path: random traces with it on and off."""

import pytest

import k5
from k5 import abi as A
from k5 import introspect, ipc
from k5.system import System

STEPS = 60


class Rng:
    """A small LCG, so that the task bodies are deterministic and independent of `random`."""

    def __init__(self, seed):
        self.state = seed * 2654435761 % 2**32 or 1

    def next(self, n):
        self.state = (self.state * 1103515245 + 12345) % 2**31
        return (self.state >> 8) % n


def words(rng):
    count = rng.next(10)  # 9 words is one too many
    if rng.next(12) == 0:
        return [1, 2]  # a list: the general path's business
    return tuple(rng.next(2**20) - 2**19 for _ in range(count))


def maybe_odd(rng, good):
    pick = rng.next(14)
    if pick == 0:
        return "x"
    if pick == 1:
        return 2**31
    if pick == 2:
        return rng.next(6)
    return good


def client_body(log, index):
    def body(ipc_buffer, seed):
        rng = Rng(seed)
        for _ in range(STEPS):
            kind = rng.next(10)
            if kind < 7:
                request = (
                    A.SYS_CALL,
                    maybe_odd(rng, 1 + rng.next(2)),
                    maybe_odd(rng, rng.next(50)),
                    words(rng),
                    b"d" if rng.next(10) == 0 else None,
                    maybe_odd(rng, -1),
                    maybe_odd(rng, -1),
                )
            elif kind == 7:
                request = (A.SYS_SEND, 2, 3, words(rng), None, -1)
            elif kind == 8:
                request = (A.SYS_YIELD,)
            else:
                k5.spin(rng.next(4))
                continue
            result = k5.trap(request)
            log.append(
                (
                    index,
                    result,
                    ipc_buffer.label,
                    ipc_buffer.badge,
                    ipc_buffer.word_tuple(),
                    ipc_buffer.source,
                    ipc_buffer.cap,
                )
            )

    return body


def server_body(log, index, chain=False):
    def body(ipc_buffer, seed):
        rng = Rng(seed)
        log.append((index, "recv", k5.recv(1)))
        while True:
            # A passive server only answers with reply_recv: a plain reply or a recv would
            # give its donated SC back and leave it without one.
            kind = rng.next(12) if index == 1 else rng.next(8) + rng.next(2) * 11
            if chain and rng.next(3) == 0:
                kind = 11
            if kind < 8:
                request = (
                    A.SYS_REPLY_RECV,
                    maybe_odd(rng, 1),
                    maybe_odd(rng, rng.next(50)),
                    words(rng),
                    b"r" if rng.next(12) == 0 else None,
                    maybe_odd(rng, -1),
                    maybe_odd(rng, -1),
                )
            elif kind == 8:
                request = (A.SYS_REPLY, -1, 5, words(rng), None, -1)
            elif kind == 9:
                request = (A.SYS_RECV, 1, -1)
            elif kind == 10:
                request = (A.SYS_NBRECV, 1, -1)
            elif kind == 11 and chain:
                # On to a second passive server: the donated SC goes one step up the chain.
                request = (A.SYS_CALL, 2, 7, words(rng), None, -1, -1)
            else:
                k5.spin(1 + rng.next(3))
                continue
            result = k5.trap(request)
            log.append(
                (index, result, ipc_buffer.label, ipc_buffer.badge, ipc_buffer.word_tuple())
            )

    return body


def meddler_body(log):
    # Holds the clients' TCB caps and restarts one now and then: a client blocked at the bottom
    # of a chain leaves it, and its SC comes back when the chain above unwinds.
    def body(ipc_buffer, seed):
        rng = Rng(seed)
        while True:
            k5.sleep(5 + rng.next(40))
            log.append(("meddler", k5.tcb_restart(1 + rng.next(3))))

    return body


def run_trace(seed, fast, counts=None, chain=False):
    log = []
    out = []
    system = System(debug=True, console=out.append)
    handlers = system.kernel.handlers
    if not fast:
        handlers[A.SYS_CALL] = ipc.sys_send
        handlers[A.SYS_REPLY_RECV] = ipc.sys_reply_recv
    elif counts is not None:
        for sysno in (A.SYS_CALL, A.SYS_REPLY_RECV):
            handlers[sysno] = counting(handlers[sysno], counts, "fast")
    rng = Rng(seed)
    ep1 = system.endpoint("ep1")
    ep2 = system.endpoint("ep2")
    passive = system.task(
        "passive", server_body(log, 0, chain), priority=20, passive=True, arg=seed * 7 + 1
    )
    active = system.task(
        "active",
        server_body(log, 1),
        priority=8 + rng.next(14),
        budget=2 + rng.next(3),
        period=6,
        arg=seed * 7 + 2,
    )
    system.give(passive, 1, ep1, A.RIGHT_READ)
    system.give(active, 1, ep2, A.RIGHT_READ)
    clients = []
    for i in range(3):
        priority = (5, 10, 10, 15, 20)[rng.next(5)]
        budget = 1 + rng.next(4)
        period = budget + rng.next(6)
        client = system.task(
            "c%d" % i,
            client_body(log, 2 + i),
            priority=priority,
            budget=budget,
            period=period,
            arg=seed * 7 + 3 + i,
        )
        rights = A.RIGHTS_ALL if rng.next(4) else A.RIGHT_WRITE
        system.give(client, 1, ep1, rights, badge=i + 1)
        system.give(client, 2, ep2, A.RIGHT_WRITE | A.RIGHT_GRANT_REPLY, badge=10 + i)
        clients.append(client)
    if chain:
        ep3 = system.endpoint("ep3")
        second = system.task(
            "passive2", server_body(log, 5), priority=25, passive=True, arg=seed * 7 + 6
        )
        system.give(second, 1, ep3, A.RIGHT_READ)
        system.give(passive, 2, ep3, A.RIGHT_WRITE | A.RIGHT_GRANT_REPLY, badge=30)
        meddler = system.task("meddler", meddler_body(log), priority=30, arg=seed * 7 + 7)
        for i in range(3):
            system.give(meddler, 1 + i, clients[i])
    result = system.run(600)
    introspect.ps(system.kernel, out.append)
    outcome = (result, system.kernel.traps, system.now(), log, out)
    system.close()
    return outcome


def counting(function, counts, key):
    def wrapper(*args):
        counts[key] = counts.get(key, 0) + 1
        return function(*args)

    return wrapper


@pytest.mark.parametrize("seed", range(40))
def test_fast_path_equals_general_path(seed):
    from k5 import fastpath

    counts = {}
    fastpath.slow_send = counting(ipc.sys_send, counts, "general")
    fastpath.slow_reply_recv = counting(ipc.sys_reply_recv, counts, "general")
    try:
        fast = run_trace(seed, True, counts)
    finally:
        fastpath.slow_send = ipc.sys_send
        fastpath.slow_reply_recv = ipc.sys_reply_recv
    slow = run_trace(seed, False)
    assert fast == slow
    assert fast[1] > 200  # the trace did something
    # Both paths were exercised: some calls and reply_recvs took the fast path, some not.
    assert counts["fast"] - counts["general"] >= 5 and counts["general"] >= 5


@pytest.mark.parametrize("seed", range(20))
def test_fast_path_equals_general_path_along_a_chain(seed):
    # A passive server calls a second one (the SC's call stack two deep) while a meddler
    # restarts clients at the bottom of chains: the fast paths take the head of an unbroken
    # chain and leave the rest to the general path, with equal results.
    from k5 import fastpath

    counts = {}
    fastpath.slow_send = counting(ipc.sys_send, counts, "general")
    fastpath.slow_reply_recv = counting(ipc.sys_reply_recv, counts, "general")
    try:
        fast = run_trace(seed, True, counts, chain=True)
    finally:
        fastpath.slow_send = ipc.sys_send
        fastpath.slow_reply_recv = ipc.sys_reply_recv
    slow = run_trace(seed, False, chain=True)
    assert fast == slow
    assert fast[1] > 50
    assert counts["fast"] >= 5 and counts["general"] >= 5


def test_chain_traces_reach_the_second_server():
    served = 0
    for seed in range(10):
        log = run_trace(seed, True, chain=True)[3]
        served += sum(1 for entry in log if entry[0] == 5 and entry[1] != "recv")
    assert served >= 10


def test_fast_path_is_taken():
    # Counted through the general path's entry points: the round trip never reaches them.
    calls = []
    original_send = ipc.sys_send
    original_reply_recv = ipc.sys_reply_recv

    def client(ipc_buffer, arg):
        for i in range(5):
            k5.call(1, 1, (i,))

    def server(ipc_buffer, arg):
        k5.recv(1)
        while True:
            k5.reply_recv(1, 2, (ipc_buffer.words[0] + 1,))

    system = System()
    handlers = system.kernel.handlers
    fast_call = handlers[A.SYS_CALL]
    fast_reply_recv = handlers[A.SYS_REPLY_RECV]
    assert fast_call is not original_send and fast_reply_recv is not original_reply_recv
    ep = system.endpoint("ep")
    system.task("client", client, priority=10)
    system.task("server", server, priority=20, passive=True)
    system.give(system.tasks[0], 1, ep)
    system.give(system.tasks[1], 1, ep, A.RIGHT_READ)
    from k5 import fastpath

    fastpath.slow_send = lambda *args: calls.append("send") or original_send(*args)
    fastpath.slow_reply_recv = lambda *args: calls.append("rr") or original_reply_recv(*args)
    try:
        system.run(200)
    finally:
        fastpath.slow_send = original_send
        fastpath.slow_reply_recv = original_reply_recv
        system.close()
    # Only the server's first reply_recv (nobody to reply to, a caller may be queued) and
    # nothing else may take the general path.
    assert calls.count("send") == 0
    assert calls.count("rr") <= 1
