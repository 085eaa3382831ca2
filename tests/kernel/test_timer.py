"""Timers: a task's notification signalled at a deadline; replaced, cancelled, cleaned up."""

import k5
from k5 import abi
from k5.system import System

A = abi


def test_timer_signals_at_its_deadline_and_can_be_replaced_or_cancelled():
    system = System(debug=True)
    ntfn = system.notification("tick")
    log = []

    def body(ipc, arg):
        start = system.now()
        log.append(k5.set_timer(0, 10))
        log.append((k5.wait(0), ipc.badge, system.now() - start))
        log.append(k5.set_timer(0, 50))
        log.append(k5.set_timer(0, 5))  # replaces the 50
        start = system.now()
        log.append((k5.wait(0), system.now() - start))
        log.append(k5.set_timer(0, 5))
        log.append(k5.set_timer(0, -1))  # cancelled: the poll below finds nothing
        k5.sleep(20)
        log.append(k5.poll(0))
        log.append(k5.set_timer(0, 0))
        log.append(k5.set_timer(1, 5))
        log.append(k5.set_timer(0, "5"))

    task = system.task("t", body, priority=10)
    system.give(task, 0, ntfn, badge=3)
    system.run(200)
    assert log[0] == A.OK
    assert log[1][:2] == (A.OK, 3) and 10 <= log[1][2] <= 12
    assert log[2:4] == [A.OK, A.OK]
    assert log[4][0] == A.OK and 5 <= log[4][1] <= 7
    assert log[5:7] == [A.OK, A.OK]
    assert log[7] == A.ERR_WOULD_BLOCK
    assert log[8:] == [A.ERR_INVALID_ARGUMENT, A.ERR_EMPTY_SLOT, A.ERR_INVALID_ARGUMENT]
    assert system.kernel.timers == []
    system.close()


def test_timer_goes_with_its_task_and_its_notification():
    system = System(debug=True)
    ntfn = system.notification("tick")

    def body(ipc, arg):
        k5.set_timer(0, 100)
        k5.wait(1)  # never signalled

    a = system.task("a", body, priority=10)
    b = system.task("b", body, priority=10)
    other = system.notification("never")
    for task in (a, b):
        system.give(task, 0, ntfn)
        system.give(task, 1, other, A.RIGHT_READ)
    system.run(10)
    kernel = system.kernel
    assert len(kernel.timers) == 2
    kernel.restart(a.obj)
    assert [t.owner for t in kernel.timers] == [b.obj]
    system.revoke(ntfn)
    kernel.delete(ntfn.original)
    assert kernel.timers == []
    assert kernel.sched.sleep.head is None
    system.run(200)  # nothing fires into the destroyed notification
    system.close()
