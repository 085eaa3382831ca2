"""MCS scheduling: priorities, MCP, budgets, refills, yield, timeouts, lifecycle."""

import k5
from k5 import abi as A
from k5.introspect import tasks
from k5.kernel import RUN_IDLE, KernelPanic
from k5.refill import Refills
from k5.sched import Scheduler, priority_higher
from k5.system import BuildError, System, build

import pytest


def hog(ipc, arg):
    while True:
        k5.spin(100)


def test_highest_priority_runs():
    system = System(debug=True)
    system.kernel.usage_log = []
    system.task("low", hog, priority=1)
    system.task("high", hog, priority=200)
    system.run(50)
    names = {entry[3].name for entry in system.kernel.usage_log}
    assert names == {"high"}


def test_scheduler_bitmap():
    sched = Scheduler()
    assert sched.highest() == -1
    for priority in (0, 15, 16, 255, 128):

        class T:
            pass

    assert priority_higher(2, 1) and not priority_higher(1, 1)


def test_budget_and_release():
    system = System(debug=True)
    system.kernel.usage_log = []
    limited = system.task("limited", hog, priority=50, budget=3, period=10)
    system.run(100)
    used = sum(e - s for sc, s, e, t in system.kernel.usage_log if t is limited.obj)
    assert used == 30
    assert limited.sc.obj.exhaustions == 10


def test_yield_gives_up_refill_for_sporadic_and_rotates_round_robin():
    log = []

    def yielder(ipc, name):
        for _ in range(2):
            log.append(name)
            k5.yield_()

    system = System(debug=True)
    system.task("a", yielder, priority=5, arg="a")
    system.task("b", yielder, priority=5, arg="b")
    system.run(100)
    assert log == ["a", "b", "a", "b"]


def test_set_priority_respects_mcp():
    log = []

    def body(ipc, arg):
        log.append(k5.tcb_set_priority(1, 50))
        log.append(k5.tcb_set_priority(1, 51))
        log.append(k5.tcb_set_priority(1, 256))
        log.append(k5.tcb_set_mcp(1, 60))
        log.append(k5.tcb_set_priority(2, 1))

    system = System(debug=True)
    t = system.task("t", body, priority=10, mcp=50)
    other = system.task("o", lambda ipc, arg: None, priority=1, start=False)
    system.give(t, 1, other)
    system.give(t, 2, other, A.RIGHT_READ)
    system.run(100)
    assert log == [
        A.OK,
        A.ERR_ILLEGAL_OPERATION,
        A.ERR_INVALID_ARGUMENT,
        A.ERR_ILLEGAL_OPERATION,
        A.ERR_RIGHTS,
    ]
    assert other.obj.priority == 50


def test_sc_configure_bind_unbind_consumed():
    log = []

    def root(ipc, arg):
        log.append(k5.sc_configure(1, 2, 2, 10, 4))
        log.append(k5.sc_configure(1, 2, 11, 10, 4))
        log.append(k5.sc_configure(1, 2, 2, 10, 1))
        log.append(k5.sc_configure(2, 2, 2, 10, 4))
        log.append(k5.sc_bind(2, 3))
        log.append(k5.sc_bind(2, 3))
        log.append(k5.tcb_resume(3))
        k5.spin(40)
        log.append(k5.sc_consumed(2))
        log.append(ipc.words[0])
        log.append(k5.sc_unbind(2))
        log.append(k5.sc_unbind(2))

    system = System(debug=True)
    r = system.task("root", root, priority=10, budget=50, period=50)
    worker = system.task("worker", hog, priority=20, start=False, passive=True)
    sc = system.sched_context("spare", 5, 5)
    system.kernel.unbind_sc(worker.sc.obj)
    system.give(r, 1, system.sched_control())
    system.give(r, 2, sc)
    system.give(r, 3, worker)
    system.run(100)
    assert log[:7] == [
        A.OK,
        A.ERR_INVALID_ARGUMENT,
        A.ERR_INVALID_ARGUMENT,
        A.ERR_WRONG_TYPE,
        A.OK,
        A.ERR_ILLEGAL_OPERATION,
        A.OK,
    ]
    # The worker (priority 20) got 2 ticks per 10 while root spun 40 ticks.
    assert log[7] == A.OK and 8 <= log[8] <= 12
    assert log[9:] == [A.OK, A.ERR_ILLEGAL_OPERATION]


def test_timeout_fault_delivered_to_handler():
    log = []

    def worker(ipc, arg):
        k5.spin(7)
        log.append("worker done")

    def handler(ipc, arg):
        k5.recv(1)
        while True:
            log.append((ipc.label, ipc.badge, ipc.words[0]))
            k5.reply_recv(1)

    system = System(debug=True)
    ep = system.endpoint("timeouts")
    w = system.task("worker", worker, priority=10, budget=3, period=10)
    h = system.task("handler", handler, priority=20)
    system.give(h, 1, ep)
    system.timeout_handler(w, ep, badge=5)
    system.run(100)
    assert log[0] == (A.FAULT_TIMEOUT, 5, w.obj.tid)
    assert log[-1] == "worker done"


def test_exception_without_handler_stops_task():
    def bad(ipc, arg):
        k5.spin(1)
        raise RuntimeError("boom")

    system = System(debug=True)
    t = system.task("bad", bad, priority=1)
    assert system.run(100) == RUN_IDLE
    assert t.obj.state == A.STATE_FAULTED
    assert t.obj.fault_history[0][2] == "RuntimeError: boom"


def test_plain_function_task_exits():
    ran = []
    system = System(debug=True)
    t = system.task("plain", lambda ipc, arg: ran.append(arg), priority=1, arg=3)
    system.run(10)
    assert ran == [3] and t.obj.state == A.STATE_EXITED


def test_exit_and_suspend_resume():
    log = []

    def sleeper(ipc, arg):
        log.append("start")
        k5.spin(2)
        log.append("resumed")
        k5.exit(3)

    def boss(ipc, arg):
        log.append(("suspend", k5.tcb_suspend(1)))
        k5.spin(5)
        log.append(("resume", k5.tcb_resume(1)))
        log.append(("resume2", k5.tcb_resume(1)))

    system = System(debug=True)
    s = system.task("sleeper", sleeper, priority=5)
    b = system.task("boss", boss, priority=10)
    system.give(b, 1, s)
    system.run(100)
    assert s.obj.state == A.STATE_EXITED and s.obj.exit_code == 3
    assert ("suspend", 0) in log and ("resume", 0) in log
    assert ("resume2", A.ERR_ILLEGAL_OPERATION) in log


def test_static_build_and_ps():
    log = []

    def ping(ipc, arg):
        k5.call(1, 0, (1,))
        log.append(ipc.words[0])

    def pong(ipc, arg):
        k5.recv(1)
        k5.reply(0, (ipc.words[0] + 1,))

    system = build(
        {
            "endpoints": ["ep"],
            "tasks": [
                {"name": "ping", "entry": ping, "priority": 1, "caps": [(1, "ep")]},
                {
                    "name": "pong",
                    "entry": pong,
                    "priority": 2,
                    "budget": 2,
                    "period": 10,
                    "caps": [(1, "ep", A.RIGHT_READ)],
                },
            ],
        },
        debug=True,
    )
    system.run(100)
    assert log == [2]
    out = []
    system.ps(out=out.append)
    text = "\n".join(out)
    assert "ping" in text and "2/10" in text and "endpoint" in text
    info = tasks(system.kernel)
    assert [i.name for i in info] == ["ping", "pong"]
    with pytest.raises(BuildError):
        build({"tasks": [{"name": "x", "entry": ping, "caps": [(1, "nothing")]}]})


def test_kernel_bug_halts_with_epitaph():
    system = System()
    lines = []
    system.kernel.console = lines.append
    system.task("t", hog, priority=1)
    system.kernel.sched = None  # sabotage: the kernel itself now fails
    with pytest.raises(KernelPanic):
        system.run(10)
    assert system.kernel.halted and lines and "K5 PANIC" in lines[0]
    # kernel._panic mutant 20: the epitaph gives the time of the panic.
    assert lines[0].startswith("K5 PANIC at t=%d handling trap" % system.now()), lines


def test_refills_basic():
    r = Refills(min_budget=1)
    r.configure(2, 10, 4, 0)
    r.budget_check(1)
    assert r.refill_list() == [(1, 1), (10, 1)]
    r.budget_check(1)
    assert r.refill_list() == [(10, 2)] or r.refill_list() == [(10, 1), (11, 1)]
    r.check_invariants()
    r.unblock_check(30)
    assert r.refill_list()[0][0] == 30 and r.refill_sum() == 2


def test_refill_min_budget_merge():
    r = Refills(min_budget=2)
    r.configure(6, 20, 4, 0)
    r.budget_check(5)  # leaves a 1-tick head: merged into the next refill
    r.check_invariants()
    assert r.r_amount[r.head] >= 2


def test_passive_server_timeout_fault_on_donated_budget():
    log = []

    def client(ipc, arg):
        log.append(("client", k5.call(1, 0, (8,))))

    def server(ipc, arg):
        k5.recv(1)
        while True:
            k5.spin(ipc.words[0])
            k5.reply_recv(1)

    def handler(ipc, arg):
        k5.recv(1)
        while True:
            log.append(("timeout", ipc.label, ipc.badge))
            k5.reply_recv(1)

    system = System(debug=True)
    ep = system.endpoint("ep")
    timeouts = system.endpoint("timeouts")
    c = system.task("client", client, priority=10, budget=3, period=10)
    s = system.task("server", server, priority=50, passive=True)
    h = system.task("handler", handler, priority=60)
    system.give(c, 1, ep)
    system.give(s, 1, ep)
    system.give(h, 1, timeouts)
    system.timeout_handler(s, timeouts, badge=3)
    system.run(200)
    # 8 ticks of server work on a 3-in-10 budget: timeout faults, then the reply arrives.
    assert ("timeout", A.FAULT_TIMEOUT, 3) in log
    assert ("client", A.OK) in log
    assert c.obj.sc is c.sc.obj
