"""CNode invocations: copy, mint, move, mutate, delete, revoke, identify, errors."""

import k5
from k5 import abi, cdt
from k5.system import System

from k5harness import solo

A = abi


def ep_caps(system_holder):
    return system_holder


def run_with_ep(requests, rights=A.RIGHTS_ALL, badge=0, slots=8):
    system = System(debug=True)
    ep = system.endpoint("ep")
    log = []

    def body(ipc, arg):
        for request in requests:
            result = k5.trap(request)
            log.append((result, ipc.word_tuple()))

    task = system.task("t", body, priority=10, slots=slots)
    system.give(task, 0, ep, rights, badge)
    system.run(10000)
    system.close()
    return [entry[0] for entry in log], log, task


def test_copy_and_identify():
    results, log, task = run_with_ep(
        [(A.SYS_CNODE_COPY, 0, 1, A.RIGHT_READ), (A.SYS_CNODE_IDENTIFY, 1)]
    )
    assert results == [A.OK, A.OK]
    assert log[1][1] == (A.TYPE_ENDPOINT, A.RIGHT_READ, 0)
    assert task.obj.cspace.slots[1].parent is task.obj.cspace.slots[0]


def test_copy_errors():
    results, _, _ = run_with_ep(
        [
            (A.SYS_CNODE_COPY, 5, 1, A.RIGHTS_ALL),  # empty source
            (A.SYS_CNODE_COPY, 0, 0, A.RIGHTS_ALL),  # occupied destination
            (A.SYS_CNODE_COPY, 0, 8, A.RIGHTS_ALL),  # destination out of range
            (A.SYS_CNODE_COPY, -1, 1, A.RIGHTS_ALL),  # negative slot
            (A.SYS_CNODE_COPY, 0, 1, 16),  # bad rights word
            (A.SYS_CNODE_COPY, 0, 1),  # missing argument
            (A.SYS_CNODE_COPY, 0, "1", 1),  # wrong type
        ]
    )
    assert results == [
        A.ERR_EMPTY_SLOT,
        A.ERR_SLOT_OCCUPIED,
        A.ERR_RANGE,
        A.ERR_RANGE,
        A.ERR_INVALID_ARGUMENT,
        A.ERR_INVALID_ARGUMENT,
        A.ERR_RANGE,
    ]


def test_mint_sets_badge_once_and_shrinks_rights():
    results, log, task = run_with_ep(
        [
            (A.SYS_CNODE_MINT, 0, 1, A.RIGHT_WRITE, 5),
            (A.SYS_CNODE_IDENTIFY, 1),
            (A.SYS_CNODE_MINT, 1, 2, A.RIGHTS_ALL, 6),  # already badged
            (A.SYS_CNODE_MINT, 1, 2, A.RIGHTS_ALL, 0),  # keeps badge, rights cannot grow
            (A.SYS_CNODE_IDENTIFY, 2),
            (A.SYS_CNODE_MINT, 0, 3, A.RIGHTS_ALL, 2**30),  # badge too big
            (A.SYS_CNODE_MINT, 0, 3, A.RIGHTS_ALL, -1),  # negative badge
        ]
    )
    assert results[0] == A.OK
    assert log[1][1] == (A.TYPE_ENDPOINT, A.RIGHT_WRITE, 5)
    assert results[2] == A.ERR_ILLEGAL_OPERATION
    assert results[3] == A.OK
    assert log[4][1] == (A.TYPE_ENDPOINT, A.RIGHT_WRITE, 5)
    assert results[5:] == [A.ERR_INVALID_ARGUMENT, A.ERR_INVALID_ARGUMENT]


def test_mint_badge_only_on_endpoint_or_notification():
    system = System(debug=True)
    log = []

    def body(ipc, arg):
        log.append(k5.trap((A.SYS_CNODE_MINT, 0, 1, A.RIGHTS_ALL, 3)))

    task = system.task("t", body, priority=10)
    system.give(task, 0, task)  # a TCB cap to itself
    system.run(100)
    assert log == [A.ERR_ILLEGAL_OPERATION]


def test_move_and_mutate():
    results, log, task = run_with_ep(
        [
            (A.SYS_CNODE_MOVE, 0, 3),
            (A.SYS_CNODE_IDENTIFY, 0),
            (A.SYS_CNODE_MUTATE, 3, 4, A.RIGHT_READ, 9),
            (A.SYS_CNODE_IDENTIFY, 4),
            (A.SYS_CNODE_MUTATE, 4, 5, A.RIGHTS_ALL, 10),  # badged already
            (A.SYS_CNODE_MOVE, 4, 4),  # occupied (itself)
            (A.SYS_CNODE_MOVE, 7, 1),  # empty
        ]
    )
    assert results[0] == A.OK
    assert results[1] == A.ERR_EMPTY_SLOT
    assert results[2] == A.OK
    assert log[3][1] == (A.TYPE_ENDPOINT, A.RIGHT_READ, 9)
    assert results[4:] == [A.ERR_ILLEGAL_OPERATION, A.ERR_SLOT_OCCUPIED, A.ERR_EMPTY_SLOT]
    # Moving keeps the derivation-tree position: still a child of the builder's original.
    assert task.obj.cspace.slots[4].parent is not None


def test_delete_and_revoke():
    results, log, task = run_with_ep(
        [
            (A.SYS_CNODE_COPY, 0, 1, A.RIGHTS_ALL),
            (A.SYS_CNODE_COPY, 1, 2, A.RIGHT_READ),
            (A.SYS_CNODE_MINT, 0, 3, A.RIGHT_WRITE, 4),
            (A.SYS_CNODE_DELETE, 1),  # 2 moves up to be a child of 0
            (A.SYS_CNODE_IDENTIFY, 2),
            (A.SYS_CNODE_REVOKE, 0),  # removes 2 and 3, keeps 0
            (A.SYS_CNODE_IDENTIFY, 2),
            (A.SYS_CNODE_IDENTIFY, 3),
            (A.SYS_CNODE_IDENTIFY, 0),
            (A.SYS_CNODE_DELETE, 6),  # empty: OK as in seL4
            (A.SYS_CNODE_DELETE, 99),
            (A.SYS_CNODE_REVOKE, None),
        ]
    )
    assert results == [
        A.OK,
        A.OK,
        A.OK,
        A.OK,
        A.OK,
        A.OK,
        A.ERR_EMPTY_SLOT,
        A.ERR_EMPTY_SLOT,
        A.OK,
        A.OK,
        A.ERR_RANGE,
        A.ERR_RANGE,
    ]


def test_identify_errors():
    results, _, _, _ = solo([(A.SYS_CNODE_IDENTIFY, 0), (A.SYS_CNODE_IDENTIFY, 2**40)])
    assert results == [A.ERR_EMPTY_SLOT, A.ERR_RANGE]


def test_builder_revoke_removes_task_caps():
    system = System(debug=True)
    ep = system.endpoint("ep")
    task = system.task("t", lambda ipc, arg: None, priority=1, start=False)
    system.give(task, 2, ep)
    system.revoke(ep)
    assert task.obj.cspace.slots[2] is None
    assert ep.original.children == []


def test_cdt_rights_check():
    cnode = cdt.CNode(4)
    root = cdt.Cap(object(), A.TYPE_ENDPOINT, A.RIGHTS_ALL, 0)
    cdt.insert(cnode, 0, root, None)
    child = cdt.derive(root, A.RIGHT_READ, 0, cnode, 1)
    grandchild = cdt.derive(child, A.RIGHT_READ, 0, cnode, 2)
    assert cdt.check_rights_monotonic(grandchild)
    assert cdt.descendants(root) == [grandchild, child]
    assert cdt.is_descendant(grandchild, root)
    assert cdt.is_descendant(grandchild, child)
    # Only ancestors count (found by make mutate: the negative cases were never checked).
    other = cdt.derive(root, A.RIGHT_READ, 0, cnode, 3)
    assert not cdt.is_descendant(root, grandchild)
    assert not cdt.is_descendant(grandchild, other)
    assert not cdt.is_descendant(root, root)
    cnode.check_invariants()


def test_mutate_cannot_shrink_a_cap_with_children():
    results, _, task = run_with_ep(
        [
            (A.SYS_CNODE_COPY, 0, 1, A.RIGHTS_ALL),
            (A.SYS_CNODE_MUTATE, 0, 2, A.RIGHT_READ, 0),  # has a child: refused
            (A.SYS_CNODE_MUTATE, 0, 2, A.RIGHTS_ALL, 0),  # same rights: a move
            (A.SYS_CNODE_MUTATE, 1, 3, A.RIGHT_READ, 0),  # leaf: may shrink
        ]
    )
    assert results == [A.OK, A.ERR_ILLEGAL_OPERATION, A.OK, A.OK]
    assert task.obj.cspace.slots[3].rights == A.RIGHT_READ


def test_granted_cap_deleted_while_sender_blocked_is_not_transferred():
    # Found by make mutate: a deleted cap must stay dead (its cnode None), even when a blocked
    # sender still holds it as the cap of its message.
    got = []
    with System(debug=True) as system:
        ep = system.endpoint("ep")
        ntfn = system.notification("n")

        def sender(ipc, arg):
            k5.trap((A.SYS_SEND, 0, 1, (7,), None, 1))

        def receiver(ipc, arg):
            err = k5.trap((A.SYS_RECV, 0, 2))
            got.append((err, ipc.label, ipc.cap))

        s = system.task("s", sender, priority=10, slots=3)
        r = system.task("r", receiver, priority=10, slots=3, start=False)
        system.give(s, 0, ep, A.RIGHT_WRITE | A.RIGHT_GRANT)
        system.give(s, 1, ntfn)
        system.give(r, 0, ep, A.RIGHT_READ)
        system.run(10)  # the sender blocks with its cap in the message
        assert s.obj.state == A.STATE_BLOCKED_SEND
        system.revoke(ntfn)  # deletes the sender's cap to n
        system.start(r)
        system.run(10)
        assert got == [(A.OK, 1, A.NO_SLOT)]
        assert r.obj.cspace.slots[2] is None
