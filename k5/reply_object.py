"""Reply objects (MCS): reply, arm a reply on a call, disarm it on the reply."""

# (Not k5/reply.py: `import k5.reply` would shadow the user API's k5.reply function.)

from k5 import abi
from k5.decode import lookup
from k5.objects import QUEUE_READY, QUEUE_RELEASE, Reply, release_stack, unwind  # noqa: F401
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
        push_donation(sc, reply, caller, server)


def do_reply(kernel, tcb, reply):
    """Deliver tcb's msg_* buffer to the caller of an armed reply and wake it (perform)."""
    caller = reply.caller
    caller.recv_slot = reply.recv_slot
    transfer(kernel, tcb, caller, 0, True, None)
    disarm_reply(kernel, reply, abi.OK)


# --- donation: an SC's call stack (seL4 MCS reply_push, reply_pop, reply_remove) ---------------
#
# ONE rule decides who runs on a donated SC, for the general path and both fast paths (the
# Python one in k5/fastpath.py and the C one in native/k5arch/fastpath.c perform the same stores
# in the cases they take): an SC's call stack is the chain of armed replies through which it was
# donated, head first, ending in the thread it started from (its base: its home, or the passive
# thread its notification woke). The SC runs the server of the head reply, or its base when the
# stack is empty. A call to a passive server pushes the caller's reply; ending a reply
# (answered, cancelled, abandoned, deleted) takes it off the stack: the head moves the SC one
# step back along the chain, to the server of the reply below (or the base); any other reply
# leaves the SC where it is. So whoever holds a Reply cap (or a TCB cap) can end a call but can
# never move an SC to a thread that is not on its chain: a client answered early waits for the
# SC to come back, and gets it when the chain above it unwinds; the servers above keep it while
# they work.
#
# The links live in TCB.sc_reply (no Reply or SchedContext attribute: see objects.py): the
# thread running the SC holds the head; each caller blocked on a reply of the stack holds what
# lies below that reply (the reply whose server it was, or the base thread once that reply was
# answered out of turn; None at the bottom, where the caller is the base).


def push_donation(sc, reply, caller, server):
    """The caller, running on sc, calls a passive server through reply (perform).

    (caller.sc_reply, the head of the stack it ran the SC on, is now what lies below reply.)"""
    caller.sc = None
    sc.tcb = server
    server.sc = sc
    server.sc_reply = reply
    reply.donated = sc


def remove_donation(kernel, reply):
    """Take reply off its SC's call stack; only the head moves the SC (perform: the reply is
    still armed, its caller blocked)."""
    sc = reply.donated
    reply.donated = None
    caller = reply.caller
    below = caller.sc_reply
    caller.sc_reply = None
    if below is None:
        below = caller  # the bottom: the caller is the base
    holder = sc.tcb
    above = holder.sc_reply
    if above is not reply:
        # Inside the stack: the reply leaves it, and whoever runs on the SC keeps it.
        while above.caller.sc_reply is not reply:
            above = above.caller.sc_reply
        above.caller.sc_reply = below
        return
    holder.sc_reply = None
    if type(below) is Reply:
        move_sc(kernel, sc, below.server, below)
    else:
        move_sc(kernel, sc, below, None)


def move_sc(kernel, sc, holder, head):
    """The SC leaves the thread it runs now for holder, its call stack's head now being head
    (None: empty; perform)."""
    current = sc.tcb
    if current is not None and current is not holder:
        current.sc = None
        current.sc_reply = None
        if current.queue_kind == QUEUE_READY or current.queue_kind == QUEUE_RELEASE:
            kernel.dequeue(current)
        if current is kernel.current:
            kernel.current = None
    if holder is not None and holder.sc is not None and holder.sc is not sc:
        # It was given another SC meanwhile: this one goes back to its base (the rest of the
        # stack gives up its claim), or to no one when the base has another SC too.
        if head is not None:
            holder = unwind(head)
            head = None
        if holder.sc is not None and holder.sc is not sc:
            holder = None
    sc.tcb = holder
    if holder is None:
        return
    holder.sc = sc
    holder.sc_reply = head
    if holder.state == abi.STATE_RUNNING and holder.queue is None and holder is not kernel.current:
        # A thread answered while its SC was further up the chain runs again now.
        kernel.schedule_runnable(holder)


def disarm_reply(kernel, reply, result):
    """Wake the caller of an armed reply with `result`, giving back a donated SC."""
    caller = reply.caller
    server = reply.server
    if reply.donated is not None:
        remove_donation(kernel, reply)
    reply.caller = None
    reply.server = None
    reply.seq += 1
    # A lease ends with the reply.
    caller.lease = None
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
