"""Dynamic systems: untyped_retype, tcb_configure, tcb_copy_cap, tcb_set_handler errors."""

import k5
from k5 import abi as A
from k5.system import System


def child(ipc, arg):
    k5.puts("child")


def run_root(body, quota=3, mcp=50):
    system = System(debug=True)
    log = []
    root = system.task("root", body(log), priority=20, mcp=mcp, slots=8)
    system.give(root, 1, system.untyped("ut", quota))
    system.give(root, 2, system.endpoint("ep"))
    system.give(root, 3, system.notification("n"))
    system.run(200)
    return log, system


def test_retype_errors_and_quota():
    def body(log):
        def root(ipc, arg):
            log.append(k5.untyped_retype(1, A.TYPE_CNODE, 4))
            log.append(k5.untyped_retype(1, "tcb", 4))
            log.append(k5.untyped_retype(1, A.TYPE_TCB, 2))
            log.append(k5.untyped_retype(1, A.TYPE_TCB, 99))
            log.append(k5.untyped_retype(2, A.TYPE_TCB, 4))
            log.append(k5.untyped_retype(1, A.TYPE_TCB, 4))
            log.append(k5.untyped_retype(1, A.TYPE_NOTIFICATION, 5))
            log.append(k5.untyped_retype(1, A.TYPE_SCHED_CONTEXT, 6))
            log.append(k5.untyped_retype(1, A.TYPE_ENDPOINT, 7))
            log.append(k5.trap((A.SYS_UNTYPED_RETYPE, 1, A.TYPE_ENDPOINT)))

        return root

    log, system = run_root(body)
    assert log == [
        A.ERR_INVALID_ARGUMENT,
        A.ERR_INVALID_ARGUMENT,
        A.ERR_SLOT_OCCUPIED,
        A.ERR_RANGE,
        A.ERR_WRONG_TYPE,
        A.OK,
        A.OK,
        A.OK,
        A.ERR_NOT_ENOUGH_MEMORY,
        A.ERR_INVALID_ARGUMENT,
    ]


def test_configure_errors_and_unconfigured_tcb():
    def body(log):
        def root(ipc, arg):
            k5.untyped_retype(1, A.TYPE_TCB, 4)
            k5.untyped_retype(1, A.TYPE_SCHED_CONTEXT, 5)
            log.append(k5.tcb_resume(4))
            log.append(k5.tcb_restart(4))
            log.append(k5.sc_bind(5, 4))  # SC not configured yet
            log.append(k5.tcb_configure(4, 42))
            log.append(k5.tcb_configure(4, child, [1]))
            log.append(k5.tcb_configure(4, child, (1, ("a", b"b")), 60))
            log.append(k5.tcb_configure(4, child, None, 10, 0))
            log.append(k5.tcb_configure(4, child, None, 10, 4, "x" * 17))
            log.append(k5.tcb_configure(4, child, None, 10, 8, "kid"))
            log.append(k5.tcb_configure(4, child, None, 10, 4, "again"))
            log.append(k5.tcb_copy_cap(4, 2, 4, A.RIGHT_WRITE, 5))
            log.append(k5.tcb_copy_cap(4, 2, 4, A.RIGHT_WRITE))
            log.append(k5.tcb_copy_cap(4, 1, 0, A.RIGHTS_ALL, 5))
            log.append(k5.tcb_copy_cap(4, 3, 1, 99))
            log.append(k5.tcb_set_handler(4, 3, A.HANDLER_FAULT))
            log.append(k5.tcb_set_handler(4, 2, 2))
            log.append(k5.tcb_set_handler(4, 2, A.HANDLER_TIMEOUT))
            log.append(k5.tcb_set_handler(4, -1, A.HANDLER_TIMEOUT))
            log.append(k5.tcb_resume(4))

        return root

    log, system = run_root(body)
    assert log == [
        A.ERR_ILLEGAL_OPERATION,
        A.ERR_ILLEGAL_OPERATION,
        A.ERR_ILLEGAL_OPERATION,
        A.ERR_INVALID_ARGUMENT,
        A.ERR_INVALID_ARGUMENT,
        A.ERR_ILLEGAL_OPERATION,
        A.ERR_INVALID_ARGUMENT,
        A.ERR_INVALID_ARGUMENT,
        A.OK,
        A.ERR_ILLEGAL_OPERATION,
        A.OK,
        A.ERR_SLOT_OCCUPIED,
        A.ERR_ILLEGAL_OPERATION,
        A.ERR_INVALID_ARGUMENT,
        A.ERR_WRONG_TYPE,
        A.ERR_INVALID_ARGUMENT,
        A.OK,
        A.OK,
        A.OK,
    ]
    kid = system.kernel.tcb_by_name("kid")
    assert kid.cspace.slots[4].badge == 5 and kid.handlers.slots[1] is None
    # Resumed without an SC: runnable but not schedulable until an SC is bound.
    assert kid.state == A.STATE_RUNNING and kid.sc is None


def test_revoking_untyped_removes_created_caps():
    def body(log):
        def root(ipc, arg):
            k5.untyped_retype(1, A.TYPE_ENDPOINT, 4)
            k5.copy(4, 5, A.RIGHT_READ)
            log.append(k5.revoke(1))
            log.append(k5.identify(4))
            log.append(k5.identify(5))

        return root

    log, _ = run_root(body)
    assert log == [A.OK, A.ERR_EMPTY_SLOT, A.ERR_EMPTY_SLOT]
