"""The explored model: actions on a real kernel and the checks at its trap boundary."""

# Runs on CPython and on MicroPython (the differential walk, walk.py, runs it on both): the
# search itself (explore.py) is CPython only.
# A state is a whole system (kernel objects, builder root, checker arch) plus the explorer's
# ghost bookkeeping. From each state the enabled actions are: one of the current task's
# alphabet entries (the kernel chose the task; the action says what its run does: a syscall,
# a preemption by the timer, a fault, an exit), an interrupt (a notification signalled from
# outside), or, when nothing is runnable but a refill or wake-up is due, idling until then.
# Each action is one call into the kernel's own run loop (Kernel.run), so the code explored is
# the real k5/.
# Checks at every step: the state invariants (invariants.check_state) on each new state, and at
# the trap boundary (what the kernel tells tasks through set_result, what it delivers):
# - answered: a thread resumes only after its syscall got a result (or it was reset, or it was
#   suspended, whose resume gives no result in K5);
# - one-result-per-trap: at most one result per run of a task;
# - faulted-thread-ran: a faulted thread never runs again until restarted;
# - no-message-lost / -duplicated / -invented: each message word names its sender; a message
#   is delivered at most once, only while sent, only to a thread in a receive, and a sender is
#   told OK only after delivery; an undelivered message is held by its blocked sender;
# - reply-to-caller: a reply reaches only a caller waiting for one;
# - irq-delivered / irq-spurious: a bound line that fires signals its notification (the word
#   or a waiter woken with the badge), and the notification is signalled only when it fired;
#   irq-taken: a fired line is taken by the kernel within the step;
# - lease-scope: a thread lends a buffer only while it is in the call that lent it;
# - lease-writes / lease-reads: a lent buffer changes only by a successful borrow_write of the
#   server whose Reply is bound to the lender, with the write right, and exactly in the bytes
#   written; a successful borrow_read copies the lent bytes, with the read right;
# - budget-per-period: every sporadic SC used at most its budget in every period window;
# - no-kernel-panic: no Python exception escapes the kernel;
# - idle-progress: idling until the next wake-up releases someone (no idle livelock);
# - ready-runs-within: while a thread waits ready, the only threads of its priority that run are
#   those that were ahead of it, on their SCs, and none once it went behind (bounded
#   overtaking; the argument is in _fair and docs/verify.md).

from k5.abi import (
    FAULT_TIMEOUT,
    NO_SLOT,
    OK,
    RIGHT_READ,
    RIGHT_WRITE,
    STATE_BLOCKED_REPLY,
    STATE_BLOCKED_SEND,
    STATE_INACTIVE,
    SYS_BORROW_READ,
    SYS_BORROW_WRITE,
    SYS_CALL,
    SYS_NBRECV,
    SYS_NBSEND,
    SYS_RECV,
    SYS_REPLY_RECV,
    SYS_SEND,
    SYS_WAIT,
    TRAP_FAULT,
    TRAP_SYSCALL,
    TYPE_WINDOW,
)
from k5.kernel import KernelPanic
from k5.objects import QUEUE_READY
from k5.ticks import ticks_diff
from tools.verify import canon, invariants
from tools.verify.checkarch import (
    EVENT_FIRE,
    EVENT_RESET,
    EVENT_RESULT,
    EVENT_RUN,
    PLAN_SYSCALL,
    CheckError,
)
from tools.verify.invariants import Violation
from tools.verify.systems import LABEL_REPLY, LABEL_SEND, Fresh, build

# Ghost per task: what its last trap was, and where its message is.
TRAP_NONE = 0
TRAP_WAITING = 1  # in a syscall, no result yet
TRAP_FAULTED = 2  # faulted: must not run until restarted
SENT_NONE = 0
SENT_IN_FLIGHT = 1  # sent, not delivered: held by the blocked sender
SENT_DELIVERED = 2  # delivered, the sender not yet told (never survives a step)
SENT_AWAITING_REPLY = 3  # a call delivered, its caller waits for the reply
SENT_TIMEOUT = 4  # its timeout fault delivered: the handler's reply resumes it, with no result

EVENT_DELIVER = 10  # (EVENT_DELIVER, receiver tid, label, first word)
EVENT_USAGE = 11  # (EVENT_USAGE, sc, start, end)


class _BoundaryLog:
    """Stands in for the kernel's delivery_log/usage_log: records into the arch's events."""

    __slots__ = ("arch", "kind")

    def __init__(self, arch, kind):
        self.arch = arch
        self.kind = kind

    def append(self, entry):
        if self.kind == EVENT_DELIVER:
            self.arch.events.append((EVENT_DELIVER, entry[0], entry[1], entry[2]))
        else:
            self.arch.events.append((EVENT_USAGE, entry[0], entry[1], entry[2]))


class Ghost:
    """The explorer's bookkeeping per task and per SC (part of the state, and of its hash)."""

    __slots__ = ("trap", "op", "answered", "sent", "usage", "lent", "ahead", "run")

    def __init__(self, tasks, scs):
        self.trap = [TRAP_NONE] * tasks
        self.op = [0] * tasks
        self.answered = [0] * tasks
        self.sent = [SENT_NONE] * tasks
        self.usage = [()] * scs  # per SC: (start, end) intervals relative to now
        self.lent = [None] * tasks  # per task: the buffer of its last call with a lease
        # per task waiting ready: the SCs (bits, by index) that may still run ahead of it
        self.ahead = [0] * tasks
        # per task waiting ready: ticks the current SC has run at its priority since it began
        # to wait or that SC was switched to (a turn's unbroken stretch)
        self.run = [0] * tasks

    def key(self):
        ops = tuple(
            [self.op[i] if self.trap[i] == TRAP_WAITING else 0 for i in range(len(self.op))]
        )
        lent = tuple([None if b is None else bytes(b) for b in self.lent])
        return (
            tuple(self.trap),
            ops,
            tuple(self.answered),
            tuple(self.sent),
            tuple(self.usage),
            lent,
            tuple(self.ahead),
            tuple(self.run),
        )


class State:
    """One explorer state: the system (with its kernel and checker arch) and the ghost."""

    __slots__ = ("system", "ghost", "scs")

    def __init__(self, system, ghost, scs):
        self.system = system
        self.ghost = ghost
        self.scs = scs


class Model:
    """One system under exploration: builds the initial state, lists and applies actions."""

    def __init__(self, name):
        spec = build(name)
        self.name = name
        self.alphabet = spec.alphabet
        self.interrupts = [(label, ref.name, badge) for label, ref, badge in spec.interrupts]
        self.hardware = spec.hardware
        system = spec.system
        kernel = system.kernel
        kernel.delivery_log = _BoundaryLog(system.arch, EVENT_DELIVER)
        kernel.usage_log = _BoundaryLog(system.arch, EVENT_USAGE)
        self.task_names = [tcb.name for tcb in kernel.tcbs]
        scs = [ref.obj for ref in system.refs if type(ref.obj).__name__ == "SchedContext"]
        state = State(system, Ghost(len(kernel.tcbs), len(scs)), scs)
        # Let the kernel choose its first thread, as Kernel.run does before the first trap.
        self._kernel_run(state, -1, 0)
        state.system.arch.events = []
        # Every ready thread begins to wait now, behind those ahead of it.
        self._fair(state, [None] * len(kernel.tcbs), [t.priority for t in kernel.tcbs], None, 0)
        self.initial = state

    # --- actions -----------------------------------------------------------------------------

    def actions(self, state):
        """The names of the actions enabled in `state` (fixed order)."""
        kernel = state.system.kernel
        if kernel.halted:
            return []
        result = []
        current = kernel.current
        if current is not None:
            index = kernel.tcbs.index(current)
            prefix = self.task_names[index] + ":"
            for name, _ in self.alphabet[index]:
                result.append(prefix + name)
        elif kernel.sched.next_wakeup() >= 0:
            result.append("idle")
        for label, _, _ in self.interrupts:
            result.append("irq:" + label)
        for label, _ in self.hardware:
            result.append("hw:" + label)
        return result

    def _kernel_run(self, state, ticks, traps):
        kernel = state.system.kernel
        try:
            kernel.run(ticks, traps)
        except KernelPanic as panic:
            raise Violation("no-kernel-panic", str(panic)) from None
        except CheckError as exc:
            raise Violation("arch-contract", str(exc)) from None

    def apply(self, state, action):
        """Perform `action` on `state` in place and check the boundary; raise Violation."""
        system = state.system
        kernel = system.kernel
        arch = system.arch
        ghost = state.ghost
        now = arch.now()
        configured = [sc.configured_at for sc in state.scs]
        behind = _behind(kernel)
        priorities = [tcb.priority for tcb in kernel.tcbs]
        running_sc = kernel.cur_sc
        lines = _irq_bindings(kernel)
        fired_before = arch.irq_fired
        if action == "idle":
            wake = kernel.sched.next_wakeup()
            if kernel.current is not None or wake < 0:
                raise ValueError("idle is not enabled here")
            self._kernel_run(state, ticks_diff(wake, now), -1)
            if ticks_diff(arch.now(), wake) != 0 or (
                kernel.current is None and kernel.sched.next_wakeup() == wake
            ):
                raise Violation("idle-progress", "idling until %d released nothing" % wake)
        elif action.startswith("irq:"):
            label = action[4:]
            for name, ref_name, badge in self.interrupts:
                if name == label:
                    kernel.signal(system.lookup(ref_name).obj, badge)
                    self._kernel_run(state, -1, 0)
                    break
            else:
                raise ValueError("unknown interrupt %r" % label)
        elif action.startswith("hw:"):
            label = action[3:]
            for name, line in self.hardware:
                if name == label:
                    arch.raise_hw_irq(line)
                    self._kernel_run(state, -1, 0)
                    break
            else:
                raise ValueError("unknown hardware interrupt %r" % label)
        else:
            current = kernel.current
            task, _, name = action.partition(":")
            if current is None or current.name != task:
                raise ValueError("%s is not enabled: %s is not running" % (action, task))
            index = kernel.tcbs.index(current)
            for entry, plan in self.alphabet[index]:
                if entry == name:
                    break
            else:
                raise ValueError("task %s has no action %r" % (task, name))
            if ghost.trap[index] == TRAP_WAITING and ghost.answered[index] == 0:
                raise Violation("answered", task + " resumed before its syscall got a result")
            if ghost.trap[index] == TRAP_FAULTED:
                raise Violation("faulted-thread-ran", task + " ran after faulting")
            if ghost.sent[index] != SENT_NONE:
                raise Violation("no-message-lost", task + " ran while its message was in flight")
            plan = _fresh(plan)
            lender = self._lender(kernel, current, plan)
            before = [None if b is None else bytes(b) for b in ghost.lent]
            arch.plan = plan
            self._kernel_run(state, -1, 1)
            if arch.plan is not None:
                raise Violation("arch-contract", "the kernel did not run " + task)
            self._leases(state, index, plan, lender, before)
        self._irqs(state, lines, fired_before)
        self._boundary(state, now, configured)
        self._fair(state, behind, priorities, running_sc, ticks_diff(arch.now(), now))

    # --- bounded liveness ------------------------------------------------------------------------

    def _fair(self, state, behind, priorities, running_sc, elapsed):
        """ready-runs-within (bounded overtaking): while a thread T waits in a ready queue, a
        thread of its priority that the kernel chooses runs on an SC that was ahead of T (held
        by a thread ahead of it in the queue, or by the current thread) when T began to wait,
        and has been ahead of it ever since. A thread queued again (woken, released, rotated,
        resumed) goes behind T, so it cannot run before T; a current thread preempted by a
        higher priority goes back to the head and keeps its place. So each SC of T's priority
        runs ahead of T at most once (one turn, however it is split by preemptions), and T runs
        within the turns of those ahead of it plus what higher priorities use (bounded by
        budget-per-period). T's wait begins again when T is queued again itself (restart,
        set_priority, reconfiguration: every thread that was behind it is now ahead), and
        when a thread's priority moves to or from T's.

        And a turn ends: while T waits, an SC of its priority runs at most its budget without
        a break (a round-robin slice, then the thread goes behind T; a sporadic SC's unbroken
        run is at most its budget, or budget-per-period fails). Its turn may go on after a
        preemption by a higher priority, which is that priority's time, not T's."""
        kernel = state.system.kernel
        ahead = state.ghost.ahead
        run = state.ghost.run
        tcbs = kernel.tcbs
        scs = state.scs
        current = kernel.current
        # The priorities some thread moved from or to in the step.
        moved = []
        for j in range(len(tcbs)):
            if priorities[j] != tcbs[j].priority:
                moved.append(priorities[j])
                moved.append(tcbs[j].priority)
        for i in range(len(tcbs)):
            tcb = tcbs[i]
            if tcb.queue_kind != QUEUE_READY or tcb is current:
                ahead[i] = 0
                run[i] = 0
                continue
            queue = tcb.queue.members()
            position = queue.index(tcb)
            front = queue[:position]
            if current is not None and current.priority == tcb.priority:
                front.append(current)
            mask = 0
            for other in front:
                if other.sc in scs:
                    mask |= 1 << scs.index(other.sc)
            was = behind[i]
            requeued = False
            if was is not None:
                still = [j for j in was if tcbs[j].queue is tcb.queue or tcbs[j] is current]
                requeued = len(still) > 0 and all(tcbs[j] in front for j in still)
            if was is None or requeued or tcb.priority in moved:
                ahead[i] = mask  # its wait begins: those ahead now may run first
                run[i] = 0
                continue
            if current is not None and current.priority == tcb.priority and current.sc in scs:
                bit = 1 << scs.index(current.sc)
                if not ahead[i] & bit:
                    raise Violation(
                        "ready-runs-within",
                        "%s ran before %s, which had been waiting ahead of it"
                        % (current.name, tcb.name),
                    )
            ahead[i] &= mask
            sc = kernel.cur_sc
            if current is None or current.priority != tcb.priority or sc is not running_sc:
                run[i] = 0
                continue
            run[i] += elapsed
            if run[i] > sc.budget:
                raise Violation(
                    "ready-runs-within",
                    "%s ran %d ticks on end on %s (budget %d) while %s waited"
                    % (current.name, run[i], sc.name, sc.budget, tcb.name),
                )

    # --- interrupts ----------------------------------------------------------------------------

    def _irqs(self, state, lines, fired_before):
        """After a step: each bound line that fired and was taken signalled its notification,
        and nothing else did; a line fired before the step was taken in it."""
        kernel = state.system.kernel
        arch = state.system.arch
        events = arch.events
        if fired_before & arch.irq_fired:
            raise Violation("irq-taken", "line(s) %#x fired and were never taken" % fired_before)
        for line, handler, ntfn, badge, word, waiters in lines:
            if (
                _handler(kernel, line) is not handler
                or handler.ntfn is not ntfn
                or handler.badge != badge
            ):
                continue  # rebound or gone during the step: not comparable
            # Fired in the step or before it (the kernel takes a line at its next poll), and
            # taken by now.
            bit = 1 << line
            fired = (EVENT_FIRE, line) in events or fired_before & bit
            if arch.irq_fired & bit:
                continue  # fired in this step, taken at the kernel's next poll
            # Who took the badge in the step: a waiter woken, or a wait that found the word set.
            woken = False
            for event in events:
                if event[0] == EVENT_RESULT and event[2] == OK:
                    i = event[1]
                    tcb = kernel.tcbs[i]
                    if tcb.ipc.badge & badge and (
                        tcb.tid in waiters or _waits_on(tcb, arch.contexts[i].request, ntfn)
                    ):
                        woken = True
            had = word & badge
            has = ntfn.word & badge
            if fired and not (has or woken):
                raise Violation(
                    "irq-delivered", "line %d fired, %s was not signalled" % (line, ntfn.name)
                )
            if not fired and not had and (has or woken):
                raise Violation(
                    "irq-spurious", "%s signalled, line %d did not fire" % (ntfn.name, line)
                )

    # --- leases --------------------------------------------------------------------------------

    def _lender(self, kernel, server, plan):
        """For a borrow: (index, rights) of the thread whose lease the plan's Reply reaches, as
        bound before the step (None: no caller with a lease is bound to it)."""
        if plan[0] != PLAN_SYSCALL or plan[1][0] not in (SYS_BORROW_READ, SYS_BORROW_WRITE):
            return None
        slot = plan[1][1]
        if slot == NO_SLOT:
            reply = server.pending_reply
            if reply is None or reply.seq != server.pending_seq:
                return None
        else:
            cap = server.cspace.slots[slot] if 0 <= slot < len(server.cspace.slots) else None
            if cap is None or type(cap.obj).__name__ != "Reply":
                return None
            reply = cap.obj
        caller = reply.caller
        if caller is None or caller.lease is None:
            return None
        return kernel.tcbs.index(caller), caller.lease[1]

    def _leases(self, state, index, plan, lender, before):
        """After a task's step: record a new lease; check what happened to every lent buffer."""
        kernel = state.system.kernel
        ghost = state.ghost
        names = self.task_names
        tcb = kernel.tcbs[index]
        request = plan[1] if plan[0] == PLAN_SYSCALL else None
        lent_now = None
        if request is not None and request[0] == SYS_CALL and len(request) == 9:
            if tcb.lease is not None and tcb.lease[0] is request[7]:
                lent_now = request[7]
                ghost.lent[index] = lent_now
        result = None
        trapped = False
        for event in state.system.arch.events:
            if event[0] == EVENT_RUN and event[1] == index:
                trapped = event[2] == TRAP_SYSCALL
            elif event[0] == EVENT_RESULT and event[1] == index:
                result = event[2]
        sysno = request[0] if trapped else None
        for i in range(len(before)):
            old = before[i]
            new = ghost.lent[i]
            if old is None or new is None or bytes(new) == old:
                continue
            if new is lent_now:
                continue  # a new call: a new buffer
            if sysno != SYS_BORROW_WRITE or result != OK or lender is None or lender[0] != i:
                raise Violation("lease-writes", "%s's lent buffer changed" % names[i])
            offset, data = request[2], bytes(request[3])
            expected = old[:offset] + data + old[offset + len(data) :]
            if bytes(new) != expected:
                raise Violation(
                    "lease-writes", "%s's buffer is %r, not %r" % (names[i], new, expected)
                )
        if sysno == SYS_BORROW_WRITE and result == OK:
            if lender is None or not lender[1] & RIGHT_WRITE:
                raise Violation("lease-writes", names[index] + " wrote with no lease to write")
        if sysno == SYS_BORROW_READ and result == OK:
            if lender is None or not lender[1] & RIGHT_READ:
                raise Violation("lease-reads", names[index] + " read with no lease to read")
            source = before[lender[0]]
            offset, into = request[2], request[3]
            count = min(len(into), len(source) - offset)
            if bytes(into[:count]) != source[offset : offset + count]:
                raise Violation("lease-reads", "%s read %r from %r" % (names[index], into, source))

    # --- the trap boundary -------------------------------------------------------------------

    def _index_of_tid(self, kernel, tid):
        for i in range(len(kernel.tcbs)):
            if kernel.tcbs[i].tid == tid:
                return i
        raise Violation("no-message-invented", "delivery to unknown thread %r" % (tid,))

    def _boundary(self, state, before, configured):
        system = state.system
        kernel = system.kernel
        arch = system.arch
        ghost = state.ghost
        now = arch.now()
        events = arch.events
        arch.events = []
        names = self.task_names
        shift = ticks_diff(now, before)
        usage = [
            tuple([(s - shift, e - shift) for s, e in intervals]) for intervals in ghost.usage
        ]
        for event in events:
            kind = event[0]
            if kind == EVENT_RUN:
                i = event[1]
                ghost.answered[i] = 0
                if ghost.sent[i] == SENT_TIMEOUT:
                    ghost.sent[i] = SENT_NONE  # resumed after its timeout fault
                if event[2] == TRAP_SYSCALL:
                    request = arch.contexts[i].request
                    sysno = request[0]
                    ghost.trap[i] = TRAP_WAITING
                    ghost.op[i] = sysno
                    if sysno == SYS_SEND or sysno == SYS_CALL or sysno == SYS_NBSEND:
                        ghost.sent[i] = SENT_IN_FLIGHT
                elif event[2] == TRAP_FAULT:
                    ghost.trap[i] = TRAP_FAULTED
                else:
                    ghost.trap[i] = TRAP_NONE
            elif kind == EVENT_RESET:
                i = event[1]
                ghost.trap[i] = TRAP_NONE
                ghost.answered[i] = 0
                ghost.sent[i] = SENT_NONE
            elif kind == EVENT_RESULT:
                i = event[1]
                value = event[2]
                ghost.answered[i] += 1
                if ghost.answered[i] > 1:
                    raise Violation("one-result-per-trap", names[i] + " got a second result")
                if ghost.trap[i] == TRAP_WAITING:
                    ghost.trap[i] = TRAP_NONE
                sent = ghost.sent[i]
                if sent == SENT_IN_FLIGHT:
                    if value == OK:
                        raise Violation(
                            "no-message-lost", names[i] + " told OK, its message never delivered"
                        )
                    ghost.sent[i] = SENT_NONE
                elif sent == SENT_DELIVERED:
                    if value != OK:
                        raise Violation(
                            "no-message-lost", names[i] + " told %r after delivery" % (value,)
                        )
                    ghost.sent[i] = SENT_NONE
                elif sent == SENT_AWAITING_REPLY:
                    if value == OK:
                        raise Violation("no-message-lost", names[i] + " told OK, no reply came")
                    ghost.sent[i] = SENT_NONE
            elif kind == EVENT_DELIVER:
                receiver = self._index_of_tid(kernel, event[1])
                label = event[2]
                word = event[3]
                if label == LABEL_REPLY:
                    if ghost.sent[receiver] == SENT_TIMEOUT:
                        ghost.sent[receiver] = SENT_NONE  # resumed as it was
                        continue
                    if ghost.sent[receiver] != SENT_AWAITING_REPLY:
                        raise Violation(
                            "reply-to-caller", "reply delivered to %s, no call" % names[receiver]
                        )
                    ghost.sent[receiver] = SENT_DELIVERED
                    continue
                if ghost.trap[receiver] != TRAP_WAITING or ghost.op[receiver] not in (
                    SYS_RECV,
                    SYS_NBRECV,
                    SYS_REPLY_RECV,
                ):
                    raise Violation(
                        "no-message-invented", "delivery to %s, not receiving" % names[receiver]
                    )
                if label == FAULT_TIMEOUT:
                    # A timeout fault is a call the kernel makes for the thread: it waits, and
                    # the handler's reply resumes it as it was, with no result of its own (the
                    # result of a syscall answered in the trap its budget ran out in stays: this
                    # explorer found that the reply used to overwrite it; see docs/verify.md).
                    faulter = self._index_of_tid(kernel, word)
                    if ghost.sent[faulter] != SENT_NONE:
                        raise Violation(
                            "no-message-lost", names[faulter] + " timeout-faulted mid-send"
                        )
                    ghost.sent[faulter] = SENT_TIMEOUT
                    continue
                if label != LABEL_SEND:
                    continue  # an exception fault: its sender is not in a syscall
                if type(word) is not int or word < 0 or word >= len(names):
                    raise Violation("no-message-invented", "message word %r" % (word,))
                sent = ghost.sent[word]
                if sent == SENT_NONE:
                    raise Violation("no-message-invented", names[word] + " sent nothing")
                if sent != SENT_IN_FLIGHT:
                    raise Violation("no-message-duplicated", names[word] + "'s message again")
                if ghost.op[word] == SYS_CALL:
                    ghost.sent[word] = SENT_AWAITING_REPLY
                else:
                    ghost.sent[word] = SENT_DELIVERED
            elif kind == EVENT_USAGE:
                sc = event[1]
                j = state.scs.index(sc)
                if not sc.is_round_robin():
                    start = ticks_diff(event[2], now)
                    end = ticks_diff(event[3], now)
                    usage[j] = usage[j] + ((start, end),)
        # Sporadic SCs: at most budget in every window; keep what future windows can reach.
        for j in range(len(state.scs)):
            sc = state.scs[j]
            if sc.configured_at != configured[j]:
                usage[j] = ()
                continue
            invariants.budget_in_window(sc, usage[j])
            kept = []
            for s, e in usage[j]:
                if e > -sc.period:
                    s = max(s, -sc.period)
                    if kept and kept[-1][1] == s:
                        kept[-1] = (kept[-1][0], e)
                    else:
                        kept.append((s, e))
            usage[j] = tuple(kept)
        ghost.usage = usage
        for i in range(len(names)):
            tcb = kernel.tcbs[i]
            sent = ghost.sent[i]
            if tcb.state == STATE_INACTIVE:
                # Suspended: its syscall and message are cancelled; resume gives no result.
                ghost.trap[i] = TRAP_NONE
                ghost.sent[i] = SENT_NONE
                continue
            if sent == SENT_IN_FLIGHT:
                if (
                    tcb.state != STATE_BLOCKED_SEND
                    or tcb.msg_label != LABEL_SEND
                    or tcb.msg_count < 1
                    or tcb.msg_words[0] != i
                ):
                    raise Violation(
                        "no-message-lost", names[i] + "'s message is neither delivered nor held"
                    )
            elif sent == SENT_DELIVERED:
                raise Violation("no-message-lost", names[i] + " never told its message arrived")
            elif sent == SENT_AWAITING_REPLY and tcb.state != STATE_BLOCKED_REPLY:
                raise Violation("no-message-lost", names[i] + " waits for a reply, not blocked")

    # --- whole-state checks ------------------------------------------------------------------

    def check(self, state):
        """Every state invariant (invariants.check_state) on `state`."""
        system = state.system
        kernel = system.kernel
        objects = [ref.obj for ref in system.refs]
        invariants.check_state(kernel, kernel.tcbs, objects, canon.cnodes(system))
        _check_irq_mask(kernel, system.arch)
        for tcb in kernel.tcbs:
            if tcb.context is not None and tcb is not kernel.root:
                _check_view(tcb)
        for i in range(len(kernel.tcbs)):
            tcb = kernel.tcbs[i]
            lease = tcb.lease
            if lease is None:
                continue
            in_call = tcb.state == STATE_BLOCKED_REPLY or (
                tcb.state == STATE_BLOCKED_SEND and tcb.msg_is_call
            )
            if not in_call or lease[0] is not state.ghost.lent[i]:
                raise Violation(
                    "lease-scope", "%s lends a buffer in state %d" % (tcb.name, tcb.state)
                )

    def key(self, state):
        return canon.canonical(state.system, state.ghost.key())


def _fresh(plan):
    """The plan with each Fresh placeholder of its request made a new bytearray."""
    if plan[0] != PLAN_SYSCALL:
        return plan
    request = plan[1]
    for item in request:
        if isinstance(item, Fresh):
            break
    else:
        return plan
    fresh = tuple([bytearray(x.data) if isinstance(x, Fresh) else x for x in request])
    return (plan[0], fresh) + tuple(plan[2:])


def _behind(kernel):
    """Per TCB waiting in a ready queue: the indices of the TCBs behind it there (None if it
    does not wait ready)."""
    tcbs = kernel.tcbs
    result = []
    for tcb in tcbs:
        if tcb.queue_kind != QUEUE_READY or tcb is kernel.current:
            result.append(None)
            continue
        queue = tcb.queue.members()
        result.append([tcbs.index(t) for t in queue[queue.index(tcb) + 1 :] if t in tcbs])
    return result


def _handler(kernel, line):
    table = kernel.irq_handlers
    return None if table is None else table[line]


def _irq_bindings(kernel):
    """(line, handler, notification, badge, word, waiting tids) of every bound IRQ handler."""
    bound = []
    table = kernel.irq_handlers
    if table is None:
        return bound
    for line in range(len(table)):
        handler = table[line]
        if handler is not None and handler.ntfn is not None:
            ntfn = handler.ntfn
            waiters = [tcb.tid for tcb in ntfn.queue.members()]
            bound.append((line, handler, ntfn, handler.badge, ntfn.word, waiters))
    return bound


def _check_irq_mask(kernel, arch):
    """irq-mask: a line is enabled exactly when its handler is bound and acknowledged (a line
    that fired and is not yet taken is masked, and the kernel decides at its next poll)."""
    for line in range(arch.irq_count()):
        if arch.irq_fired & (1 << line):
            continue
        handler = _handler(kernel, line)
        expected = handler is not None and handler.ntfn is not None and not handler.pending
        if bool(arch.irq_on & (1 << line)) != expected:
            raise Violation(
                "irq-mask", "line %d is %s" % (line, "enabled" if not expected else "masked")
            )


def _check_view(tcb):
    """view-is-held: the MPU view of a thread maps exactly the windows its caps with the read
    right name, each with the rights of its caps (per 32-byte granule; holding is mapping)."""
    held = {}
    for cap in tcb.cspace.slots:
        if cap is not None and cap.obj_type == TYPE_WINDOW and cap.rights & RIGHT_READ:
            window = cap.obj
            rights = cap.rights & (RIGHT_READ | RIGHT_WRITE)
            for granule in range(window.base, window.base + window.size, 32):
                held[granule] = held.get(granule, 0) | rights
    mapped = {}
    for base, limit, rights, _ in tcb.context.regions or ():
        for granule in range(base, limit, 32):
            if granule in mapped:
                raise Violation("view-is-held", "%s maps %#x twice" % (tcb.name, granule))
            mapped[granule] = rights & (RIGHT_READ | RIGHT_WRITE)
    if held != mapped:
        raise Violation(
            "view-is-held",
            "%s maps %s, holds %s" % (tcb.name, sorted(mapped.items()), sorted(held.items())),
        )


def _waits_on(tcb, request, ntfn):
    """Whether `request` (a task's last syscall) is a wait on a cap to `ntfn`."""
    if request is None or request[0] != SYS_WAIT or len(request) < 2:
        return False
    slots = tcb.cspace.slots
    slot = request[1]
    return 0 <= slot < len(slots) and slots[slot] is not None and slots[slot].obj is ntfn
