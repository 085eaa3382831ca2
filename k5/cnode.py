"""CNode invocations: copy, mint, move, mutate, delete, revoke, identify."""

from k5 import cdt
from k5.abi import (
    ERR_ILLEGAL_OPERATION,
    ERR_INVALID_ARGUMENT,
    ERR_RANGE,
    ERR_REVOKED,
    FAULT_EXCEPTION,
    OK,
    STATE_FAULTED,
    STATE_RUNNING,
    SYS_CNODE_MINT,
    SYS_CNODE_MUTATE,
    SYS_CNODE_REVOKE,
    TYPE_ENDPOINT,
    TYPE_NOTIFICATION,
)
from k5.decode import dest_slot, ipc_words, is_rights, is_small, lookup


def sys_derive(kernel, tcb, sysno, request):
    # copy: (SYS, src, dest, rights)  mint: (SYS, src, dest, rights, badge)
    is_mint = sysno == SYS_CNODE_MINT
    if len(request) != (5 if is_mint else 4):
        return ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], 0, 0)
    if type(cap) is int:
        return cap
    err = dest_slot(tcb, request[2])
    if err != OK:
        return err
    rights = request[3]
    if not is_rights(rights):
        return ERR_INVALID_ARGUMENT
    badge = cap.badge
    if is_mint:
        new_badge = request[4]
        if not is_small(new_badge):
            return ERR_INVALID_ARGUMENT
        if new_badge != 0:
            if cap.obj_type != TYPE_ENDPOINT and cap.obj_type != TYPE_NOTIFICATION:
                return ERR_ILLEGAL_OPERATION
            if badge != 0:
                return ERR_ILLEGAL_OPERATION
            badge = new_badge
    cdt.derive(cap, cap.rights & rights, badge, tcb.cspace, request[2])
    return OK


def sys_move(kernel, tcb, sysno, request):
    # move: (SYS, src, dest)  mutate: (SYS, src, dest, rights, badge)
    is_mutate = sysno == SYS_CNODE_MUTATE
    if len(request) != (5 if is_mutate else 3):
        return ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], 0, 0)
    if type(cap) is int:
        return cap
    err = dest_slot(tcb, request[2])
    if err != OK:
        return err
    rights = cap.rights
    badge = cap.badge
    if is_mutate:
        mask = request[3]
        if not is_rights(mask):
            return ERR_INVALID_ARGUMENT
        new_badge = request[4]
        if not is_small(new_badge):
            return ERR_INVALID_ARGUMENT
        if new_badge != 0 and new_badge != badge:
            if cap.obj_type != TYPE_ENDPOINT and cap.obj_type != TYPE_NOTIFICATION:
                return ERR_ILLEGAL_OPERATION
            if badge != 0:
                return ERR_ILLEGAL_OPERATION
            badge = new_badge
        if (rights & mask) != rights and cap.children:
            # Shrinking a cap that has derived children would leave them with more
            # rights than their parent: rights must never grow along a derivation.
            return ERR_ILLEGAL_OPERATION
        rights &= mask
    cdt.move(cap, tcb.cspace, request[2])
    cap.rights = rights
    cap.badge = badge
    return OK


def sys_delete(kernel, tcb, sysno, request):
    # (SYS_CNODE_DELETE or SYS_CNODE_REVOKE, slot)
    if len(request) != 2:
        return ERR_INVALID_ARGUMENT
    slot = request[1]
    slots = tcb.cspace.slots
    if type(slot) is not int or slot < 0 or slot >= len(slots):
        return ERR_RANGE
    cap = slots[slot]
    if cap is None:
        return OK
    if sysno == SYS_CNODE_REVOKE:
        revoke(kernel, cap)
    else:
        delete(kernel, cap)
    return OK


def delete(kernel, cap):
    """Delete one cap; threads blocked through it are woken with ERR_REVOKED."""
    obj = cap.obj
    obj_type = cap.obj_type
    cdt.unlink(cap)
    if obj_type == TYPE_ENDPOINT or obj_type == TYPE_NOTIFICATION:
        tcb = obj.queue.head
        while tcb is not None:
            following = tcb.q_next
            if tcb.blocked_cap is cap:
                kernel.dequeue(tcb)
                tcb.blocked_on = None
                tcb.blocked_cap = None
                tcb.msg_cap = None
                kernel.arch.set_result(tcb.context, ERR_REVOKED)
                if tcb.fault_kind == FAULT_EXCEPTION:
                    tcb.fault_kind = 0
                    tcb.state = STATE_FAULTED
                else:
                    tcb.fault_kind = 0
                    tcb.state = STATE_RUNNING
                    kernel.schedule_runnable(tcb)
            tcb = following


def revoke(kernel, cap):
    """Delete every cap derived from `cap` (deepest first); `cap` itself stays."""
    for child in cdt.descendants(cap):
        if child.obj_type != 0:
            delete(kernel, child)


def sys_identify(kernel, tcb, sysno, request):
    # (SYS_CNODE_IDENTIFY, slot): (type, rights, badge) into ipc.words[0:3]
    if len(request) != 2:
        return ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], 0, 0)
    if type(cap) is int:
        return cap
    words = ipc_words(tcb)
    words[0] = cap.obj_type
    words[1] = cap.rights
    words[2] = cap.badge
    tcb.ipc.count = 3
    return OK
