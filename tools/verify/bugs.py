"""Seeded kernel bugs: each must be caught by the explorer (tests prove the checker bites)."""

# Each bug is a monkeypatch of the real k5/ code, applied only inside `with seeded(name):`.
# tests/verify/test_verify.py explores with each one, expects a violation, writes the shortest
# counterexample as a scenario and replays it: failing with the bug, passing without.

import contextlib

from k5 import cnode, device, ipc, lease, reply_object, thread
from k5.decode import is_small
from k5.objects import QUEUE_SLEEP
from k5.ticks import ticks_add, ticks_diff
from k5.abi import (
    OK,
    RIGHT_WRITE,
    SYS_IRQ_ACK,
    RIGHTS_ALL,
    STATE_BLOCKED_SLEEP,
    STATE_BLOCKED_REPLY,
    STATE_RUNNING,
    SYS_BORROW_WRITE,
    SYS_CNODE_MUTATE,
    TYPE_ENDPOINT,
    TYPE_NOTIFICATION,
)
from k5.kernel import Kernel


def _mutate_or_rights(original):
    def cnode_move(kernel, tcb, sysno, request):
        # Mutate ORs the new rights in instead of masking with them: rights can grow.
        err = original(kernel, tcb, sysno, request)
        if err == OK and sysno == SYS_CNODE_MUTATE:
            cap = tcb.cspace.slots[request[2]]
            cap.rights |= request[3] & RIGHTS_ALL
        return err

    return cnode_move


def _sender_done_without_wakeup(original):
    def sender_done(kernel, tcb):
        # Forgets to put a woken sender back in a ready queue: a lost thread.
        if tcb.state != STATE_RUNNING and tcb.fault_kind == 0:
            tcb.state = STATE_RUNNING
            return
        original(kernel, tcb)

    return sender_done


def _commit_nothing(original):
    def commit(self, sc):
        # Forgets to charge used time: the SC runs past its budget.
        sc.consumed = 0

    return commit


def _destroyed_reply_says_ok(original):
    def destroy_reply(kernel, reply):
        # The last cap of a bound Reply goes: its caller is told OK, as if it had been answered.
        if reply.caller is not None:
            reply_object.disarm_reply(kernel, reply, OK)

    return destroy_reply


def _lease_outlives_reply(original):
    def disarm_reply(kernel, reply, result):
        # The reply forgets to end the caller's lease: the server could reach the buffer later.
        caller = reply.caller
        kept = caller.lease
        original(kernel, reply, result)
        caller.lease = kept

    return disarm_reply


def _borrow_ignores_rights(original):
    def sys_borrow(kernel, tcb, sysno, request):
        # borrow_write does not check the lease's write right: a read-only lease is written.
        if sysno == SYS_BORROW_WRITE:
            found = lease._lender(tcb, request[1])
            if type(found) is not int and not found.lease[1] & RIGHT_WRITE:
                buffer, offset, data = found.lease[0], request[2], request[3]
                if offset + len(data) <= len(buffer):
                    buffer[offset : offset + len(data)] = data
                    return OK
        return original(kernel, tcb, sysno, request)

    return sys_borrow


def _unmapping_forgotten(original):
    def refresh(kernel, tcb):
        # The MPU view only ever grows: a deleted or revoked window stays mapped.
        if tcb is None or tcb.context is None or tcb is kernel.root:
            return
        old = tcb.context.regions or ()
        new = device.view(tcb)
        covered = 0
        for base, limit, _, _ in old:
            covered += limit - base
        for base, limit, _, _ in new:
            covered -= limit - base
        if covered <= 0:
            original(kernel, tcb)

    return refresh


def _ack_unbound_unmasks(original):
    def sys_irq_handler(kernel, tcb, sysno, request):
        # An ack of a handler with no notification unmasks its line anyway.
        if sysno == SYS_IRQ_ACK and len(request) == 2:
            cap = tcb.cspace.slots[request[1]] if 0 <= request[1] < len(tcb.cspace.slots) else None
            if cap is not None and type(cap.obj).__name__ == "IRQHandler" and cap.obj.ntfn is None:
                kernel.arch.irq_unmask(cap.obj.line)
                return OK
        return original(kernel, tcb, sysno, request)

    return sys_irq_handler


def _no_rotation(original):
    def check_budget(self, now):
        # A round-robin thread whose time slice ends keeps the CPU instead of going behind the
        # other threads of its priority: they starve.
        current = self.current
        before = current is not None and current.yielded
        original(self, now)
        if current is not None and self.current is current and current.yielded and not before:
            if current.sc is not None and current.sc.is_round_robin():
                current.yielded = False

    return check_budget


def _destroyed_reply_forgets_caller(original):
    def destroy_reply(kernel, reply):
        # The last cap of a bound Reply goes and its caller is left waiting: nobody can reply.
        return None

    return destroy_reply


def _restart_forgets_caller(original):
    def cancel(kernel, tcb, result):
        # A server stopped (restarted, suspended, faulted) forgets the calls it serves, its
        # pending implicit reply and the named replies bound to it: their callers wait for
        # replies that can never come.
        tcb.pending_reply = None
        served = []
        for other in kernel.tcbs:
            if other.state == STATE_BLOCKED_REPLY and other.blocked_on.server is tcb:
                served.append(other.blocked_on)
                other.blocked_on.server = None
        original(kernel, tcb, result)
        for reply in served:
            if reply.caller is not None:
                reply.server = tcb

    return cancel


def _delete_forgets_waiter(original):
    def delete(kernel, cap):
        # Deleting a cap leaves the threads blocked through it blocked.
        obj = cap.obj
        kept = []
        if cap.obj_type == TYPE_ENDPOINT or cap.obj_type == TYPE_NOTIFICATION:
            for tcb in obj.queue.members():
                if tcb.blocked_cap is cap:
                    tcb.blocked_cap = None
                    kept.append(tcb)
        original(kernel, cap)
        for tcb in kept:
            if tcb.blocked_on is obj and tcb.queue is not None:
                tcb.blocked_cap = cap

    return delete


def _sleep_wedges(original):
    def sys_sleep(kernel, tcb, sysno, request):
        # The sleep before the time-range rule: any small int is a sleep, and the new deadline
        # is compared with its neighbours from the tail, not with now. A deadline 2**29 - 1
        # ahead, then one a few ticks "in the past" queue in that order, and every later
        # sleeper behind both: the queue's head holds them all up for 2**29 ticks.
        if len(request) != 2 or not is_small(request[1]) or request[1] == 0:
            return original(kernel, tcb, sysno, request)
        wake = ticks_add(kernel.arch.now(), request[1])
        tcb.state = STATE_BLOCKED_SLEEP
        tcb.wake_time = wake
        hint = kernel.sched.wake_hint
        if hint < 0 or ticks_diff(wake, hint) < 0:
            kernel.sched.wake_hint = wake
        queue = kernel.sched.sleep
        node = queue.tail
        while node is not None and ticks_diff(node.wake_time, wake) > 0:
            node = node.q_prev
        queue.insert_after(node, tcb)
        tcb.queue_kind = QUEUE_SLEEP
        if tcb is kernel.current:
            kernel.current = None
        return None

    return sys_sleep


def _sc_follows_any_reply(original):
    def remove_donation(kernel, reply):
        # The rule before issue 22: ending any reply brings its SC back to the reply's caller
        # from whoever runs on it now, wherever the reply sits on the call stack.
        sc = reply.donated
        caller = reply.caller
        original(kernel, reply)
        if sc.tcb is not caller:
            reply_object.move_sc(kernel, sc, caller, None)

    return remove_donation


def _binding_outlives_cap(original):
    def binding_gone(kernel, cap):
        # Deleting or revoking a notification cap leaves the timers and lines bound through it.
        return None

    return binding_gone


# name -> (object, attribute, wrapper of the original, what the bug is). A module function is
# patched in its module (its callers look it up there; the syscall table is built per kernel).
BUGS = {
    "rights-grow": (cnode, "sys_move", _mutate_or_rights, "mutate adds rights"),
    "lost-wakeup": (
        ipc,
        "sender_done",
        _sender_done_without_wakeup,
        "a sender woken by its receiver is never queued",
    ),
    "no-charge": (Kernel, "commit", _commit_nothing, "consumed time is never charged"),
    "reply-destroyed-ok": (
        reply_object,
        "destroy_reply",
        _destroyed_reply_says_ok,
        "deleting a bound Reply tells its caller OK, with no reply",
    ),
    "reply-destroyed-forgotten": (
        reply_object,
        "destroy_reply",
        _destroyed_reply_forgets_caller,
        "deleting a bound Reply leaves its caller waiting for a reply nobody can send",
    ),
    "restart-forgets-caller": (
        thread,
        "cancel",
        _restart_forgets_caller,
        "a server stopped mid-call leaves its callers waiting for replies that cannot come",
    ),
    "delete-forgets-waiter": (
        cnode,
        "delete",
        _delete_forgets_waiter,
        "deleting a cap leaves the threads blocked through it blocked",
    ),
    "no-rotation": (
        Kernel,
        "_check_budget",
        _no_rotation,
        "a round-robin thread keeps the CPU when its time slice ends",
    ),
    "lease-outlives-reply": (
        reply_object,
        "disarm_reply",
        _lease_outlives_reply,
        "a reply does not end the caller's lease",
    ),
    "borrow-ignores-rights": (
        lease,
        "sys_borrow",
        _borrow_ignores_rights,
        "borrow_write writes a read-only lease",
    ),
    "unmapping-forgotten": (
        device,
        "refresh",
        _unmapping_forgotten,
        "a deleted or revoked window stays in the MPU view",
    ),
    "sleep-wedges": (
        thread,
        "sys_sleep",
        _sleep_wedges,
        "sleep takes any small int and orders the sleep queue by neighbours",
    ),
    "sc-follows-any-reply": (
        reply_object,
        "remove_donation",
        _sc_follows_any_reply,
        "a reply answered out of turn takes the SC from the head of its call stack",
    ),
    "binding-outlives-cap": (
        cnode,
        "binding_gone",
        _binding_outlives_cap,
        "a timer or line bound through a notification cap outlives the cap",
    ),
    "ack-unbound-unmasks": (
        device,
        "sys_irq_handler",
        _ack_unbound_unmasks,
        "an ack of an unbound IRQ handler unmasks its line",
    ),
}


# Bugs whose shortest counterexample is longer than the bound of the search over every system
# (tests/verify/test_verify.py): the system that finds them, and how deep it must look. (A chain
# through two passive servers takes five steps to build before a Reply can be answered out of
# turn.)
DEEP = {"sc-follows-any-reply": ("donation", 7)}


@contextlib.contextmanager
def seeded(name):
    """Apply seeded bug `name` for the duration of the block."""
    if name not in BUGS:
        raise ValueError("unknown seeded bug %r (known: %s)" % (name, ", ".join(sorted(BUGS))))
    owner, attribute, wrap, _ = BUGS[name]
    original = getattr(owner, attribute)
    setattr(owner, attribute, wrap(original))
    try:
        yield
    finally:
        setattr(owner, attribute, original)
