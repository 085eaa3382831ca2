"""Reply objects (MCS): reply, arm a reply on a call, disarm it on the reply."""

# (Not k5/reply.py: `import k5.reply` would shadow the user API's k5.reply function.)

from k5 import abi
from k5.decode import lookup
from k5.objects import QUEUE_READY, QUEUE_RELEASE
from k5.message import decode_message, transfer


def decode_reply_slot(tcb, slot):
    """The Reply cap named by a receive, None for the implicit reply, or an int error."""
    if type(slot) is not int:
        return abi.ERR_INVALID_ARGUMENT
    if slot == abi.NO_SLOT:
        return None
    return lookup(tcb, slot, abi.TYPE_REPLY, 0)


def decode_reply(tcb):
    """abi.OK if tcb holds a pending implicit reply (the last call it received)."""
    reply = tcb.pending_reply
    if reply is None:
        return abi.ERR_NO_REPLY
    if reply.seq != tcb.pending_seq or reply.caller is None:
        tcb.pending_reply = None
        return abi.ERR_STALE
    return abi.OK


def sys_reply(kernel, tcb, sysno, request):
    # (SYS_REPLY, reply_slot, label, words, data, cap_slot); reply_slot abi.NO_SLOT: implicit
    if len(request) != 6:
        return abi.ERR_INVALID_ARGUMENT
    reply_cap = decode_reply_slot(tcb, request[1])
    if type(reply_cap) is int:
        return reply_cap
    err = decode_message(tcb, request, 2)
    if err != abi.OK:
        return err
    if reply_cap is None:
        err = decode_reply(tcb)
        if err != abi.OK:
            return err
        reply = tcb.pending_reply
        tcb.pending_reply = None
    else:
        reply = reply_cap.obj
        if reply.caller is None:
            return abi.ERR_NO_REPLY
    do_reply(kernel, tcb, reply)
    return abi.OK


def arm_reply(kernel, caller, server, donate):
    """Bind the caller to the reply the server named (or its own implicit one), block it."""
    reply_cap = server.recv_reply
    if reply_cap is None:
        reply = caller.reply
        previous = server.pending_reply
        if previous is not None and previous.caller is not None:
            if previous.seq == server.pending_seq:
                # The server took a new call without replying: the old caller is abandoned.
                disarm_reply(kernel, previous, abi.ERR_NO_REPLY)
        server.pending_reply = reply
        server.pending_seq = reply.seq + 1
    elif reply_cap.obj_type != abi.TYPE_REPLY:
        # The reply cap the server named was deleted while it waited: nobody can reply.
        server.recv_reply = None
        caller.lease = None
        if caller.fault_kind != abi.FAULT_TIMEOUT:
            kernel.set_result(caller.context, abi.ERR_NO_REPLY)
        caller.fault_kind = 0
        caller.state = abi.STATE_RUNNING
        if caller.queue is None:
            kernel.schedule_runnable(caller)
        return
    else:
        server.recv_reply = None
        reply = reply_cap.obj
        if reply.caller is not None:
            # A receive through a reply still bound to a caller abandons that caller.
            disarm_reply(kernel, reply, abi.ERR_NO_REPLY)
    reply.seq += 1
    reply.caller = caller
    reply.server = server
    reply.recv_slot = caller.recv_slot
    reply.donated = None
    caller.state = abi.STATE_BLOCKED_REPLY
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


def do_reply(kernel, tcb, reply):
    """Deliver tcb's msg_* buffer to the caller of an armed reply and wake it (perform)."""
    caller = reply.caller
    caller.recv_slot = reply.recv_slot
    transfer(kernel, tcb, caller, 0, True, None)
    disarm_reply(kernel, reply, abi.OK)


def return_donated(kernel, sc, caller):
    """A donated SC goes back to its caller: whoever runs on it now loses it (perform).

    (k5/fastpath.py does the same inline, on its hot path.)
    """
    holder = sc.tcb
    if holder is not None and holder is not caller:
        holder.sc = None
        if holder.queue_kind == QUEUE_READY or holder.queue_kind == QUEUE_RELEASE:
            kernel.dequeue(holder)
        if holder is kernel.current:
            kernel.current = None
    sc.tcb = caller
    caller.sc = sc


def disarm_reply(kernel, reply, result):
    """Wake the caller of an armed reply with `result`, giving back a donated SC."""
    caller = reply.caller
    server = reply.server
    reply.caller = None
    reply.server = None
    reply.seq += 1
    # A lease ends with the reply.
    caller.lease = None
    sc = reply.donated
    reply.donated = None
    if sc is not None:
        return_donated(kernel, sc, caller)
    if server is not None and server.pending_reply is reply:
        server.pending_reply = None
    caller.blocked_on = None
    caller.blocked_cap = None
    if caller.fault_kind == abi.FAULT_TIMEOUT:
        # The answer to a timeout fault resumes the thread as it was: what it was told last
        # (the result of a syscall that completed as its budget ran out) stays its result.
        caller.fault_kind = 0
    else:
        kernel.set_result(caller.context, result)
    caller.state = abi.STATE_RUNNING
    kernel.schedule_runnable(caller)


def destroy_reply(kernel, reply):
    """The last cap of a named reply went: its caller learns no reply will come (perform)."""
    if reply.caller is not None:
        disarm_reply(kernel, reply, abi.ERR_NO_REPLY)
