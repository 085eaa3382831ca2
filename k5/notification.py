"""Notification invocations: signal, wait, poll (decode and perform side by side)."""

from k5.abi import (
    ERR_ILLEGAL_OPERATION,
    ERR_INVALID_ARGUMENT,
    ERR_WOULD_BLOCK,
    NO_SLOT,
    OK,
    RIGHT_READ,
    RIGHT_WRITE,
    SOURCE_NOTIFICATION,
    STATE_BLOCKED_NOTIFICATION,
    STATE_BLOCKED_RECV,
    STATE_RUNNING,
    SYS_POLL,
    TYPE_NOTIFICATION,
)
from k5.decode import lookup
from k5.objects import QUEUE_NOTIFICATION


def deliver_signal(tcb, badge):
    """Write a notification word into tcb's IPC buffer (perform)."""
    ipc = tcb.ipc
    ipc.badge = badge
    ipc.label = 0
    ipc.count = 0
    ipc.length = 0
    ipc.cap = NO_SLOT
    ipc.source = SOURCE_NOTIFICATION


def sys_signal(kernel, tcb, sysno, request):
    # (SYS_SIGNAL, ntfn_slot)
    if len(request) != 2:
        return ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], TYPE_NOTIFICATION, RIGHT_WRITE)
    if type(cap) is int:
        return cap
    do_signal(kernel, cap.obj, cap.badge)
    return OK


def do_signal(kernel, ntfn, badge):
    """OR `badge` into ntfn, waking its first waiter or its bound TCB (perform)."""
    waiter = ntfn.queue.head
    if waiter is not None:
        ntfn.queue.remove(waiter)
        waiter.blocked_on = None
        waiter.blocked_cap = None
        deliver_signal(waiter, badge)
        kernel.arch.set_result(waiter.context, OK)
        waiter.state = STATE_RUNNING
        kernel.schedule_runnable(waiter)
        return
    bound = ntfn.bound_tcb
    if bound is not None and bound.state == STATE_BLOCKED_RECV:
        kernel.dequeue(bound)
        bound.blocked_on = None
        bound.blocked_cap = None
        deliver_signal(bound, badge | ntfn.word)
        ntfn.word = 0
        ntfn.active = False
        kernel.arch.set_result(bound.context, OK)
        bound.state = STATE_RUNNING
        kernel.schedule_runnable(bound)
        return
    ntfn.word |= badge
    ntfn.active = True


def sys_wait(kernel, tcb, sysno, request):
    # (SYS_WAIT or SYS_POLL, ntfn_slot)
    if len(request) != 2:
        return ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], TYPE_NOTIFICATION, RIGHT_READ)
    if type(cap) is int:
        return cap
    ntfn = cap.obj
    if ntfn.bound_tcb is not None and ntfn.bound_tcb is not tcb:
        return ERR_ILLEGAL_OPERATION
    if ntfn.active:
        deliver_signal(tcb, ntfn.word)
        ntfn.word = 0
        ntfn.active = False
        return OK
    if sysno == SYS_POLL:
        deliver_signal(tcb, 0)
        return ERR_WOULD_BLOCK
    tcb.state = STATE_BLOCKED_NOTIFICATION
    tcb.blocked_on = ntfn
    tcb.blocked_cap = cap
    ntfn.queue.append(tcb)
    tcb.queue_kind = QUEUE_NOTIFICATION
    if tcb is kernel.current:
        kernel.current = None
    return None
