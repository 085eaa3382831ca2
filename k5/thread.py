"""The calling thread's own syscalls (yield, sleep, exit, puts), cancellation and faults."""

from k5 import abi, timer
from k5._compat import const
from k5.decode import ipc_words, is_word, printable, time_error
from k5.ipc import do_send
from k5.reply_object import disarm_reply, move_sc, release_stack, remove_donation
from k5.objects import FAULT_HISTORY, QUEUE_READY, QUEUE_RELEASE
from k5.ticks import ticks_add

_TEXT_MAX = const(128)
# What a console line adds to a task's text: "[", a tick count (10 digits at most), "] ", the
# task's name, ": ", and the "\r\n" the console ends it with.
_LINE_FRAME = const(17)

# --- syscalls of the calling thread --------------------------------------------------------------


def sys_now(kernel, tcb, sysno, request):
    # (SYS_NOW,): the kernel's tick count into ipc.words[0]
    if len(request) != 1:
        return abi.ERR_INVALID_ARGUMENT
    ipc_words(tcb)[0] = kernel.arch.now()
    tcb.ipc.count = 1
    return abi.OK


def sys_yield(kernel, tcb, sysno, request):
    # (SYS_YIELD,)
    if len(request) != 1:
        return abi.ERR_INVALID_ARGUMENT
    sc = tcb.sc
    if sc is not None and not sc.is_round_robin():
        # MCS: yielding gives up the rest of the head refill. The budget check after this
        # trap sees tcb.yielded and never raises a timeout fault for it (seL4: a yield
        # cannot timeout-fault, canTimeoutFault is false on that path).
        sc.consumed = sc.r_amount[sc.head]
    tcb.yielded = True
    return abi.OK


def sys_sleep(kernel, tcb, sysno, request):
    # (SYS_SLEEP, ticks): 0 <= ticks <= TIME_MAX (k5/ticks.py's time-range rule)
    if len(request) != 2:
        return abi.ERR_INVALID_ARGUMENT
    ticks = request[1]
    err = time_error(ticks)
    if err != abi.OK:
        return err
    if ticks == 0:
        return abi.OK
    tcb.state = abi.STATE_BLOCKED_SLEEP
    now = kernel.arch.now()
    kernel.sched.sleep_insert(tcb, ticks_add(now, ticks), now)
    if tcb is kernel.current:
        kernel.current = None
    return None


def sys_exit(kernel, tcb, sysno, request):
    # (SYS_EXIT,) or (SYS_EXIT, code)
    count = len(request)
    code = 0
    if count == 2:
        code = request[1]
        if not is_word(code):
            return abi.ERR_INVALID_ARGUMENT
    elif count != 1:
        return abi.ERR_INVALID_ARGUMENT
    do_exit(kernel, tcb, code)
    return None


def do_exit(kernel, tcb, code):
    tcb.exit_code = code
    cancel(kernel, tcb, abi.ERR_STALE)
    # Its timer goes with it (as with a restart).
    timer.cancel(kernel, tcb)
    tcb.state = abi.STATE_EXITED
    if kernel.trace is not None:
        kernel.emit("exit " + tcb.name)


def sys_debug_puts(kernel, tcb, sysno, request):
    # (SYS_DEBUG_PUTS, text)
    if len(request) != 2:
        return abi.ERR_INVALID_ARGUMENT
    text = request[1]
    if type(text) is bytes or type(text) is memoryview:
        if len(text) > _TEXT_MAX:
            return abi.ERR_INVALID_ARGUMENT
        try:
            text = bytes(text).decode()
        except Exception:
            return abi.ERR_INVALID_ARGUMENT
    elif type(text) is not str or len(text) > _TEXT_MAX:
        return abi.ERR_INVALID_ARGUMENT
    else:
        try:
            text.encode()
        except Exception:
            return abi.ERR_INVALID_ARGUMENT
    # A full console refuses before the line is made: a task trying again and again would
    # otherwise have the kernel make (and drop) a string in its heap at each try.
    if (
        kernel.console is None
        and kernel.arch.console_room() < len(text) + len(tcb.name) + _LINE_FRAME
    ):
        return abi.ERR_WOULD_BLOCK
    line = printable("[" + str(kernel.arch.now()) + "] " + tcb.name + ": " + text)
    if kernel.console is not None:
        kernel.console(line)
    elif not kernel.arch.console_write(line):
        return abi.ERR_WOULD_BLOCK  # the console is full: the kernel does not wait for it
    return abi.OK


# --- cancellation, faults and lifecycle (perform) -----------------------------------------------


def cancel(kernel, tcb, result):
    """Take tcb out of any IPC it is in (perform: cannot fail)."""
    if tcb.state == abi.STATE_BLOCKED_REPLY:
        reply = tcb.blocked_on
        if reply is not None and reply.caller is tcb:
            # A donated SC comes one step back along its call stack (to tcb, when the reply
            # was the head). The server keeps its (now stale) reference: replying gets
            # abi.ERR_STALE.
            if reply.donated is not None:
                remove_donation(kernel, reply)
            reply.caller = None
            reply.server = None
            reply.seq += 1
    else:
        # Blocked in send, recv, wait or sleep, or ready: out of that queue (if any).
        kernel.dequeue(tcb)
    tcb.blocked_on = None
    tcb.blocked_cap = None
    tcb.recv_reply = None
    tcb.lease = None
    tcb.fault_kind = 0
    if tcb is kernel.current:
        kernel.current = None
    # As a server: its caller learns that the reply will never come.
    reply = tcb.pending_reply
    if reply is not None:
        tcb.pending_reply = None
        if reply.caller is not None and reply.seq == tcb.pending_seq:
            disarm_reply(kernel, reply, result)
    # And so do the callers of the named replies it serves: a donated SC it runs on goes back
    # down its call stack, never stranded on a thread that no longer serves the call.
    for other in kernel.tcbs:
        if other.state == abi.STATE_BLOCKED_REPLY:
            reply = other.blocked_on
            if reply is not None and reply.server is tcb and reply.caller is other:
                disarm_reply(kernel, reply, result)


_NO_WORDS = ()
# The history entry of a fault with the heap full (made at import: it needs no memory then).
_NO_MEMORY = (0, abi.FAULT_EXCEPTION, "MemoryError (the heap was full: no more detail)")
# The fault history of a thread that has no list for it yet after n such entries (n = 1 ..
# FAULT_HISTORY): shared, so that recording one allocates nothing.
_NO_MEMORY_HISTORIES = tuple((_NO_MEMORY,) * n for n in range(1, FAULT_HISTORY + 1))


def fault(kernel, tcb, kind, text):
    """Deliver a fault of tcb to its fault (or timeout) handler endpoint as a message.

    With the heap full it still does: what needs memory (the history entry, the message's
    words and text) is made first and given up when there is none (perform: cannot fail)."""
    try:
        record = (kernel.arch.now(), kind, text)
        words = (tcb.tid, tcb.generation % abi.WORD_LIMIT, tcb.faults + 1)
        data = text.encode()
        if len(data) > abi.MSG_MAX_BYTES:
            data = data[: abi.MSG_MAX_BYTES]
        tcb.record_fault(record)
    except Exception:  # MemoryError, or a text that does not encode
        words = _NO_WORDS
        data = b"?"
        history = tcb.fault_history
        if type(history) is tuple:
            tcb.fault_history = _NO_MEMORY_HISTORIES[min(len(history), FAULT_HISTORY - 1)]
        else:
            tcb.record_fault(_NO_MEMORY)
    tcb.faults += 1
    if kernel.trace is not None:
        kernel.emit("fault " + tcb.name + " " + text)
    if kind == abi.FAULT_EXCEPTION:
        cancel(kernel, tcb, abi.ERR_STALE)
        tcb.state = abi.STATE_FAULTED
    handler = tcb.handlers.slots[0 if kind == abi.FAULT_EXCEPTION else 1]
    if handler is None and tcb is kernel.root and kind == abi.FAULT_EXCEPTION:
        # The root task has no supervisor: the kernel reports its fault and restarts it.
        try:
            report = "K5: the root task " + tcb.name + " faulted: " + text + "; restarting it"
        except MemoryError:
            report = "K5: the root task faulted; restarting it"
        if kernel.console is not None:
            kernel.console(report)
        else:
            print(report)
        restart(kernel, tcb)
        return
    if handler is None or handler.obj_type != abi.TYPE_ENDPOINT:
        if kind == abi.FAULT_TIMEOUT:
            # No handler after all: wait for the next refill.
            if tcb.queue is None:
                kernel.sched.release_insert(tcb, kernel.arch.now())
        return
    tcb.msg_label = kind
    tcb.msg_words = words
    tcb.msg_count = len(words)
    tcb.msg_data = data
    tcb.msg_length = len(data)
    tcb.msg_cap = None
    tcb.msg_badge = handler.badge
    tcb.msg_can_grant = False
    tcb.msg_is_call = kind == abi.FAULT_TIMEOUT
    tcb.fault_kind = kind
    if tcb is kernel.current:
        kernel.current = None
    do_send(kernel, tcb, handler.obj, handler, True)


def restart(kernel, tcb):
    """Restart a thread from its entry with a new generation (perform)."""
    cancel(kernel, tcb, abi.ERR_STALE)
    timer.cancel(kernel, tcb)
    # Never wraps (a Python int, above 2**30 a long one on the board after a billion
    # restarts): a generation badge bound to an old generation must never match again.
    # Reported modulo abi.WORD_LIMIT (tcb_info, fault messages).
    tcb.generation += 1
    tcb.reply.seq += 1
    kernel.arch.context_reset(tcb.context, tcb.entry, tcb.arg)
    tcb.state = abi.STATE_RUNNING
    tcb.yielded = False
    if kernel.trace is not None:
        kernel.emit("restart " + tcb.name + " generation " + str(tcb.generation))
    kernel.schedule_runnable(tcb)


def suspend(kernel, tcb):
    cancel(kernel, tcb, abi.ERR_STALE)
    if tcb.state != abi.STATE_EXITED:
        tcb.state = abi.STATE_INACTIVE


def destroy(kernel, tcb, delete):
    """The last cap of a TCB went: the thread stops for good (seL4 finaliseCap; perform).

    It leaves every queue, its bound notification and SC are unbound, and the caps of its
    CSpace and handler slots are deleted with `delete` (which may destroy more objects).
    """
    suspend(kernel, tcb)
    for other in kernel.tcbs:
        # An SC out on a call stack whose base it is would come back to a dead thread: it
        # leaves the stack's head now and runs no one.
        if other.state == abi.STATE_BLOCKED_REPLY and other.sc_reply is tcb:
            sc = other.blocked_on.donated
            if sc is not None:
                release_stack(sc)
                move_sc(kernel, sc, None, None)
    timer.cancel(kernel, tcb)
    tcb.state = abi.STATE_INACTIVE
    ntfn = tcb.bound_ntfn
    if ntfn is not None:
        ntfn.bound_tcb = None
        tcb.bound_ntfn = None
    home = tcb.home_sc
    if home is not None:
        kernel.unbind_sc(home)
    sc = tcb.sc
    if sc is not None:
        # A donated or lent SC: it goes back with the reply (or to its notification).
        if sc is kernel.cur_sc:
            kernel.commit(sc)
        if tcb.queue_kind == QUEUE_READY or tcb.queue_kind == QUEUE_RELEASE:
            kernel.dequeue(tcb)
        sc.tcb = None
        tcb.sc = None
        tcb.sc_reply = None
    if tcb is kernel.current:
        kernel.current = None
    tcbs = kernel.tcbs
    for i in range(len(tcbs)):
        if tcbs[i] is tcb:
            tcbs.pop(i)
            break
    # Its stack goes back to the arena (the device) and its thread ends (the host); a TCB
    # retyped but never configured has no context.
    if tcb.context is not None:
        kernel.arch.context_free(tcb.context)
    for cnode in (tcb.cspace, tcb.handlers):
        for cap in cnode.slots:
            if cap is not None:
                delete(kernel, cap)
