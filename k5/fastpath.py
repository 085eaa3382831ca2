"""The IPC fast path: call and reply_recv in the common case (seL4's fastpath.c)."""

# As in seL4, the fast path takes call and reply_recv when nothing unusual is asked: an
# endpoint cap with the right rights, a label and up to MSG_MAX_WORDS words, no payload, no
# cap to transfer, the implicit reply, the other side already waiting (call) or nobody waiting
# (reply_recv), no tracing. Each function first checks every condition without changing any
# state; when one fails it hands the request to the general path (k5/ipc.py), which decodes it
# again. When all hold it performs what the general path would, flat: decode, transfer, the
# reply and the choice of the next thread inlined, and it switches straight to the other
# thread, without the ready queue, when that thread is what the scheduler would choose anyway
# (nothing else is ready, and the trap did not exhaust its SC's budget: the budget check would
# then move it behind its equals). Only the caller's msg_* scratch buffer is left untouched:
# the fast path copies words straight from the request into the receiver's buffer.
# tests/kernel/test_fastpath.py runs random traces with the fast path on and off and requires
# the same results. Type checks come before any comparison, so a hostile object in a request
# never runs its methods in the kernel.

from k5._compat import const, micropython
from k5 import abi
from k5.decode import ipc_words
from k5.ipc import sys_reply_recv as slow_reply_recv
from k5.ipc import sys_send as slow_send
from k5.objects import QUEUE_ENDPOINT, QUEUE_NONE, QUEUE_READY, QUEUE_RELEASE
from k5.objects import Reply as _Reply

# Private copies (folded by the compiler; checked against k5.abi below).
_MSG_MAX_WORDS = const(8)
_NO_SLOT = const(-1)
_RIGHT_READ = const(1)
_RIGHT_WRITE = const(2)
_RIGHTS_CALL = const(12)  # abi.RIGHT_GRANT | abi.RIGHT_GRANT_REPLY
_SOURCE_ENDPOINT = const(0)
_STATE_RUNNING = const(1)
_STATE_BLOCKED_RECV = const(3)
_STATE_BLOCKED_REPLY = const(4)
_TYPE_ENDPOINT = const(1)
_WORD_MAX = const(0x3FFFFFFF)  # not WORD_LIMIT: 2**30 is a big int on the MCU
_WORD_MIN = const(-0x40000000)
_BADGE_GEN_FLAG = const(0x20000000)
_QUEUE_ENDPOINT = const(3)
_QUEUE_NONE = const(0)

assert (
    _MSG_MAX_WORDS == abi.MSG_MAX_WORDS
    and _NO_SLOT == abi.NO_SLOT
    and _RIGHT_READ == abi.RIGHT_READ
)
assert _RIGHT_WRITE == abi.RIGHT_WRITE
assert _RIGHTS_CALL == abi.RIGHT_GRANT | abi.RIGHT_GRANT_REPLY
assert _SOURCE_ENDPOINT == abi.SOURCE_ENDPOINT
assert _STATE_RUNNING == abi.STATE_RUNNING
assert (
    _STATE_BLOCKED_RECV == abi.STATE_BLOCKED_RECV
    and _STATE_BLOCKED_REPLY == abi.STATE_BLOCKED_REPLY
)
assert (
    _TYPE_ENDPOINT == abi.TYPE_ENDPOINT and _WORD_MAX == abi.WORD_MAX and _WORD_MIN == abi.WORD_MIN
)
assert _QUEUE_ENDPOINT == QUEUE_ENDPOINT
assert _QUEUE_NONE == QUEUE_NONE


@micropython.native
def sys_call(kernel, tcb, sysno, request, _type=type, _int=int, _tuple=tuple, _len=len):
    # (SYS_CALL, ep_slot, label, words, None, abi.NO_SLOT, abi.NO_SLOT) with a receiver waiting.
    if _len(request) != 7 or kernel.trace is not None or kernel.delivery_log is not None:
        return slow_send(kernel, tcb, sysno, request)
    slot = request[1]
    slots = tcb.cspace.slots
    if _type(slot) is not _int or slot < 0 or slot >= _len(slots):
        return slow_send(kernel, tcb, sysno, request)
    cap = slots[slot]
    if cap is None or cap.obj_type != _TYPE_ENDPOINT:
        return slow_send(kernel, tcb, sysno, request)
    rights = cap.rights
    badge = cap.badge
    if (rights & _RIGHT_WRITE) == 0 or (rights & _RIGHTS_CALL) == 0 or badge & _BADGE_GEN_FLAG:
        return slow_send(kernel, tcb, sysno, request)
    endpoint = cap.obj
    queue = endpoint.queue
    server = queue.head
    if server is None or server.state != _STATE_BLOCKED_RECV or server.recv_reply is not None:
        return slow_send(kernel, tcb, sysno, request)
    label = request[2]
    words = request[3]
    cap_slot = request[5]
    recv_slot = request[6]
    if (
        _type(label) is not _int
        or label < 0
        or label > _WORD_MAX
        or request[4] is not None
        or _type(cap_slot) is not _int
        or cap_slot != _NO_SLOT
        or _type(recv_slot) is not _int
        or recv_slot != _NO_SLOT
        or _type(words) is not _tuple
    ):
        return slow_send(kernel, tcb, sysno, request)
    count = _len(words)
    if count > _MSG_MAX_WORDS:
        return slow_send(kernel, tcb, sysno, request)
    for word in words:
        if _type(word) is not _int or word < _WORD_MIN or word > _WORD_MAX:
            return slow_send(kernel, tcb, sysno, request)
    previous = server.pending_reply
    if previous is not None and previous.caller is not None:
        if previous.seq == server.pending_seq:
            return slow_send(kernel, tcb, sysno, request)
    # Perform. The server leaves the endpoint queue (it is its head).
    following = server.q_next
    queue.head = following
    if following is None:
        queue.tail = None
    else:
        following.q_prev = None
    server.q_next = None
    server.queue = None
    server.queue_kind = _QUEUE_NONE
    server.blocked_on = None
    server.blocked_cap = None
    # The transfer into the server's IPC buffer.
    ipc = server.ipc
    ipc.label = label
    ipc.badge = badge
    ipc.count = count
    dst = server.ipc_words
    if _len(dst) != _MSG_MAX_WORDS:
        dst = ipc_words(server)
    i = 0
    for word in words:
        dst[i] = word
        i += 1
    ipc.length = 0
    ipc.source = _SOURCE_ENDPOINT
    ipc.cap = _NO_SLOT
    ipc.unwrapped = -1
    kernel.set_result(server.context, 0)
    # The caller's implicit reply is armed; a passive server gets the caller's SC.
    reply = tcb.reply
    seq = reply.seq + 1
    reply.seq = seq
    reply.caller = tcb
    reply.server = server
    reply.recv_slot = _NO_SLOT
    reply.donated = None
    server.pending_reply = reply
    server.pending_seq = seq
    tcb.recv_slot = _NO_SLOT
    tcb.state = _STATE_BLOCKED_REPLY
    tcb.blocked_on = reply
    tcb.blocked_cap = None
    if tcb is kernel.current:
        kernel.current = None
    sc = tcb.sc
    if server.sc is None and sc is not None and tcb.fault_kind == 0:
        # (reply_object.push_donation: the reply goes on the SC's call stack.)
        tcb.sc = None
        sc.tcb = server
        server.sc = sc
        server.sc_reply = reply
        reply.donated = sc
    server.state = _STATE_RUNNING
    # Direct switch (seL4 fastpath): nothing else is ready, so the server is the choice.
    server_sc = server.sc
    if (
        server_sc is not None
        and server_sc is kernel.cur_sc
        and kernel.current is None
        and kernel.sched.top_bits == 0
        and server_sc.r_amount[server_sc.head] - server_sc.consumed >= kernel.min_budget
    ):
        kernel.current = server
    else:
        kernel.schedule_runnable(server)
    return None


@micropython.native
def sys_reply_recv(kernel, tcb, sysno, request, _type=type, _int=int, _tuple=tuple, _len=len):
    # (SYS_REPLY_RECV, ep_slot, label, words, None, abi.NO_SLOT, abi.NO_SLOT) with nobody waiting.
    if _len(request) != 7 or kernel.trace is not None or kernel.delivery_log is not None:
        return slow_reply_recv(kernel, tcb, sysno, request)
    slot = request[1]
    slots = tcb.cspace.slots
    if _type(slot) is not _int or slot < 0 or slot >= _len(slots):
        return slow_reply_recv(kernel, tcb, sysno, request)
    cap = slots[slot]
    if cap is None or cap.obj_type != _TYPE_ENDPOINT or (cap.rights & _RIGHT_READ) == 0:
        return slow_reply_recv(kernel, tcb, sysno, request)
    endpoint = cap.obj
    queue = endpoint.queue
    label = request[2]
    words = request[3]
    cap_slot = request[5]
    recv_slot = request[6]
    if (
        queue.head is not None
        or tcb.bound_ntfn is not None
        or tcb.passive_on_recv
        or _type(label) is not _int
        or label < 0
        or label > _WORD_MAX
        or request[4] is not None
        or _type(cap_slot) is not _int
        or cap_slot != _NO_SLOT
        or _type(recv_slot) is not _int
        or recv_slot != _NO_SLOT
        or _type(words) is not _tuple
    ):
        return slow_reply_recv(kernel, tcb, sysno, request)
    count = _len(words)
    if count > _MSG_MAX_WORDS:
        return slow_reply_recv(kernel, tcb, sysno, request)
    for word in words:
        if _type(word) is not _int or word < _WORD_MIN or word > _WORD_MAX:
            return slow_reply_recv(kernel, tcb, sysno, request)
    reply = tcb.pending_reply
    caller = None
    if reply is not None:
        caller = reply.caller
        if reply.seq != tcb.pending_seq or caller is None or caller.fault_kind != 0:
            return slow_reply_recv(kernel, tcb, sysno, request)
        if reply.donated is not None:
            # Only the head of the SC's call stack, going back to its caller (the unbroken
            # chain, where the caller holds the head below): the general path
            # (reply_object.remove_donation) takes the rest.
            below = caller.sc_reply
            if tcb.sc_reply is not reply or caller.sc is not None:
                return slow_reply_recv(kernel, tcb, sysno, request)
            if below is not None and (_type(below) is not _Reply or below.server is not caller):
                return slow_reply_recv(kernel, tcb, sysno, request)
    # Perform. The reply: transfer into the caller's buffer, the donated SC goes back.
    if caller is not None:
        tcb.pending_reply = None
        caller.recv_slot = reply.recv_slot
        ipc = caller.ipc
        ipc.label = label
        ipc.badge = 0
        ipc.count = count
        dst = caller.ipc_words
        if _len(dst) != _MSG_MAX_WORDS:
            dst = ipc_words(caller)
        i = 0
        for word in words:
            dst[i] = word
            i += 1
        ipc.length = 0
        ipc.source = _SOURCE_ENDPOINT
        ipc.cap = _NO_SLOT
        ipc.unwrapped = -1
        reply.caller = None
        reply.server = None
        reply.seq += 1
        caller.lease = None
        sc = reply.donated
        reply.donated = None
        if sc is not None:
            # (reply_object.remove_donation of the head: one step back down the stack, to the
            # caller, which holds its head already.)
            tcb.sc_reply = None
            holder = sc.tcb
            if holder is not None and holder is not caller:
                holder.sc = None
                kind = holder.queue_kind
                if kind == QUEUE_READY or kind == QUEUE_RELEASE:
                    kernel.dequeue(holder)
                if holder is kernel.current:
                    kernel.current = None
            sc.tcb = caller
            caller.sc = sc
        caller.blocked_on = None
        caller.blocked_cap = None
        kernel.set_result(caller.context, 0)
        caller.state = _STATE_RUNNING
    # The receive: nobody waits, so the server blocks as the endpoint queue's only member.
    tcb.recv_slot = _NO_SLOT
    tcb.recv_reply = None
    tcb.state = _STATE_BLOCKED_RECV
    tcb.blocked_on = endpoint
    tcb.blocked_cap = cap
    queue.head = tcb
    queue.tail = tcb
    tcb.queue = queue
    tcb.q_next = None
    tcb.q_prev = None
    tcb.queue_kind = _QUEUE_ENDPOINT
    if tcb is kernel.current:
        kernel.current = None
    if caller is not None:
        # Direct switch back to the caller when it is the scheduler's choice anyway.
        caller_sc = caller.sc
        if (
            caller_sc is not None
            and caller_sc is kernel.cur_sc
            and kernel.current is None
            and kernel.sched.top_bits == 0
            and caller_sc.r_amount[caller_sc.head] - caller_sc.consumed >= kernel.min_budget
        ):
            kernel.current = caller
        else:
            kernel.schedule_runnable(caller)
    return None
