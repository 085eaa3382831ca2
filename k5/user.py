"""User API for task code: each function performs one syscall (`err = k5.send(...)`)."""

# A task body is a plain function `def body(ipc, arg)`; `import k5` gives these functions at
# top level, so a task writes `err = k5.send(EP, 1, (2, 3))`. Each one traps with its request
# (arch.syscall(SYS_..., args...): the request tuple of k5/abi.py, which reaches the kernel as
# bytes, k5/wire.py) and returns the kernel's result. `k5.trap(REQUEST)` traps with a request
# tuple made beforehand.
# Received messages land in the task's IpcBuffer `ipc` (ipc.label, ipc.badge, ipc.words[:count],
# ipc.payload(), ipc.cap, ipc.source). Every wrapper returns an error code (abi.OK == 0).

from k5.abi import (
    ERR_INVALID_ARGUMENT,
    NO_SLOT,
    RIGHTS_ALL,
    SYS_BORROW_INFO,
    SYS_BORROW_READ,
    SYS_BORROW_WRITE,
    SYS_CALL,
    SYS_CNODE_CANCEL_BADGED_SENDS,
    SYS_CNODE_COPY,
    SYS_CNODE_DELETE,
    SYS_CNODE_IDENTIFY,
    SYS_CNODE_MINT,
    SYS_CNODE_MOVE,
    SYS_CNODE_MUTATE,
    SYS_CNODE_REVOKE,
    SYS_DEBUG_PUTS,
    SYS_IRQ_ACK,
    SYS_IRQ_CLEAR,
    SYS_IRQ_CONTROL_GET,
    SYS_IRQ_SET_NOTIFICATION,
    SYS_WINDOW_INFO,
    SYS_EXIT,
    SYS_NBRECV,
    SYS_NBSEND,
    SYS_NBSEND_RECV,
    SYS_POLL,
    SYS_RECV,
    SYS_REPLY,
    SYS_REPLY_RECV,
    SYS_SC_BIND,
    SYS_SC_CONFIGURE,
    SYS_SC_CONSUMED,
    SYS_SC_UNBIND,
    SYS_SEND,
    SYS_NOW,
    SYS_SET_TIMER,
    SYS_SIGNAL,
    SYS_TCB_BIND_NOTIFICATION,
    SYS_TCB_CONFIGURE,
    SYS_TCB_COPY_CAP,
    SYS_TCB_SET_HANDLER,
    SYS_UNTYPED_RETYPE,
    SYS_TCB_INFO,
    SYS_TCB_RESTART,
    SYS_TCB_RESUME,
    SYS_TCB_SET_MCP,
    SYS_TCB_SET_PRIORITY,
    SYS_TCB_SUSPEND,
    SYS_TCB_UNBIND_NOTIFICATION,
    SYS_WAIT,
    SYS_YIELD,
    SYS_SLEEP,
)
from k5.arch import spin, syscall, trap  # noqa: F401 (spin and trap are user API)

# What `import k5` gives a task (on the device: the C module _k5user, made from this file by
# tools/gen_user_c.py; a tuple, so that no task can change what another imports).
__all__ = (
    "borrow_info",
    "borrow_read",
    "borrow_write",
    "call",
    "cancel_badged_sends",
    "copy",
    "delete",
    "exit",
    "identify",
    "irq_ack",
    "irq_clear",
    "irq_control_get",
    "irq_set_notification",
    "mint",
    "move",
    "mutate",
    "nbrecv",
    "nbsend",
    "nbsend_recv",
    "now",
    "poll",
    "puts",
    "recv",
    "reply",
    "reply_recv",
    "revoke",
    "sc_bind",
    "sc_configure",
    "sc_consumed",
    "sc_unbind",
    "send",
    "set_timer",
    "signal",
    "sleep",
    "spin",
    "tcb_bind_notification",
    "tcb_configure",
    "tcb_copy_cap",
    "tcb_info",
    "tcb_restart",
    "tcb_resume",
    "tcb_set_handler",
    "tcb_set_mcp",
    "tcb_set_priority",
    "tcb_suspend",
    "tcb_unbind_notification",
    "trap",
    "untyped_retype",
    "wait",
    "window_info",
    "yield_",
)

# --- endpoints -----------------------------------------------------------------------------------


def send(slot, label=0, words=(), data=None, cap=NO_SLOT):
    """Send a message; blocks until a receiver takes it. Needs Write."""
    return syscall(SYS_SEND, slot, label, words, data, cap)


def nbsend(slot, label=0, words=(), data=None, cap=NO_SLOT):
    """Send only if a receiver is waiting; otherwise the message is dropped (returns OK)."""
    return syscall(SYS_NBSEND, slot, label, words, data, cap)


def call(
    slot, label=0, words=(), data=None, cap=NO_SLOT, recv_slot=NO_SLOT, lease=None, lease_rights=3
):
    """Send and wait for the reply (in ipc). Needs Write and Grant or GrantReply.

    `lease` lends a bytearray/memoryview to the server until the reply, with `lease_rights`
    (RIGHT_READ | RIGHT_WRITE by default): the server uses borrow_read/borrow_write/borrow_info.
    """
    if lease is None:
        return syscall(SYS_CALL, slot, label, words, data, cap, recv_slot)
    return syscall(SYS_CALL, slot, label, words, data, cap, recv_slot, lease, lease_rights)


def borrow_info(reply=NO_SLOT):
    """(length, rights) of the lease of the caller bound to `reply` into ipc.words[0:2]."""
    return syscall(SYS_BORROW_INFO, reply)


def borrow_read(offset, buffer, reply=NO_SLOT):
    """Copy the lease from `offset` into `buffer` (as much as fits); count in ipc.words[0]."""
    return syscall(SYS_BORROW_READ, reply, offset, buffer)


def borrow_write(offset, data, reply=NO_SLOT):
    """Copy `data` into the lease at `offset` (needs the lease's write right)."""
    return syscall(SYS_BORROW_WRITE, reply, offset, data)


def recv(slot, recv_slot=NO_SLOT, reply=NO_SLOT):
    """Wait for a message (or a signal of the bound notification: ipc.source). Needs Read.

    `reply` names a Reply cap the caller of a call gets bound to (MCS); without one the call
    arms the implicit reply that reply()/reply_recv() without `reply` answer.
    """
    if reply == NO_SLOT:
        return syscall(SYS_RECV, slot, recv_slot)
    return syscall(SYS_RECV, slot, recv_slot, reply)


def nbrecv(slot, recv_slot=NO_SLOT, reply=NO_SLOT):
    """Receive only if a sender is waiting, else ERR_WOULD_BLOCK."""
    if reply == NO_SLOT:
        return syscall(SYS_NBRECV, slot, recv_slot)
    return syscall(SYS_NBRECV, slot, recv_slot, reply)


def reply(label=0, words=(), data=None, cap=NO_SLOT, reply=NO_SLOT):
    """Reply to a call: through the Reply cap `reply`, or to the last call received."""
    return syscall(SYS_REPLY, reply, label, words, data, cap)


def reply_recv(slot, label=0, words=(), data=None, cap=NO_SLOT, recv_slot=NO_SLOT, reply=NO_SLOT):
    """Reply (if a call is pending) and wait for the next message, atomically."""
    if reply == NO_SLOT:
        return syscall(SYS_REPLY_RECV, slot, label, words, data, cap, recv_slot)
    return syscall(SYS_REPLY_RECV, slot, label, words, data, cap, recv_slot, reply)


def nbsend_recv(
    slot,
    label=0,
    words=(),
    data=None,
    cap=NO_SLOT,
    recv_ep=NO_SLOT,
    recv_slot=NO_SLOT,
    reply=NO_SLOT,
):
    """nbsend on `slot`, then wait on endpoint `recv_ep`, atomically (seL4_NBSendRecv)."""
    return syscall(SYS_NBSEND_RECV, slot, label, words, data, cap, recv_ep, recv_slot, reply)


# --- notifications -------------------------------------------------------------------------------


def signal(slot):
    """OR the cap's badge into the notification word. Needs Write."""
    return syscall(SYS_SIGNAL, slot)


def wait(slot):
    """Block until signalled; the word (then cleared) is in ipc.badge. Needs Read."""
    return syscall(SYS_WAIT, slot)


def poll(slot):
    """Like wait but never blocks: ERR_WOULD_BLOCK (ipc.badge = 0) when not signalled."""
    return syscall(SYS_POLL, slot)


# --- the calling thread --------------------------------------------------------------------------


def yield_():
    """Give up the CPU (MCS: a sporadic SC gives up the rest of its head refill)."""
    return syscall(SYS_YIELD)


def sleep(ticks):
    """Block the caller for `ticks` ticks (time.sleep_ms in a task on the device is this).

    A signal on the caller's bound notification ends the sleep early; the result is OK.
    """
    return syscall(SYS_SLEEP, ticks)


def exit(code=0):
    """Terminate the calling task cleanly (does not return)."""
    return syscall(SYS_EXIT, code)


# spin(ticks), from k5.arch: burn `ticks` ticks of CPU time (host: simulated ticks, accounted
# by the arch backend without entering the kernel).


def puts(text):
    """Write a line to the kernel console (timestamped, with the task's name). Control bytes
    but tab become '?'; ERR_WOULD_BLOCK when the console has no room now (try again later)."""
    return syscall(SYS_DEBUG_PUTS, text)


# --- capabilities --------------------------------------------------------------------------------


def copy(src, dest, rights=RIGHTS_ALL):
    return syscall(SYS_CNODE_COPY, src, dest, rights)


def mint(src, dest, rights=RIGHTS_ALL, badge=0):
    return syscall(SYS_CNODE_MINT, src, dest, rights, badge)


def move(src, dest):
    return syscall(SYS_CNODE_MOVE, src, dest)


def mutate(src, dest, rights=RIGHTS_ALL, badge=0):
    return syscall(SYS_CNODE_MUTATE, src, dest, rights, badge)


def delete(slot):
    return syscall(SYS_CNODE_DELETE, slot)


def revoke(slot):
    return syscall(SYS_CNODE_REVOKE, slot)


def cancel_badged_sends(slot):
    """Wake every sender queued with this endpoint cap's badge (ERR_REVOKED). Needs all rights."""
    return syscall(SYS_CNODE_CANCEL_BADGED_SENDS, slot)


def identify(slot):
    """(type, rights, badge) of a cap into ipc.words[0:3]."""
    return syscall(SYS_CNODE_IDENTIFY, slot)


# --- TCB and scheduling-context invocations ------------------------------------------------------


def tcb_resume(slot):
    return syscall(SYS_TCB_RESUME, slot)


def tcb_suspend(slot):
    return syscall(SYS_TCB_SUSPEND, slot)


def tcb_restart(slot):
    """Restart a task from its entry; its generation increases."""
    return syscall(SYS_TCB_RESTART, slot)


def tcb_set_priority(slot, priority):
    return syscall(SYS_TCB_SET_PRIORITY, slot, priority)


def tcb_set_mcp(slot, mcp):
    return syscall(SYS_TCB_SET_MCP, slot, mcp)


def tcb_bind_notification(slot, ntfn_slot):
    return syscall(SYS_TCB_BIND_NOTIFICATION, slot, ntfn_slot)


def tcb_unbind_notification(slot):
    return syscall(SYS_TCB_UNBIND_NOTIFICATION, slot)


def tcb_info(slot):
    """(state, priority, mcp, generation, faults, tid) into ipc.words[0:6]."""
    return syscall(SYS_TCB_INFO, slot)


def sc_configure(control_slot, sc_slot, budget, period, refills=4):
    return syscall(SYS_SC_CONFIGURE, control_slot, sc_slot, budget, period, refills)


def sc_bind(sc_slot, obj_slot):
    """Bind an SC to a TCB, or to a notification (a passive waiter it wakes runs on it)."""
    return syscall(SYS_SC_BIND, sc_slot, obj_slot)


def sc_unbind(sc_slot):
    return syscall(SYS_SC_UNBIND, sc_slot)


def sc_consumed(sc_slot):
    """Total ticks consumed on the SC into ipc.words[0]."""
    return syscall(SYS_SC_CONSUMED, sc_slot)


# --- dynamic systems -----------------------------------------------------------------------------


def untyped_retype(untyped_slot, obj_type, dest_slot):
    """Create an endpoint, notification, TCB, SC or Reply from an Untyped; its cap to dest.

    Deleting the object's last cap destroys it and refunds the quota, so does revoking the
    Untyped for everything made from it.
    """
    return syscall(SYS_UNTYPED_RETYPE, untyped_slot, obj_type, dest_slot)


def tcb_configure(tcb_slot, entry, arg=None, priority=0, cspace_size=16, name="task", heap=0):
    """Set up a fresh TCB: entry(ipc, arg), priority (<= caller's MCP), CSpace size, name.

    heap: bytes of a heap of its own, for an interpreter of its own (0: the kernel's; a task
    with an interpreter of its own may configure only tasks with one). entry and arg cross as
    an image (k5/image.py), packed in the caller's time and heap: on the device always (in C,
    native/k5arch/user.c), here with a heap (the host's tasks in the kernel's interpreter are
    functions of the test's process). A body or arg that cannot be packed: ERR_INVALID_ARGUMENT.
    """
    if heap:
        from k5 import image

        try:
            entry = image.pack(entry, arg, image.host_code_names)
        except ValueError:
            return ERR_INVALID_ARGUMENT
        arg = None
    return syscall(SYS_TCB_CONFIGURE, tcb_slot, entry, arg, priority, cspace_size, name, heap)


def tcb_copy_cap(tcb_slot, src_slot, dest_index, rights=RIGHTS_ALL, badge=0):
    """Mint a cap of the caller's into slot dest_index of the TCB's CSpace."""
    return syscall(SYS_TCB_COPY_CAP, tcb_slot, src_slot, dest_index, rights, badge)


def tcb_set_handler(tcb_slot, ep_slot, which=0):
    """Fault (which=HANDLER_FAULT) or timeout (HANDLER_TIMEOUT) endpoint; -1 clears it."""
    return syscall(SYS_TCB_SET_HANDLER, tcb_slot, ep_slot, which)


# --- hardware ------------------------------------------------------------------------------------


def irq_control_get(control_slot, line, dest_slot):
    """Make the IRQHandler cap of interrupt `line` in dest_slot (needs the IRQControl cap)."""
    return syscall(SYS_IRQ_CONTROL_GET, control_slot, line, dest_slot)


def irq_set_notification(handler_slot, ntfn_slot):
    """Deliver the handler's line to a notification (its cap's badge is signalled); unmasks it."""
    return syscall(SYS_IRQ_SET_NOTIFICATION, handler_slot, ntfn_slot)


def irq_ack(handler_slot):
    """Unmask the handler's line after a delivery (it stays masked until then)."""
    return syscall(SYS_IRQ_ACK, handler_slot)


def irq_clear(handler_slot):
    """Stop delivering the handler's line and mask it."""
    return syscall(SYS_IRQ_CLEAR, handler_slot)


def window_info(window_slot, ipc):
    """(err, base, size, rights) of a device window cap (its MPU view needs READ)."""
    err = syscall(SYS_WINDOW_INFO, window_slot)
    if err:
        return (err, 0, 0, 0)
    words = ipc.words
    return (err, words[0] * 32, words[1], words[2])


def set_timer(ntfn_slot, ticks):
    """Signal the notification (its cap's badge) in `ticks` ticks; -1 cancels. One per task."""
    return syscall(SYS_SET_TIMER, ntfn_slot, ticks)


def now(ipc):
    """The kernel's clock in ticks (modulo 2**30; compare with k5.ticks.ticks_diff)."""
    syscall(SYS_NOW)
    return ipc.words[0]
