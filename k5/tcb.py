"""TCB invocations: resume, suspend, restart, priorities, notifications, configure, caps."""

from k5._compat import const
from k5 import cdt, device
from k5 import abi
from k5.cdt import CNode
from k5.objects import handlers_of
from k5.decode import dest_slot, ipc_words, is_rights, is_small, lookup, printable
from k5.sched import priority_higher
from k5.thread import restart, suspend


def sys_tcb(kernel, tcb, sysno, request):
    # (SYS, tcb_slot) + (priority) for set_priority/set_mcp, + (ntfn_slot) for bind
    if len(request) < 2:
        return abi.ERR_INVALID_ARGUMENT
    rights = abi.RIGHT_READ if sysno == abi.SYS_TCB_INFO else abi.RIGHT_WRITE
    cap = lookup(tcb, request[1], abi.TYPE_TCB, rights)
    if type(cap) is int:
        return cap
    target = cap.obj
    if sysno == abi.SYS_TCB_INFO:
        if len(request) != 2:
            return abi.ERR_INVALID_ARGUMENT
        words = ipc_words(tcb)
        words[0] = target.state
        words[1] = target.priority
        words[2] = target.mcp
        words[3] = target.generation % abi.WORD_LIMIT
        words[4] = target.faults
        words[5] = target.tid
        tcb.ipc.count = 6
        return abi.OK
    if sysno == abi.SYS_TCB_SET_PRIORITY or sysno == abi.SYS_TCB_SET_MCP:
        if len(request) != 3:
            return abi.ERR_INVALID_ARGUMENT
        value = request[2]
        if type(value) is not int or value < 0 or value > abi.PRIORITY_MAX:
            return abi.ERR_INVALID_ARGUMENT
        if priority_higher(value, tcb.mcp):
            return abi.ERR_ILLEGAL_OPERATION
        if sysno == abi.SYS_TCB_SET_MCP:
            target.mcp = value
        else:
            kernel.set_priority(target, value)
        return abi.OK
    if len(request) != (3 if sysno == abi.SYS_TCB_BIND_NOTIFICATION else 2):
        return abi.ERR_INVALID_ARGUMENT
    if (target.entry is None or target.context is None) and (
        sysno == abi.SYS_TCB_RESUME or sysno == abi.SYS_TCB_RESTART
    ):
        return abi.ERR_ILLEGAL_OPERATION
    if sysno == abi.SYS_TCB_RESUME:
        if target.state != abi.STATE_INACTIVE:
            return abi.ERR_ILLEGAL_OPERATION
        kernel.start(target)
        return abi.OK
    if sysno == abi.SYS_TCB_SUSPEND:
        if target.state == abi.STATE_EXITED:
            return abi.ERR_ILLEGAL_OPERATION
        suspend(kernel, target)
        return None if target is tcb else abi.OK
    if sysno == abi.SYS_TCB_RESTART:
        restart(kernel, target)
        return None if target is tcb else abi.OK
    if sysno == abi.SYS_TCB_BIND_NOTIFICATION:
        ncap = lookup(tcb, request[2], abi.TYPE_NOTIFICATION, abi.RIGHT_READ)
        if type(ncap) is int:
            return ncap
        ntfn = ncap.obj
        if target.bound_ntfn is not None or ntfn.bound_tcb is not None:
            return abi.ERR_ILLEGAL_OPERATION
        if ntfn.queue.head is not None:
            return abi.ERR_ILLEGAL_OPERATION
        target.bound_ntfn = ntfn
        ntfn.bound_tcb = target
        return abi.OK
    if target.bound_ntfn is None:
        return abi.ERR_ILLEGAL_OPERATION
    target.bound_ntfn.bound_tcb = None
    target.bound_ntfn = None
    return abi.OK


# What a TCB a task configures may take beyond its stack, which its Untyped does not pay for
# (a quota counts objects): its image, which the kernel keeps in its own heap for restarts, and
# the heap of its own interpreter, from the task arena.
_IMAGE_MAX = const(4096)
_HEAP_MAX = const(16384)


def _valid_arg(value, depth):
    """Task arguments are immutable values: None, bool, small int, short str/bytes, tuples."""
    kind = type(value)
    if value is None or kind is bool:
        return True
    if kind is int:
        return abi.WORD_MIN <= value <= abi.WORD_MAX
    if kind is str or kind is bytes:
        return len(value) <= abi.MSG_MAX_BYTES
    if kind is tuple and depth < 2 and len(value) <= abi.ARG_MAX_ITEMS:
        for item in value:
            if not _valid_arg(item, depth + 1):
                return False
        return True
    return False


def sys_configure(kernel, tcb, sysno, request):
    # (SYS, tcb_slot, entry, arg, priority, cspace_size, name[, heap])
    if len(request) != 7 and len(request) != 8:
        return abi.ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], abi.TYPE_TCB, abi.RIGHT_WRITE)
    if type(cap) is int:
        return cap
    target = cap.obj
    if target.entry is not None:
        return abi.ERR_ILLEGAL_OPERATION
    heap = request[7] if len(request) == 8 else 0
    if type(heap) is not int or heap < 0:
        return abi.ERR_INVALID_ARGUMENT
    if heap > _HEAP_MAX:
        return abi.ERR_RANGE
    # The entry: an image (bytes, k5/image.py) that holds its arg, which the caller packed.
    # On the device nothing else can arrive (the wire carries no function); the host's tasks
    # in the kernel's interpreter are functions of the test's process.
    entry = request[2]
    if type(entry) is bytes:
        if request[3] is not None or len(entry) > _IMAGE_MAX:
            return abi.ERR_INVALID_ARGUMENT
    elif heap or not callable(entry) or type(entry) is type:
        return abi.ERR_INVALID_ARGUMENT
    if not _valid_arg(request[3], 0):
        return abi.ERR_INVALID_ARGUMENT
    arch = kernel.arch
    if not heap and arch.context_heap(tcb.context) and tcb is not kernel.root:
        # A task with an interpreter of its own makes none in the kernel's: that would give
        # its code a way into the shared heap. The root (the REPL, an interpreter of its own
        # since session 18) may: its builder spawns tasks in the kernel's interpreter anyway.
        return abi.ERR_ILLEGAL_OPERATION
    priority = request[4]
    if type(priority) is not int or priority < 0 or priority > abi.PRIORITY_MAX:
        return abi.ERR_INVALID_ARGUMENT
    if priority_higher(priority, tcb.mcp):
        return abi.ERR_ILLEGAL_OPERATION
    size = request[5]
    if type(size) is not int or size < 1 or size > abi.CSPACE_MAX:
        return abi.ERR_INVALID_ARGUMENT
    name = request[6]
    if type(name) is not str or len(name) > 16 or printable(name) != name:
        return abi.ERR_INVALID_ARGUMENT  # (a name goes out in front of the task's console lines)
    try:
        name.encode()
    except Exception:
        return abi.ERR_INVALID_ARGUMENT
    # Everything that can fail comes first, the TCB unchanged: its CSpace (memory), then its
    # context, which the arch refuses when contexts or the stack arena run out (MemoryError)
    # or when the body, arg or heap cannot start a task there (ValueError). A TCB left with an
    # entry but no context would reach the arch with none at its next resume or restart.
    cspace = CNode(size, name)
    try:
        if heap:
            context = arch.context_new(entry, None, None, name, heap)
        else:
            context = arch.context_new(entry, request[3], None, name)
    except MemoryError:
        return abi.ERR_NOT_ENOUGH_MEMORY
    except ValueError:
        return abi.ERR_INVALID_ARGUMENT
    try:
        ipc = arch.ipc_buffer(context)
        arch.memory_view(context, ())
    except Exception:
        arch.context_free(context)
        return abi.ERR_NOT_ENOUGH_MEMORY
    # Perform: cannot fail. The TCB's IPC buffer is its context's from now on.
    target.ipc = ipc
    target.ipc_words = ipc.words
    target.ipc_data = ipc.data
    target.name = name
    target.cspace = cspace
    target.entry = entry
    target.arg = request[3]
    target.priority = priority
    target.mcp = priority
    target.context = context
    return abi.OK


def sys_copy_cap(kernel, tcb, sysno, request):
    # (SYS, tcb_slot, src_slot, dest_index, rights, badge): mint into the TCB's CSpace.
    if len(request) != 6:
        return abi.ERR_INVALID_ARGUMENT
    tcap = lookup(tcb, request[1], abi.TYPE_TCB, abi.RIGHT_WRITE)
    if type(tcap) is int:
        return tcap
    cap = lookup(tcb, request[2], 0, 0)
    if type(cap) is int:
        return cap
    err = dest_slot(tcap.obj, request[3])
    if err != abi.OK:
        return err
    rights = request[4]
    if not is_rights(rights):
        return abi.ERR_INVALID_ARGUMENT
    badge = request[5]
    if not is_small(badge):
        return abi.ERR_INVALID_ARGUMENT
    if badge != 0:
        if cap.obj_type != abi.TYPE_ENDPOINT and cap.obj_type != abi.TYPE_NOTIFICATION:
            return abi.ERR_ILLEGAL_OPERATION
        if cap.badge != 0:
            return abi.ERR_ILLEGAL_OPERATION
    else:
        badge = cap.badge
    new = device.derive(kernel, tcap.obj, cap, cap.rights & rights, badge, request[3])
    return new if type(new) is int else abi.OK


def sys_set_handler(kernel, tcb, sysno, request):
    # (SYS, tcb_slot, ep_slot or -1, which): HANDLER_FAULT or HANDLER_TIMEOUT.
    if len(request) != 4:
        return abi.ERR_INVALID_ARGUMENT
    tcap = lookup(tcb, request[1], abi.TYPE_TCB, abi.RIGHT_WRITE)
    if type(tcap) is int:
        return tcap
    which = request[3]
    if type(which) is not int or which < 0 or which > 1:
        return abi.ERR_INVALID_ARGUMENT
    slot = request[2]
    cap = None
    if type(slot) is not int:
        return abi.ERR_INVALID_ARGUMENT
    if slot != abi.NO_SLOT:
        cap = lookup(tcb, slot, abi.TYPE_ENDPOINT, abi.RIGHT_WRITE)
        if type(cap) is int:
            return cap
    handlers = handlers_of(tcap.obj)
    new = None
    if cap is not None:
        # The new cap is made and joins the tree first (memory): out of memory, the old
        # handler stays.
        new = cdt.Cap(cap.obj, cap.obj_type, abi.RIGHT_WRITE, cap.badge)
        if cap.badge & abi.BADGE_GEN_FLAG:
            new.gen = cdt.generation(cap)
        cdt.adopt(cap, new)
    old = handlers.slots[which]
    if old is not None:
        kernel.delete(old)
    if new is not None:
        cdt.place(handlers, which, new)
    return abi.OK
