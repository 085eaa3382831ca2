"""Untyped invocations: retype an object-count quota into new kernel objects."""

from k5 import cdt
from k5.abi import (
    ERR_INVALID_ARGUMENT,
    ERR_NOT_ENOUGH_MEMORY,
    OK,
    RIGHT_WRITE,
    RIGHTS_ALL,
    TYPE_ENDPOINT,
    TYPE_NOTIFICATION,
    TYPE_REPLY,
    TYPE_SCHED_CONTEXT,
    TYPE_TCB,
    TYPE_UNTYPED,
)
from k5.decode import dest_slot, lookup


def sys_retype(kernel, tcb, sysno, request):
    # (SYS, untyped_slot, obj_type, dest_slot)
    if len(request) != 4:
        return ERR_INVALID_ARGUMENT
    untyped = lookup(tcb, request[1], TYPE_UNTYPED, RIGHT_WRITE)
    if type(untyped) is int:
        return untyped
    obj_type = request[2]
    if type(obj_type) is not int or not (
        obj_type == TYPE_ENDPOINT
        or obj_type == TYPE_NOTIFICATION
        or obj_type == TYPE_TCB
        or obj_type == TYPE_SCHED_CONTEXT
        or obj_type == TYPE_REPLY
    ):
        return ERR_INVALID_ARGUMENT
    err = dest_slot(tcb, request[3])
    if err != OK:
        return err
    if untyped.obj.remaining <= 0:
        return ERR_NOT_ENOUGH_MEMORY
    untyped.obj.remaining -= 1
    obj = kernel.create_object(obj_type)
    cap = cdt.Cap(obj, obj_type, RIGHTS_ALL, 0)
    cdt.insert(tcb.cspace, request[3], cap, untyped)
    return OK
