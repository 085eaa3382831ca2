"""Generation badges never come round again: 128 restarts of the owner (the badge's 7 bits)
do not make a stale badge good, and the generation itself never wraps."""

import k5
from k5 import abi as A
from k5.system import System

EP, SERVER, FRESH = 1, 2, 3
ROUNDS = A.BADGE_GEN_MASK + 1  # 128 restarts: the badge's bits are those of generation 0


def gen_badge(generation, low=9):
    return A.BADGE_GEN_FLAG | ((generation & A.BADGE_GEN_MASK) << A.BADGE_GEN_SHIFT) | low


def server(ipc, arg):
    k5.recv(EP)
    while True:
        k5.reply_recv(EP, 0, (ipc.badge,))


def run(rounds):
    log = []

    def client(ipc, arg):
        log.append(k5.call(EP, 0, (1,)))  # generation 0: good
        for _ in range(rounds):
            k5.tcb_restart(SERVER)
        k5.sleep(2)  # the server waits in recv again
        k5.tcb_info(SERVER)
        log.append(ipc.words[3])
        log.append(k5.call(EP, 0, (2,)))  # the badge of generation 0
        log.append(k5.copy(EP, 10, A.RIGHTS_ALL))
        log.append(k5.call(10, 0, (3,)))  # a copy made now: still generation 0's
        # A badge minted now, from an unbadged cap, names the current generation.
        log.append(k5.mint(FRESH, 11, A.RIGHTS_ALL, gen_badge(rounds)))
        log.append(k5.call(11, 0, (4,)))
        # One minted for the next generation is good only after one more restart.
        log.append(k5.mint(FRESH, 12, A.RIGHTS_ALL, gen_badge(rounds + 1)))
        log.append(k5.call(12, 0, (5,)))
        k5.tcb_restart(SERVER)
        k5.sleep(2)
        log.append(k5.call(12, 0, (6,)))
        log.append(k5.call(11, 0, (7,)))

    system = System(debug=True)
    ep = system.endpoint("ep")
    s = system.task("server", server, priority=20)
    system.set_owner(ep, s)
    c = system.task("client", client, priority=10, mcp=30)
    system.give(s, EP, ep, A.RIGHT_READ)
    system.give(c, EP, ep, A.RIGHT_WRITE | A.RIGHT_GRANT_REPLY, gen_badge(0))
    system.give(c, SERVER, s)
    system.give(c, FRESH, ep, A.RIGHT_WRITE | A.RIGHT_GRANT_REPLY)
    system.run(5000)
    system.close()
    return log


def test_a_stale_badge_stays_stale_after_the_generation_bits_come_round():
    log = run(ROUNDS)
    assert log == [
        A.OK,
        ROUNDS,
        A.ERR_STALE,
        A.OK,
        A.ERR_STALE,
        A.OK,
        A.OK,
        A.OK,
        A.ERR_STALE,
        A.OK,
        A.ERR_STALE,
    ]


def test_one_restart_short_of_it_the_badge_is_stale_too():
    log = run(ROUNDS - 1)
    assert log[:3] == [A.OK, ROUNDS - 1, A.ERR_STALE]


def test_the_generation_never_wraps():
    with System() as system:
        task = system.task("t", server, priority=10, start=False)
        tcb = task.obj
        tcb.generation = A.WORD_LIMIT - 1
        system.kernel.restart(tcb)
        assert tcb.generation == A.WORD_LIMIT  # not 0: generation 0's badges stay stale
