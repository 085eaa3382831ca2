"""Leases (from Hubris): a caller lends a buffer to the server for the duration of one call."""

# `call(..., lease=buf, lease_rights=RIGHT_READ | RIGHT_WRITE)` lends the caller's bytearray or
# memoryview; nothing is copied until the server asks. The server reaches the buffer through
# the reply that binds it to the caller: borrow_info gives (length, rights), borrow_read copies
# from the lease into a buffer of the server's own, borrow_write copies a buffer of the
# server's into the lease. The server never holds a reference to the caller's object; the
# lease ends with the reply (or when the call is cancelled). A 4 KB sensor buffer costs one
# call and one borrow.

from k5 import abi
from k5.decode import ipc_words, lookup


def decode_lease(buffer, rights):
    """abi.OK if `buffer` can be lent with `rights` (a call's decode)."""
    kind = type(buffer)
    if kind is not bytearray and kind is not memoryview:
        return abi.ERR_INVALID_ARGUMENT
    if type(rights) is not int or rights <= 0 or (rights & ~abi.RIGHTS_RW) != 0:
        return abi.ERR_INVALID_ARGUMENT
    if len(buffer) >= abi.WORD_LIMIT:
        return abi.ERR_INVALID_ARGUMENT
    return abi.OK


def _lender(tcb, slot):
    """The caller bound to the reply `slot` names, which lends a buffer, or an error.

    slot NO_SLOT names the implicit reply.
    """
    if type(slot) is not int:
        return abi.ERR_INVALID_ARGUMENT
    if slot == abi.NO_SLOT:
        reply = tcb.pending_reply
        if reply is None:
            return abi.ERR_NO_REPLY
        if reply.seq != tcb.pending_seq or reply.caller is None:
            return abi.ERR_STALE
    else:
        cap = lookup(tcb, slot, abi.TYPE_REPLY, 0)
        if type(cap) is int:
            return cap
        reply = cap.obj
        if reply.caller is None:
            return abi.ERR_NO_REPLY
    if reply.caller.lease is None:
        return abi.ERR_ILLEGAL_OPERATION
    return reply.caller


def sys_borrow_info(kernel, tcb, sysno, request):
    # (SYS_BORROW_INFO, reply_slot): (length, rights) into ipc.words[0:2]
    if len(request) != 2:
        return abi.ERR_INVALID_ARGUMENT
    lender = _lender(tcb, request[1])
    if type(lender) is int:
        return lender
    words = ipc_words(tcb)
    words[0] = len(lender.lease[0])
    words[1] = lender.lease[1]
    tcb.ipc.count = 2
    return abi.OK


def sys_borrow(kernel, tcb, sysno, request):
    # (abi.SYS_BORROW_READ or SYS_BORROW_WRITE, reply_slot, offset, buffer)
    if len(request) != 4:
        return abi.ERR_INVALID_ARGUMENT
    is_read = sysno == abi.SYS_BORROW_READ
    offset = request[2]
    buffer = request[3]
    kind = type(buffer)
    if type(offset) is not int or offset < 0 or offset > abi.WORD_MAX:
        return abi.ERR_INVALID_ARGUMENT
    if is_read:
        if kind is not bytearray and kind is not memoryview:
            return abi.ERR_INVALID_ARGUMENT
    elif kind is not bytes and kind is not bytearray and kind is not memoryview:
        return abi.ERR_INVALID_ARGUMENT
    lender = _lender(tcb, request[1])
    if type(lender) is int:
        return lender
    lease, rights = lender.lease
    needed = abi.RIGHT_READ if is_read else abi.RIGHT_WRITE
    if (rights & needed) == 0:
        return abi.ERR_RIGHTS
    size = len(lease)
    if offset > size:
        return abi.ERR_RANGE
    if is_read:
        count = min(len(buffer), size - offset)
    else:
        count = len(buffer)
        if count > size - offset:
            return abi.ERR_RANGE
    # The arch copies (k5/arch.py): on the device from its own record of the lease, checked when
    # it was lent, not from the kernel's object of it, which a task could redirect meanwhile.
    if not kernel.arch.lease_copy(lender.context, lease, offset, buffer, count, not is_read):
        return abi.ERR_INVALID_ARGUMENT  # (a read-only buffer to read into: the task's mistake)
    ipc_words(tcb)[0] = count
    tcb.ipc.count = 1
    return abi.OK
