"""The supervisor task: restart, back-off and hold policies; a fault storm stays bounded."""

import k5
from k5 import supervisor
from k5.supervisor import BACKOFF, HOLD, RESTART
from k5.system import System

DONE = 0


def storm(ipc, arg):
    raise ValueError("at once")


def flaky(ipc, arg):
    # Faults on its first run only (its generation is 0 then).
    k5.tcb_info  # noqa: B018 (the API is there)
    if arg[0] == 0:
        arg[0] = 1
        raise RuntimeError("first run")
    k5.signal(DONE)


def _states(system):
    return {t["name"]: (t["state"], t["faults"], t["generation"]) for t in system.task_dicts()}


def test_policies_and_a_bounded_storm():
    lines = []
    system = System(debug=True, console=lines.append)
    done = system.notification("done")
    a = system.task("storm", storm, priority=10)
    b = system.task("flaky", flaky, priority=10, arg=[0])
    c = system.task("held", storm, priority=10)
    d = system.task("quick", storm, priority=10)
    system.give(b, DONE, done)
    sup = supervisor.supervise(
        system,
        [(a, BACKOFF, 1, 64, 0), (b, RESTART), (c, HOLD), (d, RESTART, 1, 64, 5)],
    )
    system.run(500)
    states = _states(system)
    # Back-off: restarts after 1, 2, 4, ... 64 ticks: about 12 faults in 500 ticks, not 500.
    assert 8 <= states["storm"][1] <= 16, states
    assert states["flaky"][:2] == ("exited", 1) and states["flaky"][2] == 1, states
    assert states["held"][:2] == ("faulted", 1), states
    # RESTART turned into HOLD after 5 faults.
    assert states["quick"][:2] == ("faulted", 5), states
    assert states["supervisor"][0] == "recv", states
    assert system.info(sup)["faults"] == 0
    system.close()


def late(ipc, arg):
    k5.spin(30)  # longer than the back-off limit below: every fault is a first one
    raise ValueError("boom")


def test_backoff_starts_over_after_a_long_fault_free_run(capsys):
    # supervisor_body mutants 49 (the streak reset broke the supervisor) and 89 (its report).
    system = System(debug=True)
    task = system.task("late", late, priority=10)
    supervisor.supervise(system, [(task, BACKOFF, 1, 8, 0)])
    system.run(200)
    lines = capsys.readouterr().out.splitlines()
    reports = [line for line in lines if " fault " in line]
    assert len(reports) >= 4, lines
    for n in range(1, len(reports) + 1):
        assert reports[n - 1].endswith("late fault %d restart in 1 : ValueError: boom" % n), lines
    system.close()
