"""Untyped invocations: retype an object-count quota into new kernel objects."""

from k5 import cdt
from k5 import abi
from k5.decode import dest_slot, lookup
from k5.ipcbuf import IpcBuffer
from k5.objects import TCB, Endpoint, Notification, Reply, SchedContext


def sys_retype(kernel, tcb, sysno, request):
    # (SYS, untyped_slot, obj_type, dest_slot)
    if len(request) != 4:
        return abi.ERR_INVALID_ARGUMENT
    untyped = lookup(tcb, request[1], abi.TYPE_UNTYPED, abi.RIGHT_WRITE)
    if type(untyped) is int:
        return untyped
    obj_type = request[2]
    if type(obj_type) is not int or not (
        obj_type == abi.TYPE_ENDPOINT
        or obj_type == abi.TYPE_NOTIFICATION
        or obj_type == abi.TYPE_TCB
        or obj_type == abi.TYPE_SCHED_CONTEXT
        or obj_type == abi.TYPE_REPLY
    ):
        return abi.ERR_INVALID_ARGUMENT
    err = dest_slot(tcb, request[3])
    if err != abi.OK:
        return err
    if untyped.obj.remaining <= 0:
        return abi.ERR_NOT_ENOUGH_MEMORY
    # What needs memory first, each step undone if the next has none: a MemoryError (the
    # kernel answers ERR_NOT_ENOUGH_MEMORY) leaves no object half made and the quota whole.
    obj = create_object(kernel, obj_type)
    cap = cdt.Cap(obj, obj_type, abi.RIGHTS_ALL, 0)
    registry = _registry(kernel, obj_type)
    if registry is not None:
        registry.append(obj)
    try:
        cdt.insert(tcb.cspace, request[3], cap, untyped)
    except MemoryError:
        if registry is not None:
            registry.pop()
        raise
    untyped.obj.remaining -= 1
    return abi.OK


def _registry(kernel, obj_type):
    # The kernel's list of every object of obj_type, if it keeps one.
    if obj_type == abi.TYPE_TCB:
        return kernel.tcbs
    if obj_type == abi.TYPE_SCHED_CONTEXT:
        return kernel.objects
    return None


def create_object(kernel, obj_type):
    """A fresh object of obj_type, not yet in the kernel's lists (TCBs start unconfigured and
    inactive)."""
    oid = kernel._new_id()
    if obj_type == abi.TYPE_ENDPOINT:
        return Endpoint("ep" + str(oid), oid)
    if obj_type == abi.TYPE_NOTIFICATION:
        return Notification("ntfn" + str(oid), oid)
    if obj_type == abi.TYPE_SCHED_CONTEXT:
        return SchedContext(kernel.min_budget, "sc" + str(oid), oid)
    if obj_type == abi.TYPE_REPLY:
        return Reply()
    return TCB(oid, "tcb" + str(oid), 0, IpcBuffer())
