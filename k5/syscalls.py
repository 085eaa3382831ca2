"""The syscall table: each trap number's handler, in the module of the object it invokes."""

# A handler is `handler(kernel, tcb, sysno, request)`; it returns an error code for the task,
# or None when the result is set later (the task blocked). The trap loop (k5/kernel.py) decodes
# the syscall number and calls the handler; the handler decodes the rest.

from k5 import (
    abi,
    cnode,
    device,
    fastpath,
    ipc,
    lease,
    notification,
    objects,
    reply_object,
    schedcontext,
    thread,
    timer,
    untyped,
)
from k5 import tcb as tcb_ops


def sys_build(kernel, tcb, sysno, request):
    """The root task's builder front end (k5/front.py): (SYS_BUILD, op, args, buffer). Only the
    root, which holds the initial authority, may invoke it; the service writes its answer into
    the root's buffer as bytes (k5/rootsrv.py) and never raises."""
    if tcb is not kernel.root or kernel.build_service is None:
        return abi.ERR_ILLEGAL_OPERATION
    if len(request) != 4 or type(request[2]) is not tuple or type(request[3]) is not memoryview:
        return abi.ERR_INVALID_ARGUMENT
    return kernel.build_service(request[1], request[2], request[3])


def table():
    """A fresh list, indexed by syscall number, of the handlers (None: no such syscall)."""
    handlers = [None] * abi.SYS_COUNT
    handlers[abi.SYS_SEND] = ipc.sys_send
    handlers[abi.SYS_NBSEND] = ipc.sys_send
    handlers[abi.SYS_CALL] = fastpath.sys_call
    handlers[abi.SYS_RECV] = ipc.sys_recv
    handlers[abi.SYS_NBRECV] = ipc.sys_recv
    handlers[abi.SYS_REPLY] = reply_object.sys_reply
    handlers[abi.SYS_REPLY_RECV] = fastpath.sys_reply_recv
    handlers[abi.SYS_SIGNAL] = notification.sys_signal
    handlers[abi.SYS_WAIT] = notification.sys_wait
    handlers[abi.SYS_POLL] = notification.sys_wait
    handlers[abi.SYS_SLEEP] = thread.sys_sleep
    handlers[abi.SYS_YIELD] = thread.sys_yield
    handlers[abi.SYS_EXIT] = thread.sys_exit
    handlers[abi.SYS_DEBUG_PUTS] = thread.sys_debug_puts
    handlers[abi.SYS_CNODE_COPY] = cnode.sys_derive
    handlers[abi.SYS_CNODE_MINT] = cnode.sys_derive
    handlers[abi.SYS_CNODE_MOVE] = cnode.sys_move
    handlers[abi.SYS_CNODE_MUTATE] = cnode.sys_move
    handlers[abi.SYS_CNODE_DELETE] = cnode.sys_delete
    handlers[abi.SYS_CNODE_REVOKE] = cnode.sys_delete
    handlers[abi.SYS_CNODE_IDENTIFY] = cnode.sys_identify
    handlers[abi.SYS_CNODE_CANCEL_BADGED_SENDS] = cnode.sys_cancel_badged_sends
    handlers[abi.SYS_NBSEND_RECV] = ipc.sys_nbsend_recv
    handlers[abi.SYS_TCB_RESUME] = tcb_ops.sys_tcb
    handlers[abi.SYS_TCB_SUSPEND] = tcb_ops.sys_tcb
    handlers[abi.SYS_TCB_SET_PRIORITY] = tcb_ops.sys_tcb
    handlers[abi.SYS_TCB_SET_MCP] = tcb_ops.sys_tcb
    handlers[abi.SYS_TCB_BIND_NOTIFICATION] = tcb_ops.sys_tcb
    handlers[abi.SYS_TCB_UNBIND_NOTIFICATION] = tcb_ops.sys_tcb
    handlers[abi.SYS_TCB_RESTART] = tcb_ops.sys_tcb
    handlers[abi.SYS_TCB_INFO] = tcb_ops.sys_tcb
    handlers[abi.SYS_TCB_CONFIGURE] = tcb_ops.sys_configure
    handlers[abi.SYS_TCB_COPY_CAP] = tcb_ops.sys_copy_cap
    handlers[abi.SYS_TCB_SET_HANDLER] = tcb_ops.sys_set_handler
    handlers[abi.SYS_SC_CONFIGURE] = schedcontext.sys_configure
    handlers[abi.SYS_SC_BIND] = schedcontext.sys_sc
    handlers[abi.SYS_SC_UNBIND] = schedcontext.sys_sc
    handlers[abi.SYS_SC_CONSUMED] = schedcontext.sys_sc
    handlers[abi.SYS_UNTYPED_RETYPE] = untyped.sys_retype
    handlers[abi.SYS_BORROW_READ] = lease.sys_borrow
    handlers[abi.SYS_BORROW_WRITE] = lease.sys_borrow
    handlers[abi.SYS_BORROW_INFO] = lease.sys_borrow_info
    handlers[abi.SYS_IRQ_CONTROL_GET] = device.sys_irq_control_get
    handlers[abi.SYS_IRQ_SET_NOTIFICATION] = device.sys_irq_handler
    handlers[abi.SYS_IRQ_ACK] = device.sys_irq_handler
    handlers[abi.SYS_IRQ_CLEAR] = device.sys_irq_handler
    handlers[abi.SYS_WINDOW_INFO] = device.sys_window_info
    handlers[abi.SYS_BUILD] = sys_build
    handlers[abi.SYS_SET_TIMER] = timer.sys_set_timer
    handlers[abi.SYS_NOW] = thread.sys_now
    return handlers


FAST_PATHS = ("native", "python", "general")


def fast_path_of(handlers):
    """The mode `handlers` take call and reply_recv in (see set_fast_path)."""
    call = handlers[abi.SYS_CALL]
    if call is fastpath.sys_call:
        return "python"
    if call is ipc.sys_send:
        return "general"
    return "native"


def set_fast_path(handlers, arch, mode):
    """Which code takes call and reply_recv: "native", the C fast path of the device's arch
    (native/k5arch/fastpath.c, in front of the Python one), "python", k5/fastpath.py, or
    "general", k5/ipc.py alone. The three are equal in effect (tests compare them); a kernel
    starts with the fastest its arch has. Returns False if the arch has no native fast path."""
    if mode == "native":
        native = getattr(arch, "native_fast_path", None)
        if native is None:
            return False
        kinds = (objects.QUEUE_NONE, objects.QUEUE_READY, objects.QUEUE_RELEASE)
        kinds += (objects.QUEUE_ENDPOINT,)
        call, reply_recv = native(fastpath.sys_call, fastpath.sys_reply_recv, kinds)
    elif mode == "python":
        call, reply_recv = fastpath.sys_call, fastpath.sys_reply_recv
    elif mode == "general":
        call, reply_recv = ipc.sys_send, ipc.sys_reply_recv
    else:
        raise ValueError("fast path: one of %s, not %r" % (", ".join(FAST_PATHS), mode))
    handlers[abi.SYS_CALL] = call
    handlers[abi.SYS_REPLY_RECV] = reply_recv
    return True
