"""Endpoint invocations: send, call, recv, reply_recv, nbsend_recv (decode and perform)."""


# The IPC path is the kernel's hot path: decode and perform are kept flat (few calls, locals
# over attribute lookups, no allocation), as the comments at each step say.

from k5 import abi, cdt
from k5.decode import lookup
from k5.notification import deliver_signal, return_sc
from k5.objects import QUEUE_ENDPOINT
from k5.lease import decode_lease
from k5.message import decode_message, decode_recv_slot, transfer
from k5.reply_object import arm_reply, decode_reply, decode_reply_slot, do_reply


def decode_send(tcb, request, is_call):
    """Decode the send half of send/call/nbsend/nbsend_recv: the endpoint Cap or an error."""
    cap = lookup(tcb, request[1], abi.TYPE_ENDPOINT, abi.RIGHT_WRITE)
    if type(cap) is int:
        return cap
    if is_call and (cap.rights & (abi.RIGHT_GRANT | abi.RIGHT_GRANT_REPLY)) == 0:
        return abi.ERR_RIGHTS
    err = decode_message(tcb, request, 2)
    if err != abi.OK:
        return err
    badge = cap.badge
    endpoint = cap.obj
    if badge & abi.BADGE_GEN_FLAG and endpoint.owner is not None:
        # The whole generation the badge was bound to (cdt.bind_generation), never its
        # masked bits alone: those come round again after BADGE_GEN_MASK + 1 restarts.
        if cdt.generation(cap) < 0:
            cdt.bind_generation(cap)  # made before its endpoint had an owner
        if cdt.generation(cap) != endpoint.owner.generation:
            return abi.ERR_STALE
    tcb.msg_badge = badge
    tcb.msg_can_grant = (cap.rights & abi.RIGHT_GRANT) != 0
    tcb.msg_is_call = is_call
    return cap


def sys_send(kernel, tcb, sysno, request):
    # send/nbsend: (SYS, ep_slot, label, words, data, cap_slot); call: + recv_slot
    # call with a lease: + lease, lease_rights (k5/lease.py)
    is_call = sysno == abi.SYS_CALL
    count = len(request)
    if count != (7 if is_call else 6) and not (is_call and count == 9):
        return abi.ERR_INVALID_ARGUMENT
    if is_call:
        err = decode_recv_slot(tcb, request[6])
        if err != abi.OK:
            return err
        if count == 9:
            err = decode_lease(request[7], request[8])
            if err != abi.OK:
                return err
            # The arch's own record of the buffer (k5/lease.py); it ends when the task next runs,
            # so a call refused below leaves none.
            if not kernel.arch.lease_set(tcb.context, request[7], request[8]):
                return abi.ERR_INVALID_ARGUMENT
    cap = decode_send(tcb, request, is_call)
    if type(cap) is int:
        return cap
    if is_call:
        tcb.recv_slot = request[6]
        if count == 9:
            tcb.lease = (request[7], request[8])
    endpoint = cap.obj
    if sysno == abi.SYS_NBSEND:
        # seL4: a non-blocking send with nobody waiting is dropped silently (the sender
        # learns nothing about the receiver).
        do_send(kernel, tcb, endpoint, cap, False)
        return abi.OK
    do_send(kernel, tcb, endpoint, cap, True)
    return None


def sys_recv(kernel, tcb, sysno, request):
    # (SYS_RECV or abi.SYS_NBRECV, ep_slot, recv_slot[, reply_slot])
    count = len(request)
    if count != 3 and count != 4:
        return abi.ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], abi.TYPE_ENDPOINT, abi.RIGHT_READ)
    if type(cap) is int:
        return cap
    err = decode_recv_slot(tcb, request[2])
    if err != abi.OK:
        return err
    reply_cap = None
    if count == 4:
        reply_cap = decode_reply_slot(tcb, request[3])
        if type(reply_cap) is int:
            return reply_cap
    tcb.recv_slot = request[2]
    tcb.recv_reply = reply_cap
    ntfn = tcb.bound_ntfn
    if sysno == abi.SYS_NBRECV and not (ntfn is not None and ntfn.active):
        sender = cap.obj.queue.head
        if sender is None or sender.state != abi.STATE_BLOCKED_SEND:
            return abi.ERR_WOULD_BLOCK
    do_recv(kernel, tcb, cap.obj, cap)
    return None


def sys_reply_recv(kernel, tcb, sysno, request):
    # (SYS_REPLY_RECV, ep_slot, label, words, data, cap_slot, recv_slot[, reply_slot])
    count = len(request)
    if count != 7 and count != 8:
        return abi.ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], abi.TYPE_ENDPOINT, abi.RIGHT_READ)
    if type(cap) is int:
        return cap
    err = decode_recv_slot(tcb, request[6])
    if err != abi.OK:
        return err
    reply_cap = None
    if count == 8:
        reply_cap = decode_reply_slot(tcb, request[7])
        if type(reply_cap) is int:
            return reply_cap
    err = decode_message(tcb, request, 2)
    if err != abi.OK:
        return err
    # seL4 semantics: a missing reply is not an error for ReplyRecv; the receive goes on.
    if reply_cap is None:
        if tcb.pending_reply is not None and decode_reply(tcb) == abi.OK:
            reply = tcb.pending_reply
            tcb.pending_reply = None
            do_reply(kernel, tcb, reply)
    elif reply_cap.obj.caller is not None:
        do_reply(kernel, tcb, reply_cap.obj)
    tcb.recv_slot = request[6]
    tcb.recv_reply = reply_cap
    do_recv(kernel, tcb, cap.obj, cap)
    return None


def sys_nbsend_recv(kernel, tcb, sysno, request):
    # (SYS_NBSEND_RECV, send_ep, label, words, data, cap_slot, recv_ep, recv_slot, reply_slot)
    if len(request) != 9:
        return abi.ERR_INVALID_ARGUMENT
    recv_cap = lookup(tcb, request[6], abi.TYPE_ENDPOINT, abi.RIGHT_READ)
    if type(recv_cap) is int:
        return recv_cap
    err = decode_recv_slot(tcb, request[7])
    if err != abi.OK:
        return err
    reply_cap = decode_reply_slot(tcb, request[8])
    if type(reply_cap) is int:
        return reply_cap
    cap = decode_send(tcb, request, False)
    if type(cap) is int:
        return cap
    do_send(kernel, tcb, cap.obj, cap, False)
    tcb.recv_slot = request[7]
    tcb.recv_reply = reply_cap
    do_recv(kernel, tcb, recv_cap.obj, recv_cap)
    return None


def do_send(kernel, tcb, endpoint, cap, blocking):
    receiver = endpoint.queue.head
    if receiver is not None and receiver.state == abi.STATE_BLOCKED_RECV:
        endpoint.queue.remove(receiver)
        receiver.blocked_on = None
        receiver.blocked_cap = None
        transfer(kernel, tcb, receiver, tcb.msg_badge, tcb.msg_can_grant, endpoint)
        kernel.set_result(receiver.context, abi.OK)
        if tcb.msg_is_call:
            arm_reply(kernel, tcb, receiver, True)
        else:
            kernel.set_result(tcb.context, abi.OK)
            sender_done(kernel, tcb)
        receiver.state = abi.STATE_RUNNING
        kernel.schedule_runnable(receiver)
        return
    if not blocking:
        tcb.msg_cap = None
        tcb.msg_data = None
        return
    if tcb.msg_data is not None and type(tcb.msg_data) is not bytes:
        # Copied before anything changes: this allocation may fail (MemoryError, the syscall
        # then fails with ERR_NOT_ENOUGH_MEMORY).
        tcb.msg_data = bytes(tcb.msg_data)
    if tcb.msg_count:
        # So are the words: the request they came in is the decoder's to reuse at the next
        # trap (the device decodes hot requests into scratch tuples, native/k5arch/wire.c).
        tcb.msg_words = tuple([word for word in tcb.msg_words])
    tcb.state = abi.STATE_BLOCKED_SEND
    tcb.blocked_on = endpoint
    tcb.blocked_cap = cap
    endpoint.queue.insert_by_priority(tcb)
    tcb.queue_kind = QUEUE_ENDPOINT
    if tcb is kernel.current:
        kernel.current = None


def sender_done(kernel, tcb):
    """A sender's message was delivered: it runs on, or stays stopped after a fault."""
    if tcb.fault_kind == abi.FAULT_EXCEPTION:
        tcb.fault_kind = 0
        tcb.state = abi.STATE_FAULTED
        return
    if tcb.state != abi.STATE_RUNNING:
        tcb.state = abi.STATE_RUNNING
        kernel.schedule_runnable(tcb)


def do_recv(kernel, tcb, endpoint, cap):
    ntfn = tcb.bound_ntfn
    if ntfn is not None and ntfn.active:
        deliver_signal(tcb, ntfn.word)
        ntfn.word = 0
        ntfn.active = False
        kernel.set_result(tcb.context, abi.OK)
        return
    sender = endpoint.queue.head
    if sender is not None and sender.state == abi.STATE_BLOCKED_SEND:
        endpoint.queue.remove(sender)
        sender.blocked_on = None
        sender.blocked_cap = None
        transfer(kernel, sender, tcb, sender.msg_badge, sender.msg_can_grant, endpoint)
        kernel.set_result(tcb.context, abi.OK)
        if sender.msg_is_call:
            sender.state = abi.STATE_RUNNING
            arm_reply(kernel, sender, tcb, sender.fault_kind == 0)
            if tcb.sc is not None and tcb.queue is None and tcb is not kernel.current:
                kernel.schedule_runnable(tcb)
        else:
            kernel.set_result(sender.context, abi.OK)
            sender_done(kernel, sender)
        return
    tcb.state = abi.STATE_BLOCKED_RECV
    tcb.blocked_on = endpoint
    tcb.blocked_cap = cap
    endpoint.queue.insert_by_priority(tcb)
    tcb.queue_kind = QUEUE_ENDPOINT
    if tcb is kernel.current:
        kernel.current = None
    if ntfn is not None and ntfn.sc is not None and tcb.sc is ntfn.sc and tcb.sc_reply is None:
        return_sc(kernel, ntfn, tcb)
    if tcb.passive_on_recv:
        tcb.passive_on_recv = False
        if tcb.sc is not None and tcb.sc is tcb.home_sc:
            kernel.unbind_sc(tcb.sc)
            if kernel.trace is not None:
                kernel.emit("passive " + tcb.name)


def abort_blocked(kernel, tcb, result):
    """Wake a thread queued on an endpoint or notification with an error (perform)."""
    kernel.dequeue(tcb)
    tcb.blocked_on = None
    tcb.blocked_cap = None
    tcb.msg_cap = None
    tcb.msg_data = None
    tcb.lease = None
    if tcb.fault_kind != abi.FAULT_TIMEOUT:
        kernel.set_result(tcb.context, result)  # (see reply_object.disarm_reply)
    if tcb.fault_kind == abi.FAULT_EXCEPTION:
        tcb.fault_kind = 0
        tcb.state = abi.STATE_FAULTED
    else:
        tcb.fault_kind = 0
        tcb.state = abi.STATE_RUNNING
        kernel.schedule_runnable(tcb)


def destroy_endpoint(kernel, endpoint):
    """The last cap of an endpoint went: every queued thread gets abi.ERR_REVOKED (perform)."""
    tcb = endpoint.queue.head
    while tcb is not None:
        following = tcb.q_next
        abort_blocked(kernel, tcb, abi.ERR_REVOKED)
        tcb = following


def cancel_badged_sends(kernel, endpoint, badge):
    """Wake every sender queued on endpoint with `badge` with abi.ERR_REVOKED (perform)."""
    tcb = endpoint.queue.head
    while tcb is not None:
        following = tcb.q_next
        if tcb.state == abi.STATE_BLOCKED_SEND and tcb.msg_badge == badge:
            abort_blocked(kernel, tcb, abi.ERR_REVOKED)
        tcb = following
