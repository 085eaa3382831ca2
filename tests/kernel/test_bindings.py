"""Timers and interrupt lines are bound through a notification cap and end with it (issue 22):
deleted, revoked (the cap itself or an ancestor), or the setter gone."""

import pytest

import k5
from k5 import abi as A
from k5.system import System


def listening(system, ntfn):
    """A task that counts the signals on ntfn (through a cap of its own, never revoked)."""
    woken = []

    def listener(ipc, arg):
        while True:
            woken.append((k5.wait(0), system.now()))

    task = system.task("listener", listener, priority=5)
    system.give(task, 0, ntfn, A.RIGHT_READ)
    return woken


def test_a_timer_ends_when_an_ancestor_of_its_cap_is_revoked():
    system = System(debug=True)
    ntfn = system.notification("n")
    woken = listening(system, ntfn)
    log = []

    def setter(ipc, arg):
        log.append(("set", k5.set_timer(0, 50)))
        k5.wait(1)

    def supervisor(ipc, arg):
        log.append(("copy", k5.tcb_copy_cap(1, 0, 0, A.RIGHT_WRITE)))
        k5.sleep(10)
        log.append(("revoke", k5.revoke(0)))

    sup = system.task("sup", supervisor, priority=20)
    setter_task = system.task("setter", setter, priority=10, start=False)
    system.give(sup, 0, ntfn)
    system.give(sup, 1, setter_task)
    never = system.notification("never")
    system.give(setter_task, 1, never, A.RIGHT_READ)
    system.run(5)
    system.start(setter_task)
    system.run(200)
    assert log == [("copy", A.OK), ("set", A.OK), ("revoke", A.OK)]
    assert system.kernel.timers == [] and woken == []
    system.close()


@pytest.mark.parametrize("how", ["delete", "revoke", "exit"])
def test_a_timer_ends_with_its_cap_or_its_task(how):
    system = System(debug=True)
    ntfn = system.notification("n")
    woken = listening(system, ntfn)
    log = []

    def setter(ipc, arg):
        log.append(k5.set_timer(0, 50))
        if how == "delete":
            log.append(k5.delete(0))
        elif how == "revoke":
            log.append(k5.revoke(0))  # the timer is derived from the cap it was set with
        else:
            k5.exit()
        k5.wait(1)

    task = system.task("setter", setter, priority=10)
    system.give(task, 0, ntfn)
    system.give(task, 1, system.notification("never"), A.RIGHT_READ)
    system.run(200)
    assert log[0] == A.OK and log[1:] in ([], [A.OK])
    assert system.kernel.timers == [] and woken == []
    system.close()


def test_a_timer_set_through_one_cap_survives_the_revocation_of_a_sibling():
    # Only its own cap (and that cap's ancestors) count: the holder's other caps do not.
    system = System(debug=True)
    ntfn = system.notification("n")
    woken = listening(system, ntfn)

    def setter(ipc, arg):
        k5.set_timer(0, 50)
        k5.delete(1)
        k5.wait(2)

    task = system.task("setter", setter, priority=10)
    system.give(task, 0, ntfn)
    system.give(task, 1, ntfn)
    system.give(task, 2, system.notification("never"), A.RIGHT_READ)
    system.run(100)
    assert len(woken) == 1 and woken[0][0] == A.OK
    system.close()


@pytest.mark.parametrize("how", ["revoke the parent", "delete", "revoke the cap"])
def test_an_interrupt_line_ends_with_the_cap_it_was_bound_through(how):
    system = System(debug=True)
    ntfn = system.notification("n")
    woken = listening(system, ntfn)
    handler = system.irq("line3", 3)
    log = []

    def driver(ipc, arg):
        log.append(("bind", k5.irq_set_notification(1, 0)))
        if how == "delete":
            log.append(("delete", k5.delete(0)))
        elif how == "revoke the cap":
            log.append(("revoke", k5.revoke(0)))
        k5.wait(2)

    def supervisor(ipc, arg):
        log.append(("copy", k5.tcb_copy_cap(1, 0, 0, A.RIGHT_WRITE)))
        log.append(("copy", k5.tcb_copy_cap(1, 2, 1)))
        k5.sleep(10)
        if how == "revoke the parent":
            log.append(("revoke", k5.revoke(0)))

    sup = system.task("sup", supervisor, priority=20)
    drv = system.task("drv", driver, priority=10, start=False)
    system.give(sup, 0, ntfn)
    system.give(sup, 1, drv)
    system.give(sup, 2, handler)
    system.give(drv, 2, system.notification("never"), A.RIGHT_READ)
    system.run(5)
    system.start(drv)
    system.run(30)
    assert ("bind", A.OK) in log and len(log) == 4, log
    arch = system.kernel.arch
    arch.raise_hw_irq(3)
    system.run(20)
    assert woken == [] and handler.obj.count == 0
    assert handler.obj.ntfn is None and not arch.irq_on & (1 << 3)
    system.close()


def test_an_interrupt_line_bound_by_the_builder_ends_when_the_original_is_revoked():
    system = System(debug=True)
    ntfn = system.notification("n")
    woken = listening(system, ntfn)
    handler = system.irq("line3", 3, ntfn, badge=2)
    system.run(5)
    arch = system.kernel.arch
    arch.raise_hw_irq(3)
    system.run(5)
    assert len(woken) == 1
    # (The listener's cap is derived from the original: revoking takes it too.)
    system.revoke(ntfn)
    assert handler.obj.ntfn is None and not arch.irq_on & (1 << 3)
    system.close()
