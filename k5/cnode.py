"""CNode invocations: copy, mint, move, mutate, delete, revoke, identify."""

from k5 import cdt, device, ipc, notification, reply_object, schedcontext, thread, timer
from k5 import abi
from k5.decode import dest_slot, ipc_words, is_rights, is_small, lookup


def sys_derive(kernel, tcb, sysno, request):
    # copy: (SYS, src, dest, rights)  mint: (SYS, src, dest, rights, badge)
    is_mint = sysno == abi.SYS_CNODE_MINT
    if len(request) != (5 if is_mint else 4):
        return abi.ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], 0, 0)
    if type(cap) is int:
        return cap
    err = dest_slot(tcb, request[2])
    if err != abi.OK:
        return err
    rights = request[3]
    if not is_rights(rights):
        return abi.ERR_INVALID_ARGUMENT
    badge = cap.badge
    if is_mint:
        new_badge = request[4]
        if not is_small(new_badge):
            return abi.ERR_INVALID_ARGUMENT
        if new_badge != 0:
            if cap.obj_type != abi.TYPE_ENDPOINT and cap.obj_type != abi.TYPE_NOTIFICATION:
                return abi.ERR_ILLEGAL_OPERATION
            if badge != 0:
                return abi.ERR_ILLEGAL_OPERATION
            badge = new_badge
    cdt.derive(cap, cap.rights & rights, badge, tcb.cspace, request[2])
    return abi.OK


def sys_move(kernel, tcb, sysno, request):
    # move: (SYS, src, dest)  mutate: (SYS, src, dest, rights, badge)
    is_mutate = sysno == abi.SYS_CNODE_MUTATE
    if len(request) != (5 if is_mutate else 3):
        return abi.ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], 0, 0)
    if type(cap) is int:
        return cap
    err = dest_slot(tcb, request[2])
    if err != abi.OK:
        return err
    rights = cap.rights
    badge = cap.badge
    if is_mutate:
        mask = request[3]
        if not is_rights(mask):
            return abi.ERR_INVALID_ARGUMENT
        new_badge = request[4]
        if not is_small(new_badge):
            return abi.ERR_INVALID_ARGUMENT
        if new_badge != 0 and new_badge != badge:
            if cap.obj_type != abi.TYPE_ENDPOINT and cap.obj_type != abi.TYPE_NOTIFICATION:
                return abi.ERR_ILLEGAL_OPERATION
            if badge != 0:
                return abi.ERR_ILLEGAL_OPERATION
            badge = new_badge
        if (rights & mask) != rights and cap.children:
            # Shrinking a cap that has derived children would leave them with more
            # rights than their parent: rights must never grow along a derivation.
            return abi.ERR_ILLEGAL_OPERATION
        rights &= mask
    cdt.move(cap, tcb.cspace, request[2])
    cap.rights = rights
    if badge != cap.badge:
        cap.badge = badge
        cdt.bind_generation(cap)
    if is_mutate and cap.obj_type == abi.TYPE_WINDOW:
        device.refresh(kernel, tcb)
    return abi.OK


def sys_delete(kernel, tcb, sysno, request):
    # (SYS_CNODE_DELETE or abi.SYS_CNODE_REVOKE, slot)
    if len(request) != 2:
        return abi.ERR_INVALID_ARGUMENT
    slot = request[1]
    slots = tcb.cspace.slots
    if type(slot) is not int or slot < 0 or slot >= len(slots):
        return abi.ERR_RANGE
    cap = slots[slot]
    if cap is None:
        return abi.OK
    if sysno == abi.SYS_CNODE_REVOKE:
        revoke(kernel, cap)
    else:
        delete(kernel, cap)
    return abi.OK


def delete(kernel, cap):
    """Delete one cap (perform).

    Threads blocked through it are woken with abi.ERR_REVOKED; when it was the object's last cap
    the object is destroyed as seL4's finaliseCap does, and its Untyped (if any) is refunded.
    """
    obj = cap.obj
    obj_type = cap.obj_type
    if obj_type == abi.TYPE_NULL:
        return
    parent = cap.parent
    cnode = cap.cnode
    cdt.unlink(cap)
    if obj_type == abi.TYPE_WINDOW and cnode is not None:
        device.refresh(kernel, device.holder(kernel, cnode))
    if obj_type == abi.TYPE_NOTIFICATION:
        # The timers and interrupt lines bound through this cap go with it.
        binding_gone(kernel, cap)
    if obj_type == abi.TYPE_ENDPOINT or obj_type == abi.TYPE_NOTIFICATION:
        tcb = obj.queue.head
        while tcb is not None:
            following = tcb.q_next
            if tcb.blocked_cap is cap:
                ipc.abort_blocked(kernel, tcb, abi.ERR_REVOKED)
            tcb = following
    if obj.cap_count == 0 and obj_type != abi.TYPE_SCHED_CONTROL:
        destroy(kernel, obj, obj_type)
        if parent is not None and parent.obj_type == abi.TYPE_UNTYPED:
            # The object came from this Untyped (its other caps were derived from the
            # retyped one and are gone): the quota comes back.
            untyped = parent.obj
            if untyped.remaining < untyped.quota:
                untyped.remaining += 1


def destroy(kernel, obj, obj_type):
    """Destroy an object whose last cap went (seL4 finaliseCap; perform)."""
    if obj_type == abi.TYPE_ENDPOINT:
        ipc.destroy_endpoint(kernel, obj)
    elif obj_type == abi.TYPE_NOTIFICATION:
        notification.destroy(kernel, obj)
        device.notification_gone(kernel, obj)
        timer.cancel(kernel, None, obj)
    elif obj_type == abi.TYPE_REPLY:
        reply_object.destroy_reply(kernel, obj)
    elif obj_type == abi.TYPE_SCHED_CONTEXT:
        schedcontext.destroy(kernel, obj)
    elif obj_type == abi.TYPE_TCB:
        thread.destroy(kernel, obj, delete)
    elif obj_type == abi.TYPE_IRQ_HANDLER:
        device.destroy_handler(kernel, obj)
    # An Untyped whose last cap goes leaves the objects made from it alive (no one can
    # revoke them any more); abi.TYPE_SCHED_CONTROL is never destroyed.


def revoke(kernel, cap):
    """Delete every cap derived from `cap` (deepest first); `cap` itself stays.

    A timer or interrupt line bound through `cap` is derived from it too (seL4 keeps a derived
    cap in an IRQHandler): it goes."""
    for child in cdt.descendants(cap):
        if child.obj_type != 0:
            delete(kernel, child)
    if cap.obj_type == abi.TYPE_NOTIFICATION:
        binding_gone(kernel, cap)


def binding_gone(kernel, cap):
    """The bindings made through a notification cap end (perform)."""
    timer.cancel(kernel, None, None, cap)
    device.notification_gone(kernel, None, cap)


def sys_identify(kernel, tcb, sysno, request):
    # (SYS_CNODE_IDENTIFY, slot): (type, rights, badge) into ipc.words[0:3]
    if len(request) != 2:
        return abi.ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], 0, 0)
    if type(cap) is int:
        return cap
    words = ipc_words(tcb)
    words[0] = cap.obj_type
    words[1] = cap.rights
    words[2] = cap.badge
    tcb.ipc.count = 3
    return abi.OK


def sys_cancel_badged_sends(kernel, tcb, sysno, request):
    # (SYS_CNODE_CANCEL_BADGED_SENDS, ep_slot): needs an endpoint cap with all rights
    if len(request) != 2:
        return abi.ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], abi.TYPE_ENDPOINT, abi.RIGHTS_ALL)
    if type(cap) is int:
        return cap
    if cap.badge != 0:
        ipc.cancel_badged_sends(kernel, cap.obj, cap.badge)
    return abi.OK
