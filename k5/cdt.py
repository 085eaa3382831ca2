"""Capabilities, CNodes and the capability derivation tree (pure)."""

# Pure algorithm: imports nothing from arch. A Cap lives in exactly one CNode slot; derived caps
# (copy, mint) are its children in the derivation tree. Deleting a cap re-parents its children;
# revoking a cap deletes all of its descendants.
#
# Out of memory, nothing may leave the tree: a cap outside its parent's children would outlive
# a revoke of the parent. So insert() makes its one allocation (the parent's list of children)
# before it changes anything, and unlink() makes its one (the parent's list growing by the
# children) before it changes anything; when that fails the deleted cap stays in the tree as a
# null node (no slot, obj_type TYPE_NULL) that still holds its children, and goes when the last
# of them does. Revoke deletes through null nodes (it skips the nodes themselves).

from k5.abi import (
    BADGE_GEN_FLAG,
    BADGE_GEN_MASK,
    BADGE_GEN_SHIFT,
    TYPE_IRQ_CONTROL,
    TYPE_NULL,
    TYPE_UNTYPED,
)


class Cap:
    """A capability: (object, rights, badge) plus its place in the derivation tree.

    **Invariants:**
    - rights of a child are a subset of its parent's rights;
    - a cap is in `children` of its `parent` and in `cnode.slots[index]` while it exists;
    - obj_type is the type of obj and never TYPE_NULL for a live cap;
    - gen, set only on a cap with a generation badge (BADGE_GEN_FLAG), is the whole
      generation of obj's owner it names (see bind_generation; generation(cap) reads it, -1
      when unset: on MicroPython every attribute set costs an instance's dict room).
    """

    __slots__ = (
        "obj",
        "obj_type",
        "rights",
        "badge",
        "cnode",
        "index",
        "parent",
        "children",
        "gen",
    )

    def __init__(self, obj, obj_type, rights, badge):
        self.obj = obj
        self.obj_type = obj_type
        self.rights = rights
        self.badge = badge
        self.cnode = None
        self.index = -1
        self.parent = None
        self.children = None


def generation(cap):
    """The whole generation cap's generation badge names, or -1 (none bound)."""
    return getattr(cap, "gen", -1)


def bind_generation(cap):
    """Bind a generation badge to the whole generation it names (perform, cannot fail).

    The badge holds only generation & BADGE_GEN_MASK: compared alone, a badge made for
    generation g would be good again after BADGE_GEN_MASK + 1 restarts of the owner. So a cap
    whose badge is new (minted, mutated, given by the builder, or its endpoint given an
    owner) names the first generation at or after the owner's current one with those bits,
    and keeps that whole generation; copies keep their parent's (derive). Sends compare it
    with the owner's generation, which never wraps (k5/thread.py restart)."""
    badge = cap.badge
    owner = getattr(cap.obj, "owner", None)
    if badge & BADGE_GEN_FLAG and owner is not None:
        now = owner.generation
        cap.gen = now + (((badge >> BADGE_GEN_SHIFT) - now) & BADGE_GEN_MASK)
    elif generation(cap) >= 0:
        cap.gen = -1


class CNode:
    """A table of capability slots.

    **Invariants:**
    - every non-empty slot i holds a Cap whose cnode is self and whose index is i.
    """

    __slots__ = ("slots", "name")

    def __init__(self, size, name=""):
        self.slots = [None] * size
        self.name = name

    def size(self):
        return len(self.slots)

    def check_invariants(self):
        slots = self.slots
        for i in range(len(slots)):
            cap = slots[i]
            if cap is not None:
                assert cap.cnode is self and cap.index == i, "cap slot back-link"
                assert cap.obj_type != TYPE_NULL, "null cap in slot"
        return True


def _count(obj, delta):
    # Kernel objects count the caps that refer to them (cap_count): the kernel destroys an
    # object when its last cap goes. Other objects (tests of this module) are not counted.
    try:
        obj.cap_count += delta
    except AttributeError:
        pass


def insert(cnode, index, cap, parent):
    """Place `cap` in an empty slot as a child of `parent` (None for an original cap).

    Out of memory (MemoryError) it changes nothing."""
    adopt(parent, cap)
    place(cnode, index, cap)


def adopt(parent, cap):
    """The first half of insert: `cap` joins the tree under `parent` (and counts), in no slot
    yet. Out of memory (MemoryError) it changes nothing; after it nothing allocates."""
    if parent is not None:
        children = parent.children
        if children is None:
            children = [cap]
            parent.children = children
        else:
            children.append(cap)
    cap.parent = parent
    _count(cap.obj, 1)


def place(cnode, index, cap):
    """The second half of insert: an adopted `cap` into an empty slot (cannot fail)."""
    cap.cnode = cnode
    cap.index = index
    cnode.slots[index] = cap


def derive(parent, rights, badge, cnode, index):
    """Create a child of `parent` with `rights` and `badge` in cnode[index]."""
    cap = Cap(parent.obj, parent.obj_type, rights, badge)
    if badge == parent.badge:
        if badge & BADGE_GEN_FLAG:
            cap.gen = generation(parent)  # a copy of a stale generation badge stays stale
    else:
        bind_generation(cap)
    insert(cnode, index, cap, parent)
    return cap


def move(cap, cnode, index):
    """Move a cap to another slot; its place in the derivation tree is unchanged."""
    cap.cnode.slots[cap.index] = None
    cap.cnode = cnode
    cap.index = index
    cnode.slots[index] = cap


def unlink(cap):
    """Remove a cap from its slot and the tree; its children move up to its parent.

    Never fails: when the parent's list cannot grow (MemoryError), the cap stays in the tree
    as a null node holding its children (see above)."""
    parent = cap.parent
    children = cap.children
    keep = False
    if children and parent is not None:
        # The one allocation, before any change.
        try:
            if parent.children is None:
                parent.children = children
            else:
                parent.children.extend(children)
        except MemoryError:
            keep = True
    if cap.obj_type != TYPE_NULL:
        _count(cap.obj, -1)
    if cap.cnode is not None:
        cap.cnode.slots[cap.index] = None
        cap.cnode = None
        cap.index = -1
    cap.obj_type = TYPE_NULL
    if keep:
        return
    if children is not None:
        for child in children:
            child.parent = parent
    cap.children = None
    cap.parent = None
    _drop_child(parent, cap)


def _drop_child(parent, cap):
    # Take cap out of parent's children; a null node left without children goes too.
    while parent is not None and parent.children is not None:
        children = parent.children
        for i in range(len(children)):
            if children[i] is cap:
                children.pop(i)
                break
        if children or parent.obj_type != TYPE_NULL or parent.cnode is not None:
            return
        cap = parent
        parent = cap.parent
        cap.children = None
        cap.parent = None


def descendants(cap):
    """All descendants of a cap, deepest first (the order in which revoke deletes them)."""
    result = []
    stack = [cap]
    while stack:
        node = stack.pop()
        if node.children is not None:
            for child in node.children:
                result.append(child)
                stack.append(child)
    result.reverse()
    return result


def is_descendant(cap, ancestor):
    node = cap.parent
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False


def check_rights_monotonic(cap):
    """Rights never grow along a derivation: every ancestor holds all of a cap's rights."""
    node = cap.parent
    # (Untyped and IRQControl caps are parents of caps to the objects made from them.)
    while node is not None and node.obj_type != TYPE_UNTYPED and node.obj_type != TYPE_IRQ_CONTROL:
        assert (cap.rights & node.rights) == cap.rights, "rights grew along a derivation"
        assert node.obj is cap.obj, "derivation across objects"
        node = node.parent
    return True
