"""Donation along a call stack: a chain client -> passive X -> passive Y, and a third task that
holds copies of the Reply caps (or X's TCB cap) and uses them out of turn (issue 22)."""

import pytest

import k5
from k5 import abi as A
from k5.system import System

_RX = 3  # X's named reply (its caller is the client)
_RY = 3  # Y's named reply (its caller is X)


def chain(thief_body, fast_path="python"):
    """The chain, with the thief at the highest priority: (system, log, client_runs, refs)."""
    log = []
    client_runs = [0]

    def client(ipc, arg):
        log.append(("client", k5.call(1, 0, (1,))))
        while True:
            client_runs[0] += 1
            k5.spin(1)

    def server_x(ipc, arg):
        k5.recv(1, reply=_RX)
        log.append(("x called", k5.call(2, 0, (2,))))
        log.append(("x replies", k5.reply(0, (3,), reply=_RX)))
        while True:
            # A server that spins once its call returns: on the client's SC, if it had it.
            k5.spin(1)

    def server_y(ipc, arg):
        k5.recv(1, reply=_RY)
        k5.signal(2)  # the thief runs now
        k5.spin(30)  # Y's honest work, on the donated SC
        log.append("y done")
        log.append(("y replies", k5.reply(0, (4,), reply=_RY)))
        k5.recv(1, reply=_RY)

    system = System(debug=True)
    system.fast_path(fast_path)
    ep_x = system.endpoint("ep_x")
    ep_y = system.endpoint("ep_y")
    n = system.notification("n")
    rx = system.reply("rx")
    ry = system.reply("ry")
    c = system.task("client", client, priority=10, budget=50, period=100)
    x = system.task("x", server_x, priority=20, passive=True)
    y = system.task("y", server_y, priority=20, passive=True)
    t = system.task("thief", thief_body(log), priority=30, budget=5, period=100)
    system.give(c, 1, ep_x)
    system.give(x, 1, ep_x)
    system.give(x, 2, ep_y)
    system.give(x, _RX, rx)
    system.give(y, 1, ep_y)
    system.give(y, 2, n)
    system.give(y, _RY, ry)
    system.give(t, 1, n)
    system.give(t, 2, rx)
    system.give(t, 3, ry)
    system.give(t, 4, x)
    return system, log, client_runs, (c, x, y, t, ry)


def answer_both(log):
    def thief(ipc, arg):
        k5.wait(1)
        log.append(("thief answers the client", k5.reply(0, (66,), reply=2)))
        log.append(("thief answers x", k5.reply(0, (67,), reply=3)))

    return thief


def answer_client(log):
    def thief(ipc, arg):
        k5.wait(1)
        log.append(("thief answers the client", k5.reply(0, (66,), reply=2)))

    return thief


def restart_x(log):
    def thief(ipc, arg):
        k5.wait(1)
        log.append(("thief restarts x", k5.tcb_restart(4)))

    return thief


def suspend_x(log):
    def thief(ipc, arg):
        k5.wait(1)
        log.append(("thief suspends x", k5.tcb_suspend(4)))

    return thief


@pytest.mark.parametrize("fast_path", ["general", "python"])
@pytest.mark.parametrize("thief", [answer_both, restart_x, suspend_x])
def test_a_third_task_cannot_take_the_clients_sc(thief, fast_path):
    system, log, runs, (c, x, y, t, ry) = chain(thief, fast_path)
    system.run(300)
    sc = c.sc.obj
    # The client has its SC back and runs on it; X, which the thief answered or restarted,
    # does not spin on it.
    assert sc.tcb is c.obj and c.obj.sc is sc, (sc.tcb.name if sc.tcb else None, log)
    assert x.obj.sc is None
    before = runs[0]
    system.run(1000)
    assert runs[0] - before >= 400, log  # budget 50 per 100 ticks
    assert sc.tcb is c.obj


@pytest.mark.parametrize("fast_path", ["general", "python"])
def test_an_honest_server_keeps_the_sc_until_it_replies(fast_path):
    # The thief answers the client while Y works for X: Y finishes on the SC; when Y replies,
    # the SC goes back to the client (X's claim came through the answered reply).
    system, log, runs, (c, x, y, t, ry) = chain(answer_client, fast_path)
    system.run(300)
    assert ("thief answers the client", A.OK) in log
    assert ("client", A.OK) in log
    # Y finished and replied (X is answered: the reply is used) and then, on no SC of its own,
    # stopped; so did X.
    assert "y done" in log and ry.obj.caller is None, log
    assert x.obj.state == A.STATE_RUNNING and y.obj.state == A.STATE_RUNNING
    sc = c.sc.obj
    assert sc.tcb is c.obj and x.obj.sc is None and y.obj.sc is None
    before = runs[0]
    system.run(1000)
    assert runs[0] - before >= 400


def test_the_client_waits_while_the_chain_above_it_works():
    # Answered early, the client is runnable but its SC is still out with Y: it runs again
    # only when the chain unwinds, never on a thread outside the chain.
    system, log, runs, (c, x, y, t, ry) = chain(answer_client)
    system.run(12)
    assert ("thief answers the client", A.OK) in log
    assert "y done" not in log
    sc = c.sc.obj
    assert sc.tcb is y.obj and c.obj.sc is None and runs[0] == 0
    # (y heads the SC's call stack; the client's reply, answered, left its bottom, so what
    # lies below x's reply is the client itself, the base.)
    assert c.obj.state == A.STATE_RUNNING and y.obj.sc_reply.caller is x.obj
    assert x.obj.sc_reply is c.obj and c.obj.sc_reply is None


def idle_thief(log):
    def thief(ipc, arg):
        k5.wait(1)

    return thief


def test_the_client_destroyed_mid_chain_leaves_its_sc_to_no_one():
    from k5 import cnode

    system, log, runs, (c, x, y, t, ry) = chain(idle_thief)
    system.run(12)
    sc = c.sc.obj
    assert sc.tcb is y.obj and x.obj.sc_reply.caller is c.obj and c.obj.sc_reply is None
    cnode.delete(system.kernel, c.original)  # its last cap: the client is destroyed
    assert sc.tcb is None and y.obj.sc is None and x.obj.sc is None
    assert y.obj.sc_reply is None and x.obj.sc_reply is None
    system.run(100)  # (the debug invariants hold after every trap)
    assert sc.tcb is None
    system.close()


def test_the_client_suspended_mid_chain_gets_its_sc_when_resumed():
    def suspender(log):
        def thief(ipc, arg):
            k5.wait(1)
            log.append(("suspend", k5.tcb_suspend(5)))
            k5.sleep(60)
            log.append(("resume", k5.tcb_resume(5)))

        return thief

    system, log, runs, (c, x, y, t, ry) = chain(suspender)
    system.give(t, 5, c)
    system.run(40)
    sc = c.sc.obj
    # The suspension took the client's reply off the middle of the call stack: Y kept the SC,
    # finished and replied to X, and the SC came back to the client, which waits inactive.
    assert ("suspend", A.OK) in log and "y done" in log
    assert sc.tcb is c.obj and runs[0] == 0
    system.run(200)
    assert ("resume", A.OK) in log and runs[0] > 0
    system.close()


def test_a_thread_inside_a_chain_cannot_be_bound_an_sc():
    # x waits for y's reply and, below it, links the client's reply: binding x an SC of its
    # own would leave the chain two SCs to give back.
    def binder(log):
        def thief(ipc, arg):
            k5.wait(1)
            log.append(("bind", k5.sc_bind(6, 4)))

        return thief

    system, log, runs, (c, x, y, t, ry) = chain(binder)
    spare = system.sched_context("spare", 5, 20)
    system.give(t, 6, spare)
    system.run(300)
    assert ("bind", A.ERR_ILLEGAL_OPERATION) in log
    assert c.sc.obj.tcb is c.obj and runs[0] > 0
    system.close()
