"""Endpoint invocations: send, call, recv, reply, reply_recv (decode and perform)."""

# The IPC path is the kernel's hot path: decode and perform are kept flat (few calls, locals
# over attribute lookups, no allocation), as the comments at each step say.

from k5 import cdt
from k5.abi import (
    BADGE_GEN_FLAG,
    BADGE_GEN_MASK,
    BADGE_GEN_SHIFT,
    ERR_INVALID_ARGUMENT,
    ERR_NO_REPLY,
    ERR_RANGE,
    ERR_REVOKED,
    ERR_RIGHTS,
    ERR_STALE,
    ERR_WOULD_BLOCK,
    FAULT_EXCEPTION,
    FAULT_TIMEOUT,
    MSG_MAX_BYTES,
    MSG_MAX_WORDS,
    NO_SLOT,
    OK,
    RIGHT_GRANT,
    RIGHT_GRANT_REPLY,
    RIGHT_READ,
    RIGHT_WRITE,
    SOURCE_ENDPOINT,
    STATE_BLOCKED_RECV,
    STATE_BLOCKED_REPLY,
    STATE_BLOCKED_SEND,
    STATE_FAULTED,
    STATE_RUNNING,
    SYS_CALL,
    SYS_NBRECV,
    SYS_NBSEND,
    TYPE_ENDPOINT,
    TYPE_REPLY,
)
from k5.decode import ipc_words, is_small, is_word, lookup
from k5.notification import deliver_signal, return_sc
from k5.objects import QUEUE_ENDPOINT, QUEUE_READY, QUEUE_RELEASE

# --- decode --------------------------------------------------------------------------------------


def decode_message(tcb, request, label_index):
    """Validate the label, words, data and cap of an IPC request into tcb's msg_* buffer."""
    label = request[label_index]
    if not is_small(label):
        return ERR_INVALID_ARGUMENT
    words = request[label_index + 1]
    kind = type(words)
    if kind is not tuple and kind is not list:
        return ERR_INVALID_ARGUMENT
    count = len(words)
    if count > MSG_MAX_WORDS:
        return ERR_INVALID_ARGUMENT
    msg_words = tcb.msg_words
    for i in range(count):
        word = words[i]
        if not is_word(word):
            return ERR_INVALID_ARGUMENT
        msg_words[i] = word
    data = request[label_index + 2]
    length = 0
    if data is not None:
        kind = type(data)
        if kind is str:
            if len(data) > MSG_MAX_BYTES:
                return ERR_INVALID_ARGUMENT
            try:
                data = data.encode()
            except Exception:
                return ERR_INVALID_ARGUMENT
        elif kind is bytearray:
            data = bytes(data)
        elif kind is not bytes:
            return ERR_INVALID_ARGUMENT
        length = len(data)
        if length > MSG_MAX_BYTES:
            return ERR_INVALID_ARGUMENT
    cap_slot = request[label_index + 3]
    cap = None
    if type(cap_slot) is not int:
        return ERR_INVALID_ARGUMENT
    if cap_slot != NO_SLOT:
        cap = lookup(tcb, cap_slot, 0, 0)
        if type(cap) is int:
            return cap
    tcb.msg_label = label
    tcb.msg_count = count
    tcb.msg_data = data
    tcb.msg_length = length
    tcb.msg_cap = cap
    return OK


def decode_recv_slot(tcb, slot):
    if type(slot) is not int:
        return ERR_INVALID_ARGUMENT
    if slot == NO_SLOT:
        return OK
    if slot < 0 or slot >= len(tcb.cspace.slots):
        return ERR_RANGE
    return OK


def decode_reply_slot(tcb, slot):
    """The Reply cap named by a receive, None for the implicit reply, or an int error."""
    if type(slot) is not int:
        return ERR_INVALID_ARGUMENT
    if slot == NO_SLOT:
        return None
    return lookup(tcb, slot, TYPE_REPLY, 0)


def decode_reply(tcb):
    """OK if tcb holds a pending implicit reply (the last call it received)."""
    reply = tcb.pending_reply
    if reply is None:
        return ERR_NO_REPLY
    if reply.seq != tcb.pending_seq or reply.caller is None:
        tcb.pending_reply = None
        return ERR_STALE
    return OK


# --- syscalls ------------------------------------------------------------------------------------


def decode_send(tcb, request, is_call):
    """Decode the send half of send/call/nbsend/nbsend_recv: the endpoint Cap or an error."""
    cap = lookup(tcb, request[1], TYPE_ENDPOINT, RIGHT_WRITE)
    if type(cap) is int:
        return cap
    if is_call and (cap.rights & (RIGHT_GRANT | RIGHT_GRANT_REPLY)) == 0:
        return ERR_RIGHTS
    err = decode_message(tcb, request, 2)
    if err != OK:
        return err
    badge = cap.badge
    endpoint = cap.obj
    if badge & BADGE_GEN_FLAG and endpoint.owner is not None:
        if ((badge >> BADGE_GEN_SHIFT) & BADGE_GEN_MASK) != (
            endpoint.owner.generation & BADGE_GEN_MASK
        ):
            return ERR_STALE
    tcb.msg_badge = badge
    tcb.msg_can_grant = (cap.rights & RIGHT_GRANT) != 0
    tcb.msg_is_call = is_call
    return cap


def sys_send(kernel, tcb, sysno, request):
    # send/nbsend: (SYS, ep_slot, label, words, data, cap_slot); call: + recv_slot
    is_call = sysno == SYS_CALL
    if len(request) != (7 if is_call else 6):
        return ERR_INVALID_ARGUMENT
    if is_call:
        err = decode_recv_slot(tcb, request[6])
        if err != OK:
            return err
    cap = decode_send(tcb, request, is_call)
    if type(cap) is int:
        return cap
    if is_call:
        tcb.recv_slot = request[6]
    endpoint = cap.obj
    if sysno == SYS_NBSEND:
        # seL4: a non-blocking send with nobody waiting is dropped silently (the sender
        # learns nothing about the receiver).
        do_send(kernel, tcb, endpoint, cap, False)
        return OK
    do_send(kernel, tcb, endpoint, cap, True)
    return None


def sys_recv(kernel, tcb, sysno, request):
    # (SYS_RECV or SYS_NBRECV, ep_slot, recv_slot[, reply_slot])
    count = len(request)
    if count != 3 and count != 4:
        return ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], TYPE_ENDPOINT, RIGHT_READ)
    if type(cap) is int:
        return cap
    err = decode_recv_slot(tcb, request[2])
    if err != OK:
        return err
    reply_cap = None
    if count == 4:
        reply_cap = decode_reply_slot(tcb, request[3])
        if type(reply_cap) is int:
            return reply_cap
    tcb.recv_slot = request[2]
    tcb.recv_reply = reply_cap
    ntfn = tcb.bound_ntfn
    if sysno == SYS_NBRECV and not (ntfn is not None and ntfn.active):
        sender = cap.obj.queue.head
        if sender is None or sender.state != STATE_BLOCKED_SEND:
            return ERR_WOULD_BLOCK
    do_recv(kernel, tcb, cap.obj, cap)
    return None


def sys_reply(kernel, tcb, sysno, request):
    # (SYS_REPLY, reply_slot, label, words, data, cap_slot); reply_slot NO_SLOT: implicit
    if len(request) != 6:
        return ERR_INVALID_ARGUMENT
    reply_cap = decode_reply_slot(tcb, request[1])
    if type(reply_cap) is int:
        return reply_cap
    err = decode_message(tcb, request, 2)
    if err != OK:
        return err
    if reply_cap is None:
        err = decode_reply(tcb)
        if err != OK:
            return err
        reply = tcb.pending_reply
        tcb.pending_reply = None
    else:
        reply = reply_cap.obj
        if reply.caller is None:
            return ERR_NO_REPLY
    do_reply(kernel, tcb, reply)
    return OK


def sys_reply_recv(kernel, tcb, sysno, request):
    # (SYS_REPLY_RECV, ep_slot, label, words, data, cap_slot, recv_slot[, reply_slot])
    count = len(request)
    if count != 7 and count != 8:
        return ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], TYPE_ENDPOINT, RIGHT_READ)
    if type(cap) is int:
        return cap
    err = decode_recv_slot(tcb, request[6])
    if err != OK:
        return err
    reply_cap = None
    if count == 8:
        reply_cap = decode_reply_slot(tcb, request[7])
        if type(reply_cap) is int:
            return reply_cap
    err = decode_message(tcb, request, 2)
    if err != OK:
        return err
    # seL4 semantics: a missing reply is not an error for ReplyRecv; the receive goes on.
    if reply_cap is None:
        if tcb.pending_reply is not None and decode_reply(tcb) == OK:
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
        return ERR_INVALID_ARGUMENT
    recv_cap = lookup(tcb, request[6], TYPE_ENDPOINT, RIGHT_READ)
    if type(recv_cap) is int:
        return recv_cap
    err = decode_recv_slot(tcb, request[7])
    if err != OK:
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


# --- perform -------------------------------------------------------------------------------------


def transfer(kernel, sender, receiver, badge, can_grant, endpoint):
    """Copy sender's msg_* buffer into the receiver's IPC buffer (cannot fail).

    `endpoint` is the endpoint the message came through (None for a reply): a cap of that
    same endpoint is unwrapped (its badge lands in ipc.unwrapped), as seL4 does.
    """
    ipc = receiver.ipc
    ipc.label = sender.msg_label
    ipc.badge = badge
    count = sender.msg_count
    ipc.count = count
    src = sender.msg_words
    dst = receiver.ipc_words
    if len(dst) != MSG_MAX_WORDS:
        dst = ipc_words(receiver)
    for i in range(count):
        dst[i] = src[i]
    length = sender.msg_length
    ipc.length = length
    if length > 0:
        receiver.ipc_data[0:length] = sender.msg_data
    ipc.source = SOURCE_ENDPOINT
    ipc.cap = NO_SLOT
    ipc.unwrapped = -1
    log = kernel.delivery_log
    if log is not None:
        log.append((receiver.tid, sender.msg_label, src[0] if count else None))
    cap = sender.msg_cap
    sender.msg_cap = None
    sender.msg_data = None
    if cap is None or not can_grant or cap.cnode is None:
        return
    if cap.obj is endpoint and cap.obj_type == TYPE_ENDPOINT:
        ipc.unwrapped = cap.badge
        return
    slot = receiver.recv_slot
    if slot < 0 or slot >= len(receiver.cspace.slots):
        return
    if receiver.cspace.slots[slot] is not None:
        return
    cdt.derive(cap, cap.rights, cap.badge, receiver.cspace, slot)
    ipc.cap = slot


def do_send(kernel, tcb, endpoint, cap, blocking):
    receiver = endpoint.queue.head
    if receiver is not None and receiver.state == STATE_BLOCKED_RECV:
        endpoint.queue.remove(receiver)
        receiver.blocked_on = None
        receiver.blocked_cap = None
        transfer(kernel, tcb, receiver, tcb.msg_badge, tcb.msg_can_grant, endpoint)
        kernel.arch.set_result(receiver.context, OK)
        if tcb.msg_is_call:
            arm_reply(kernel, tcb, receiver, True)
        else:
            kernel.arch.set_result(tcb.context, OK)
            sender_done(kernel, tcb)
        receiver.state = STATE_RUNNING
        kernel.schedule_runnable(receiver)
        return
    if not blocking:
        tcb.msg_cap = None
        tcb.msg_data = None
        return
    tcb.state = STATE_BLOCKED_SEND
    tcb.blocked_on = endpoint
    tcb.blocked_cap = cap
    if tcb.msg_data is not None and type(tcb.msg_data) is not bytes:
        tcb.msg_data = bytes(tcb.msg_data)
    endpoint.queue.insert_by_priority(tcb)
    tcb.queue_kind = QUEUE_ENDPOINT
    if tcb is kernel.current:
        kernel.current = None


def sender_done(kernel, tcb):
    """A sender's message was delivered: it runs on, or stays stopped after a fault."""
    if tcb.fault_kind == FAULT_EXCEPTION:
        tcb.fault_kind = 0
        tcb.state = STATE_FAULTED
        return
    if tcb.state != STATE_RUNNING:
        tcb.state = STATE_RUNNING
        kernel.schedule_runnable(tcb)


def arm_reply(kernel, caller, server, donate):
    """Bind the caller to the reply the server named (or its own implicit one), block it."""
    reply_cap = server.recv_reply
    if reply_cap is None:
        reply = caller.reply
        previous = server.pending_reply
        if previous is not None and previous.caller is not None:
            if previous.seq == server.pending_seq:
                # The server took a new call without replying: the old caller is abandoned.
                disarm_reply(kernel, previous, ERR_NO_REPLY)
        server.pending_reply = reply
        server.pending_seq = reply.seq + 1
    elif reply_cap.obj_type != TYPE_REPLY:
        # The reply cap the server named was deleted while it waited: nobody can reply.
        server.recv_reply = None
        kernel.arch.set_result(caller.context, ERR_NO_REPLY)
        caller.fault_kind = 0
        caller.state = STATE_RUNNING
        if caller.queue is None:
            kernel.schedule_runnable(caller)
        return
    else:
        server.recv_reply = None
        reply = reply_cap.obj
        if reply.caller is not None:
            # A receive through a reply still bound to a caller abandons that caller.
            disarm_reply(kernel, reply, ERR_NO_REPLY)
    reply.seq += 1
    reply.caller = caller
    reply.server = server
    reply.recv_slot = caller.recv_slot
    reply.donated = None
    caller.state = STATE_BLOCKED_REPLY
    caller.blocked_on = reply
    caller.blocked_cap = None
    if caller is kernel.current:
        kernel.current = None
    if caller.queue is not None:
        kernel.dequeue(caller)
    sc = caller.sc
    if donate and server.sc is None and sc is not None and caller.fault_kind == 0:
        # Passive server: it runs on the caller's scheduling context until it replies.
        caller.sc = None
        sc.tcb = server
        server.sc = sc
        reply.donated = sc


def do_recv(kernel, tcb, endpoint, cap):
    ntfn = tcb.bound_ntfn
    if ntfn is not None and ntfn.active:
        deliver_signal(tcb, ntfn.word)
        ntfn.word = 0
        ntfn.active = False
        kernel.arch.set_result(tcb.context, OK)
        return
    sender = endpoint.queue.head
    if sender is not None and sender.state == STATE_BLOCKED_SEND:
        endpoint.queue.remove(sender)
        sender.blocked_on = None
        sender.blocked_cap = None
        transfer(kernel, sender, tcb, sender.msg_badge, sender.msg_can_grant, endpoint)
        kernel.arch.set_result(tcb.context, OK)
        if sender.msg_is_call:
            sender.state = STATE_RUNNING
            arm_reply(kernel, sender, tcb, sender.fault_kind == 0)
            if tcb.sc is not None and tcb.queue is None and tcb is not kernel.current:
                kernel.schedule_runnable(tcb)
        else:
            kernel.arch.set_result(sender.context, OK)
            sender_done(kernel, sender)
        return
    tcb.state = STATE_BLOCKED_RECV
    tcb.blocked_on = endpoint
    tcb.blocked_cap = cap
    endpoint.queue.insert_by_priority(tcb)
    tcb.queue_kind = QUEUE_ENDPOINT
    if tcb is kernel.current:
        kernel.current = None
    if ntfn is not None and ntfn.sc is not None and tcb.sc is ntfn.sc:
        return_sc(kernel, ntfn, tcb)
    if tcb.passive_on_recv:
        tcb.passive_on_recv = False
        if tcb.sc is not None and tcb.sc is tcb.home_sc:
            kernel.unbind_sc(tcb.sc)
            if kernel.trace is not None:
                kernel.emit("passive " + tcb.name)


def do_reply(kernel, tcb, reply):
    """Deliver tcb's msg_* buffer to the caller of an armed reply and wake it (perform)."""
    caller = reply.caller
    caller.recv_slot = reply.recv_slot
    transfer(kernel, tcb, caller, 0, True, None)
    disarm_reply(kernel, reply, OK)


def disarm_reply(kernel, reply, result):
    """Wake the caller of an armed reply with `result`, giving back a donated SC."""
    caller = reply.caller
    server = reply.server
    reply.caller = None
    reply.server = None
    reply.seq += 1
    sc = reply.donated
    reply.donated = None
    if sc is not None:
        holder = sc.tcb
        if holder is not None and holder is not caller:
            holder.sc = None
            if holder.queue_kind == QUEUE_READY or holder.queue_kind == QUEUE_RELEASE:
                kernel.dequeue(holder)
            if holder is kernel.current:
                kernel.current = None
        sc.tcb = caller
        caller.sc = sc
    if server is not None and server.pending_reply is reply:
        server.pending_reply = None
    caller.blocked_on = None
    caller.blocked_cap = None
    if caller.fault_kind == FAULT_TIMEOUT:
        caller.fault_kind = 0
    kernel.arch.set_result(caller.context, result)
    caller.state = STATE_RUNNING
    kernel.schedule_runnable(caller)


def abort_blocked(kernel, tcb, result):
    """Wake a thread queued on an endpoint or notification with an error (perform)."""
    kernel.dequeue(tcb)
    tcb.blocked_on = None
    tcb.blocked_cap = None
    tcb.msg_cap = None
    tcb.msg_data = None
    kernel.arch.set_result(tcb.context, result)
    if tcb.fault_kind == FAULT_EXCEPTION:
        tcb.fault_kind = 0
        tcb.state = STATE_FAULTED
    else:
        tcb.fault_kind = 0
        tcb.state = STATE_RUNNING
        kernel.schedule_runnable(tcb)


def destroy_endpoint(kernel, endpoint):
    """The last cap of an endpoint went: every queued thread gets ERR_REVOKED (perform)."""
    tcb = endpoint.queue.head
    while tcb is not None:
        following = tcb.q_next
        abort_blocked(kernel, tcb, ERR_REVOKED)
        tcb = following


def cancel_badged_sends(kernel, endpoint, badge):
    """Wake every sender queued on endpoint with `badge` with ERR_REVOKED (perform)."""
    tcb = endpoint.queue.head
    while tcb is not None:
        following = tcb.q_next
        if tcb.state == STATE_BLOCKED_SEND and tcb.msg_badge == badge:
            abort_blocked(kernel, tcb, ERR_REVOKED)
        tcb = following


def destroy_reply(kernel, reply):
    """The last cap of a named reply went: its caller learns no reply will come (perform)."""
    if reply.caller is not None:
        disarm_reply(kernel, reply, ERR_NO_REPLY)
