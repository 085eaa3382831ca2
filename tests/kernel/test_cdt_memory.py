"""The derivation tree out of memory: no cap leaves the tree, so none outlives a revoke."""

# k5/cdt.py is pure: these drive it directly. The heap running out is injected where the tree
# allocates (a parent's list of children growing), as the shared heap of the board can run out
# at any allocation (tests/target/device/heap_full.py fills it for real).

import pytest

from k5 import cdt


class Full(list):
    """A list of children that cannot grow: the heap is full."""

    def append(self, item):
        raise MemoryError

    def extend(self, items):
        raise MemoryError


class Obj:
    cap_count = 0


def chain():
    # root -> a -> b -> c in one CNode (slots 0..3), each derived from the one before.
    cnode = cdt.CNode(8)
    obj = Obj()
    root = cdt.Cap(obj, 4, 15, 0)
    cdt.insert(cnode, 0, root, None)
    a = cdt.derive(root, 15, 0, cnode, 1)
    b = cdt.derive(a, 15, 0, cnode, 2)
    c = cdt.derive(b, 15, 0, cnode, 3)
    return cnode, obj, root, a, b, c


def revoke(cap):
    for child in cdt.descendants(cap):
        if child.obj_type != 0:
            cdt.unlink(child)


def test_an_insert_out_of_memory_changes_nothing():
    cnode, obj, root, a, b, c = chain()
    a.children = Full(a.children)
    with pytest.raises(MemoryError):
        cdt.derive(a, 15, 0, cnode, 4)
    assert cnode.slots[4] is None and obj.cap_count == 4
    assert list(a.children) == [b]


def test_a_delete_out_of_memory_keeps_the_children_under_a_null_node():
    cnode, obj, root, a, b, c = chain()
    a.children = Full(a.children)  # b's child c cannot move up to a
    cdt.unlink(b)
    assert cnode.slots[2] is None and b.obj_type == 0 and obj.cap_count == 3
    assert cdt.is_descendant(c, a) and cdt.is_descendant(c, root)
    # A revoke of a (or root) still deletes c; the null node goes with its last child.
    revoke(a)
    assert cnode.slots[3] is None and c.cnode is None and obj.cap_count == 2
    assert list(a.children) == [] and b.parent is None
    cnode.check_invariants()


def test_a_null_node_goes_when_its_last_child_is_deleted():
    cnode, obj, root, a, b, c = chain()
    a.children = Full(a.children)
    cdt.unlink(b)
    cdt.unlink(c)  # c's own delete: b, childless and null, leaves a's children
    assert list(a.children) == [] and b.parent is None and b.children is None
    assert cdt.descendants(root) == [a]


def test_with_memory_a_delete_moves_the_children_up():
    cnode, obj, root, a, b, c = chain()
    cdt.unlink(b)
    assert c.parent is a and a.children == [c] and b.parent is None
    revoke(root)
    assert [cap is None for cap in cnode.slots[:4]] == [False, True, True, True]
