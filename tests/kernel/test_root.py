"""The root task: builds through SYS_BUILD, holds caps, wakes on interrupt lines (host backend).

The device boots exactly this (k5/boot.py) with MicroPython's REPL as the root's body; here the
body is a Python function, so the front end (k5/front.py), the root service (k5/rootsrv.py) and
the kernel's root rules run the same code as on the board.
"""

import pytest

import k5
from k5 import boot, front
from k5.abi import (
    ERR_ILLEGAL_OPERATION,
    ERR_STALE,
    IRQ_BREAK,
    IRQ_CONSOLE,
    OK,
    RIGHT_GRANT_REPLY,
    RIGHT_READ,
    RIGHT_WRITE,
    ROOT_SLOT_CONSOLE,
    ROOT_SLOTS,
    STATE_BLOCKED_REPLY,
    STATE_INACTIVE,
    SYS_BUILD,
)
from k5.kernel import RUN_STOPPED
from k5.system import BuildError

EP = 1
DONE = 2


def _client(ipc, rounds):
    total = 0
    for i in range(rounds):
        k5.call(EP, 1, (i,))
        total += ipc.words[0]
    k5.puts("total %d" % total)
    k5.signal(DONE)


def _server(ipc, arg):
    k5.recv(EP)
    while True:
        k5.reply_recv(EP, 2, (ipc.words[0] * 2,))


def _boot(body, **options):
    lines = []
    system, root = boot.build(body, console=lines.append, **options)
    return system, root, lines


def test_root_builds_a_system_and_holds_only_slots():
    seen = {}

    def root_body(ipc, arg):
        system = front.System()
        ep = system.endpoint("ep")
        done = system.notification("done")
        client = system.task("client", _client, priority=10, arg=5)
        server = system.task("server", _server, priority=20)
        system.give(client, EP, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY)
        system.give(client, DONE, done)
        system.give(server, EP, ep, RIGHT_READ)
        seen["handles"] = (ep.slot, done.slot, client.slot, client.sc.slot, server.slot)
        # The root holds the original cap of `done` in its own CSpace: it can wait on it.
        seen["wait"] = k5.wait(done.slot)
        # The root outranks the client, which has not returned yet: let it finish.
        seen["run"] = system.run()
        seen["tasks"] = [(t["name"], t["state"]) for t in system.task_dicts()]
        seen["all"] = [t["name"] for t in front.tasks()]
        system.close()
        seen["after"] = [t["name"] for t in front.tasks()]
        with pytest.raises(BuildError, match="closed"):
            system.endpoint("late")

    kernel_system, root, lines = _boot(root_body)
    assert kernel_system.run(1000) == RUN_STOPPED
    slots = seen["handles"]
    assert all(type(slot) is int and slot >= ROOT_SLOTS for slot in slots)
    assert len(set(slots)) == len(slots)
    assert seen["wait"] == OK
    assert seen["run"] == front.RUN_IDLE
    assert seen["tasks"] == [("client", "exited"), ("server", "recv")]
    assert seen["all"] == ["repl", "client", "server"]
    assert seen["after"] == ["repl"]
    assert any(line.endswith("client: total 20") for line in lines), lines
    # Closing destroyed the group: its threads are gone and its caps left the root's CSpace.
    kernel = kernel_system.kernel
    assert [tcb.name for tcb in kernel.tcbs] == ["repl"]
    assert all(cap is None for cap in root.obj.cspace.slots[ROOT_SLOTS:])
    kernel_system.close()


def test_builder_errors_come_back_to_the_root_and_the_kernel_goes_on():
    seen = []

    def root_body(ipc, arg):
        system = front.System()
        for bad in (
            lambda: system.task("t", _client, priority=300),
            lambda: system.task(5, _client),
            lambda: system.task("t", "not a function"),
            lambda: system.give(front.Task(999, "ghost", None, 0), 1, system.endpoint("e")),
            lambda: front.call("no_such_operation"),
        ):
            try:
                bad()
                seen.append("no error")
            except BuildError as exc:
                seen.append(str(exc))
        seen.append(k5.trap((SYS_BUILD, "now", "not a tuple")))

    kernel_system, root, lines = _boot(root_body)
    assert kernel_system.run(100) == RUN_STOPPED
    assert "no error" not in seen
    assert "priority must be 0..255" in seen[0]
    assert "name must be a str" in seen[1]
    assert "body must be a function, not a str" in seen[2]
    assert "root slot 999" in seen[3]
    assert "no builder operation" in seen[4]
    assert seen[5] != OK and type(seen[5]) is int
    kernel_system.close()


def test_only_the_root_may_build():
    seen = []

    def other(ipc, arg):
        seen.append(k5.trap((SYS_BUILD, "now", ())))

    def root_body(ipc, arg):
        system = front.System()
        system.task("other", other, priority=10)
        system.run()

    kernel_system, root, lines = _boot(root_body)
    assert kernel_system.run(1000) == RUN_STOPPED
    assert seen == [ERR_ILLEGAL_OPERATION]
    kernel_system.close()


def test_an_interrupt_line_wakes_the_root_waiting_on_its_console():
    seen = []

    def root_body(ipc, arg):
        seen.append(("woke", k5.wait(ROOT_SLOT_CONSOLE), ipc.badge))

    kernel_system, root, lines = _boot(root_body)
    kernel = kernel_system.kernel
    kernel_system.run(20)
    assert seen == [] and root.obj.state != 1  # blocked on the console notification
    kernel.arch.raise_interrupt(IRQ_CONSOLE)
    assert kernel_system.run(20) == RUN_STOPPED
    assert seen == [("woke", OK, 1)]
    kernel_system.close()


def test_a_bound_signal_ends_a_sleep_early():
    seen = []

    def root_body(ipc, arg):
        start = front.call("now")
        seen.append(k5.sleep(1000))
        seen.append(front.call("now") - start)

    kernel_system, root, lines = _boot(root_body)
    kernel_system.run(30)
    kernel_system.kernel.arch.raise_interrupt(IRQ_CONSOLE)
    assert kernel_system.run(30) == RUN_STOPPED
    assert seen[0] == OK
    assert 30 <= seen[1] < 40, seen
    kernel_system.close()


def test_a_fault_of_the_root_restarts_it():
    runs = []

    def root_body(ipc, arg):
        runs.append(len(runs))
        if len(runs) == 1:
            raise ValueError("boom")

    kernel_system, root, lines = _boot(root_body)
    assert kernel_system.run(100) == RUN_STOPPED
    assert runs == [0, 1]
    assert root.obj.faults == 1 and root.obj.generation == 1
    assert any("root task repl faulted: ValueError: boom; restarting it" in x for x in lines)
    kernel_system.close()


def test_the_trap_loops_literals_match_the_abi():
    # k5/kernel.py spells a few ABI numbers as literals on its hot path.
    from k5 import abi, kernel

    assert kernel._SYS_BUILD == abi.SYS_BUILD
    assert kernel._TRAP_SYSCALL == abi.TRAP_SYSCALL
    assert kernel._SYS_COUNT == abi.SYS_COUNT
    assert kernel._ERR_INVALID_SYSCALL == abi.ERR_INVALID_SYSCALL
    assert kernel._ERR_NOT_ENOUGH_MEMORY == abi.ERR_NOT_ENOUGH_MEMORY
    assert kernel._STATE_RUNNING == abi.STATE_RUNNING


def test_break_ends_any_wait_of_the_root():
    seen = []

    def root_body(ipc, arg):
        system = front.System()
        nobody = system.notification("never signalled")
        seen.append(k5.wait(nobody.slot))
        seen.append(k5.sleep(10000))

    kernel_system, root, lines = _boot(root_body)
    arch = kernel_system.kernel.arch
    kernel_system.run(20)
    arch.raise_interrupt(IRQ_BREAK)  # Ctrl-C while it waits on a notification
    kernel_system.run(20)
    assert seen == [ERR_STALE]
    arch.raise_interrupt(IRQ_BREAK)  # and while it sleeps
    assert kernel_system.run(20) == RUN_STOPPED
    assert seen == [ERR_STALE, ERR_STALE]
    kernel_system.close()


def test_break_ends_a_call_waiting_for_its_reply():
    # kernel_objects._break_root mutant 10: a root waiting for a reply was not broken.
    seen = []

    def silent(ipc, arg):
        k5.recv(EP)
        k5.sleep(100000)

    def root_body(ipc, arg):
        system = front.System()
        ep = system.endpoint("ep")
        server = system.task("server", silent, priority=20)
        system.give(server, EP, ep, RIGHT_READ)
        seen.append(k5.call(ep.slot, 1, (1,)))

    kernel_system, root, lines = _boot(root_body)
    kernel_system.run(20)
    assert root.obj.state == STATE_BLOCKED_REPLY
    kernel_system.kernel.arch.raise_interrupt(IRQ_BREAK)
    kernel_system.run(20)
    assert seen == [ERR_STALE]
    kernel_system.close()


def test_the_front_ends_builder_operations_reach_the_kernel():
    # k5/front.py: window, irq, untyped, sched_context, reply, fault_handler, copy_cap, revoke
    # and traps, which no host test called (the board's tests do).
    seen = {}

    def root_body(ipc, arg):
        system = front.System()
        window = system.window("win", 0x40000000, 64)
        ntfn = system.notification("n")
        system.irq("line1", 1, ntfn, badge=2)
        ut = system.untyped("ut", 3)
        sc = system.sched_context("spare", 2, 10, refills=3)
        seen["default"] = system.sched_context("default", 2, 10).slot
        reply = system.reply("r")
        faults = system.endpoint("faults")
        a = system.task("a", _server, priority=5, start=False)
        b = system.task("b", _server, priority=5, start=False)
        other = system.endpoint("other")
        system.fault_handler(a, faults, badge=4)
        system.give(a, 1, other)
        system.copy_cap(a, 1, b, 2, RIGHT_READ, 0)
        seen["copied"] = kernel_system.kernel.tcb_by_name("b").cspace.slots[2].rights
        system.revoke(other)  # takes a's cap and b's copy
        seen["traps"] = system.traps()
        seen["slots"] = [ref.slot for ref in (window, ut, sc, reply)]
        seen["b"] = b

    kernel_system, root, lines = _boot(root_body)
    kernel_system.run(50)
    kernel = kernel_system.kernel
    assert type(seen["traps"]) is int and seen["traps"] >= 0
    assert all(type(slot) is int and slot >= ROOT_SLOTS for slot in seen["slots"])
    window, ut, sc, reply = [root.obj.cspace.slots[slot].obj for slot in seen["slots"]]
    assert (window.name, window.base, window.size) == ("win", 0x40000000, 64)
    handler = kernel.irq_handlers[1]
    assert handler.name == "line1" and handler.ntfn.name == "n" and handler.badge == 2
    assert ut.quota == 3 and sc.max_refills() == 3 and type(reply).__name__ == "Reply"
    assert root.obj.cspace.slots[seen["default"]].obj.max_refills() == 4
    a = kernel.tcb_by_name("a")
    b = kernel.tcb_by_name("b")
    assert a.handlers.slots[0].obj.name == "faults" and a.handlers.slots[0].badge == 4
    assert seen["copied"] == RIGHT_READ
    assert a.cspace.slots[1] is None and b.cspace.slots[2] is None
    kernel_system.close()


def test_a_traced_group_prints_its_tasks_switches_not_the_roots(capsys):
    # rootsrv.RootService._trace mutant 6 and op_start mutant 3 (start a task later).
    def root_body(ipc, arg):
        system = front.System(trace=True)
        done = system.notification("done")
        task = system.task("late", _signaller, priority=10, start=False)
        system.task("unstarted", _signaller, priority=10, start=False)
        system.give(task, DONE, done)
        system.start(task)  # that one only
        k5.wait(done.slot)

    kernel_system, root, lines = _boot(root_body)
    kernel_system.run(100)
    assert kernel_system.kernel.tcb_by_name("unstarted").state == STATE_INACTIVE
    out = capsys.readouterr().out
    switches = [line.split(" ", 1)[1] for line in out.splitlines() if " switch " in line]
    assert "switch late" in switches, out
    assert "switch repl" not in switches, out
    kernel_system.close()


def _signaller(ipc, arg):
    k5.signal(DONE)
