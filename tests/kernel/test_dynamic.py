"""Dynamic systems: untyped_retype, tcb_configure, tcb_copy_cap, tcb_set_handler errors."""

import pytest

import k5
from k5 import abi as A
from k5.arch import new as new_arch
from k5.system import BuildError, System


def child(ipc, arg):
    k5.puts("child")


def run_root(body, quota=3, mcp=50, arch=None):
    system = System(debug=True, arch=arch)
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


def test_configure_out_of_contexts_changes_nothing():
    # Two contexts, as the device has K5_MAX_CONTEXTS: the root's and one more. A configure
    # the arch cannot give a context fails and leaves the TCB as it was (no entry, priority 0,
    # no CSpace), so resume and restart refuse it instead of reaching the arch with no
    # context (a kernel panic before); once a context is free it configures and runs.
    def body(log):
        def root(ipc, arg):
            k5.untyped_retype(1, A.TYPE_TCB, 4)
            k5.untyped_retype(1, A.TYPE_TCB, 5)
            log.append(k5.tcb_configure(4, child, None, 10, 4, "first"))  # the last context
            log.append(k5.tcb_configure(5, child, None, 30, 8, "second"))  # none left
            k5.tcb_info(5)
            log.append(tuple(ipc.words[1:3]))  # (priority, mcp): unchanged
            log.append(k5.tcb_copy_cap(5, 2, 0))  # its CSpace is still empty (size 0)
            log.append(k5.tcb_restart(5))
            log.append(k5.tcb_resume(5))
            log.append(k5.delete(4))  # the first TCB's last cap: its context is free again
            log.append(k5.tcb_configure(5, child, None, 30, 8, "second"))
            k5.tcb_info(5)
            log.append(tuple(ipc.words[1:3]))
            log.append(k5.tcb_resume(5))
            log.append(k5.tcb_restart(5))

        return root

    lines = []
    system = System(debug=True, arch=new_arch(max_contexts=2), console=lines.append)
    log = []
    root = system.task("root", body(log), priority=20, mcp=50, slots=8)
    system.give(root, 1, system.untyped("ut", 3))
    system.give(root, 2, system.endpoint("ep"))
    system.run(200)
    assert not system.kernel.halted
    assert log == [
        A.OK,
        A.ERR_NOT_ENOUGH_MEMORY,
        (0, 0),
        A.ERR_RANGE,
        A.ERR_ILLEGAL_OPERATION,
        A.ERR_ILLEGAL_OPERATION,
        A.OK,
        A.OK,
        (30, 30),
        A.OK,
        A.OK,
    ]
    second = system.kernel.tcb_by_name("second")
    assert second is not None and second.context is not None
    assert system.kernel.tcb_by_name("first") is None
    system.close()


def test_builder_checks_mcp_slots_and_stack_before_making_anything():
    with System() as system:
        threads = len(system.kernel.tcbs)
        for options in (
            {"mcp": 256},
            {"mcp": -1},
            {"mcp": "255"},
            {"slots": 0},
            {"slots": A.CSPACE_MAX + 1},
            {"stack": "4096"},
        ):
            with pytest.raises(BuildError):
                system.task("t", child, priority=10, start=False, **options)
        assert len(system.kernel.tcbs) == threads and system.tasks == []
        # The limits themselves are accepted.
        system.task("top", child, priority=10, mcp=A.PRIORITY_MAX, start=False)
        system.task("wide", child, priority=10, mcp=0, slots=A.CSPACE_MAX, start=False)
        system.task("one", child, priority=10, slots=1, start=False)
        assert len(system.kernel.tcbs) == threads + 3
