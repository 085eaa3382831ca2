"""Restart, generations, stale replies, determinism."""

import pathlib
import subprocess
import sys

import k5
from k5 import abi as A
from k5.system import System

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent


def test_stale_reply_after_caller_restart():
    log = []

    def caller(ipc, arg):
        log.append(("caller start", arg))
        k5.call(1, 0, (1,))
        log.append("caller got reply")

    def server(ipc, arg):
        k5.recv(1)
        k5.signal(2)  # the supervisor now restarts the caller
        log.append(("reply", k5.reply(0, (2,))))

    def supervisor(ipc, arg):
        k5.wait(2)
        log.append(("restart", k5.tcb_restart(1)))
        k5.tcb_suspend(1)

    system = System(debug=True)
    ep = system.endpoint("ep")
    n = system.notification("n")
    c = system.task("caller", caller, priority=30)
    s = system.task("server", server, priority=20)
    sup = system.task("sup", supervisor, priority=25)
    system.give(c, 1, ep)
    system.give(s, 1, ep)
    system.give(s, 2, n)
    system.give(sup, 1, c)
    system.give(sup, 2, n)
    system.run(200)
    assert ("reply", A.ERR_STALE) in log
    assert "caller got reply" not in log
    assert c.obj.generation == 1


def test_caller_of_restarted_server_gets_stale():
    log = []

    def caller(ipc, arg):
        log.append(k5.call(1, 0, (1,)))

    def server(ipc, arg):
        k5.recv(1)
        k5.signal(2)
        k5.spin(50)

    def supervisor(ipc, arg):
        k5.wait(2)
        k5.tcb_restart(1)

    system = System(debug=True)
    ep = system.endpoint("ep")
    n = system.notification("n")
    c = system.task("caller", caller, priority=30)
    s = system.task("server", server, priority=5)
    sup = system.task("sup", supervisor, priority=10)
    system.give(c, 1, ep)
    system.give(s, 1, ep)
    system.give(s, 2, n)
    system.give(sup, 1, s)
    system.give(sup, 2, n)
    system.run(30)
    assert log == [A.ERR_STALE]


def test_restart_returns_donated_sc():
    def caller(ipc, arg):
        k5.call(1)

    def server(ipc, arg):
        k5.recv(1)
        k5.signal(2)
        k5.spin(100)

    def supervisor(ipc, arg):
        k5.wait(2)
        k5.tcb_restart(1)

    system = System(debug=True)
    ep = system.endpoint("ep")
    n = system.notification("n")
    c = system.task("caller", caller, priority=10, budget=50, period=100)
    s = system.task("server", server, priority=20, passive=True)
    sup = system.task("sup", supervisor, priority=30, budget=5, period=5)
    system.give(c, 1, ep)
    system.give(s, 1, ep)
    system.give(s, 2, n)
    system.give(sup, 1, s)
    system.give(sup, 2, n)
    system.run(20)
    assert s.obj.sc is None and s.obj.generation == 1
    assert c.obj.sc is c.sc.obj and c.sc.obj.tcb is c.obj


def test_same_events_same_schedule():
    path = ROOT / "tests" / "scenarios" / "passive_server.py"
    runs = [
        subprocess.run([sys.executable, str(path)], capture_output=True, text=True).stdout
        for _ in range(2)
    ]
    assert runs[0] and runs[0] == runs[1]


def test_fault_history_is_bounded():
    def crasher(ipc, arg):
        k5.spin(1)
        raise KeyError(arg)

    def supervisor(ipc, arg):
        for _ in range(6):
            k5.spin(2)
            k5.tcb_restart(1)

    system = System(debug=True)
    t = system.task("crasher", crasher, priority=20, arg=1)
    sup = system.task("sup", supervisor, priority=10)
    system.give(sup, 1, t)
    system.run(100)
    assert t.obj.faults == 7 and len(t.obj.fault_history) == 4
    assert t.obj.generation == 6
