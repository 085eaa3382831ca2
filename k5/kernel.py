"""The K5 kernel: trap loop, syscall decode/perform, IPC and MCS scheduling."""

# The loop is `trap = arch.run(current, limit)` -> account time -> decode and perform the trap
# -> release threads whose refills arrived -> enforce budget -> choose the next thread.
# Decode (the _sys_* methods) validates every argument a task passed and returns an error code
# on any problem; perform (the _do_* methods and the helpers they call) cannot fail. A Python
# exception escaping the kernel is a kernel bug: the loop prints an epitaph and halts.

from k5 import cdt
from k5._compat import const
from k5.abi import (
    ARG_MAX_ITEMS,
    BADGE_GEN_FLAG,
    BADGE_GEN_MASK,
    BADGE_GEN_SHIFT,
    CSPACE_MAX,
    ERR_EMPTY_SLOT,
    ERR_ILLEGAL_OPERATION,
    ERR_INVALID_ARGUMENT,
    ERR_INVALID_SYSCALL,
    ERR_NO_REPLY,
    ERR_NOT_ENOUGH_MEMORY,
    ERR_RANGE,
    ERR_REVOKED,
    ERR_RIGHTS,
    ERR_SLOT_OCCUPIED,
    ERR_STALE,
    ERR_WOULD_BLOCK,
    ERR_WRONG_TYPE,
    FAULT_EXCEPTION,
    FAULT_TIMEOUT,
    MSG_MAX_BYTES,
    MSG_MAX_WORDS,
    NO_SLOT,
    OK,
    PRIORITY_MAX,
    REFILLS_MAX,
    REFILLS_MIN,
    RIGHT_GRANT,
    RIGHT_GRANT_REPLY,
    RIGHT_READ,
    RIGHT_WRITE,
    RIGHTS_ALL,
    SOURCE_ENDPOINT,
    SOURCE_NOTIFICATION,
    STATE_BLOCKED_NOTIFICATION,
    STATE_BLOCKED_RECV,
    STATE_BLOCKED_REPLY,
    STATE_BLOCKED_SEND,
    STATE_BLOCKED_SLEEP,
    STATE_EXITED,
    STATE_FAULTED,
    STATE_INACTIVE,
    STATE_RUNNING,
    SYS_CALL,
    SYS_CNODE_COPY,
    SYS_CNODE_DELETE,
    SYS_CNODE_IDENTIFY,
    SYS_CNODE_MINT,
    SYS_CNODE_MOVE,
    SYS_CNODE_MUTATE,
    SYS_CNODE_REVOKE,
    SYS_BUILD,
    SYS_COUNT,
    SYS_DEBUG_PUTS,
    SYS_EXIT,
    SYS_NBRECV,
    SYS_NBSEND,
    SYS_POLL,
    SYS_RECV,
    SYS_REPLY,
    SYS_REPLY_RECV,
    SYS_SC_BIND,
    SYS_SC_CONFIGURE,
    SYS_SC_CONSUMED,
    SYS_SC_UNBIND,
    SYS_SEND,
    SYS_SIGNAL,
    SYS_SLEEP,
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
    TRAP_EXIT,
    TRAP_FAULT,
    TRAP_SYSCALL,
    TYPE_ENDPOINT,
    TYPE_NOTIFICATION,
    TYPE_SCHED_CONTEXT,
    TYPE_SCHED_CONTROL,
    TYPE_TCB,
    TYPE_UNTYPED,
    WORD_LIMIT,
    WORD_MIN,
    IRQ_LINES,
)
from k5.ipcbuf import IpcBuffer
from k5.cdt import CNode
from k5.objects import (
    QUEUE_ENDPOINT,
    QUEUE_NOTIFICATION,
    QUEUE_READY,
    QUEUE_RELEASE,
    Endpoint,
    Notification,
    SchedContext,
    TCB,
)
from k5.sched import Scheduler, priority_higher
from k5.ticks import ticks_add, ticks_diff

# Results of Kernel.run().
RUN_TIME_UP = const(0)
RUN_IDLE = const(1)
RUN_HALTED = const(2)
RUN_STOPPED = const(3)  # the root task exited (the device's soft reset)

_TEXT_MAX = const(128)


class KernelPanic(Exception):
    """A Python exception escaped the kernel: a kernel bug. The kernel has halted."""


def _is_word(value):
    return type(value) is int and WORD_MIN <= value < WORD_LIMIT


def _is_small(value):
    return type(value) is int and 0 <= value < WORD_LIMIT


def _is_rights(value):
    return type(value) is int and 0 <= value <= RIGHTS_ALL


class Kernel:
    """One K5 kernel instance (never a module global: it is created and passed around).

    **Invariants:**
    - current is None or a RUNNING thread with an SC, linked into no queue;
    - cur_sc is the SC whose uncharged time is being accumulated (None when idle);
    - every blocked thread is in exactly one queue, every queued thread is blocked or ready;
    - no ready thread has a higher priority than current (checked after each choose).
    """

    __slots__ = (
        "arch",
        "sched",
        "current",
        "cur_sc",
        "last_time",
        "tcbs",
        "handlers",
        "trace",
        "console",
        "halted",
        "epitaph",
        "next_id",
        "min_budget",
        "usage_log",
        "usage_max",
        "traps",
        "debug",
        "objects",
        "delivery_log",
        "root",
        "build_service",
        "irq_table",
    )

    def __init__(self, arch, trace=None, console=None, min_budget=1, debug=False):
        self.arch = arch
        self.sched = Scheduler()
        self.current = None
        self.cur_sc = None
        self.last_time = arch.now()
        self.tcbs = []
        self.objects = []
        self.trace = trace
        self.console = console
        self.halted = False
        self.epitaph = None
        self.next_id = 1
        self.min_budget = min_budget
        self.usage_log = None
        # The usage log stops growing at this many entries (the device's heap is small).
        self.usage_max = 1 << 30
        # Tests: when a list, every message transfer appends (receiver tid, label, first word).
        self.delivery_log = None
        self.traps = 0
        self.debug = debug
        # The root task (device: the REPL): its exit stops run(), a fault restarts it, and it
        # alone may make SYS_BUILD, served by build_service(op, args) (k5/rootsrv.py).
        self.root = None
        self.build_service = None
        # Interrupt line -> (notification, badge) that the line signals (see _interrupts).
        self.irq_table = [None] * IRQ_LINES
        handlers = [None] * SYS_COUNT
        handlers[SYS_SEND] = self._sys_send
        handlers[SYS_NBSEND] = self._sys_send
        handlers[SYS_CALL] = self._sys_send
        handlers[SYS_RECV] = self._sys_recv
        handlers[SYS_NBRECV] = self._sys_recv
        handlers[SYS_REPLY] = self._sys_reply
        handlers[SYS_REPLY_RECV] = self._sys_reply_recv
        handlers[SYS_SIGNAL] = self._sys_signal
        handlers[SYS_SLEEP] = self._sys_sleep
        handlers[SYS_WAIT] = self._sys_wait
        handlers[SYS_POLL] = self._sys_wait
        handlers[SYS_YIELD] = self._sys_yield
        handlers[SYS_EXIT] = self._sys_exit
        handlers[SYS_DEBUG_PUTS] = self._sys_debug_puts
        handlers[SYS_CNODE_COPY] = self._sys_cnode_derive
        handlers[SYS_CNODE_MINT] = self._sys_cnode_derive
        handlers[SYS_CNODE_MOVE] = self._sys_cnode_move
        handlers[SYS_CNODE_MUTATE] = self._sys_cnode_move
        handlers[SYS_CNODE_DELETE] = self._sys_cnode_delete
        handlers[SYS_CNODE_REVOKE] = self._sys_cnode_delete
        handlers[SYS_CNODE_IDENTIFY] = self._sys_cnode_identify
        handlers[SYS_TCB_RESUME] = self._sys_tcb
        handlers[SYS_TCB_SUSPEND] = self._sys_tcb
        handlers[SYS_TCB_SET_PRIORITY] = self._sys_tcb
        handlers[SYS_TCB_SET_MCP] = self._sys_tcb
        handlers[SYS_TCB_BIND_NOTIFICATION] = self._sys_tcb
        handlers[SYS_TCB_UNBIND_NOTIFICATION] = self._sys_tcb
        handlers[SYS_TCB_RESTART] = self._sys_tcb
        handlers[SYS_TCB_INFO] = self._sys_tcb
        handlers[SYS_SC_CONFIGURE] = self._sys_sc_configure
        handlers[SYS_SC_BIND] = self._sys_sc
        handlers[SYS_SC_UNBIND] = self._sys_sc
        handlers[SYS_SC_CONSUMED] = self._sys_sc
        handlers[SYS_UNTYPED_RETYPE] = self._sys_untyped_retype
        handlers[SYS_TCB_CONFIGURE] = self._sys_tcb_configure
        handlers[SYS_TCB_COPY_CAP] = self._sys_tcb_copy_cap
        handlers[SYS_TCB_SET_HANDLER] = self._sys_tcb_set_handler
        handlers[SYS_BUILD] = self._sys_build
        self.handlers = handlers

    # --- tracing ---------------------------------------------------------------------------------

    def _emit(self, text):
        trace = self.trace
        if trace is not None:
            trace("t=" + str(self.arch.now()) + " " + text)

    # --- object creation (used by the builder; kernel-side, not reachable from tasks) ----------

    def _new_id(self):
        oid = self.next_id
        self.next_id = oid + 1
        return oid

    def create_tcb(self, name, entry, arg, cspace_size, priority, mcp, regions=(), stack=None):
        ipc = IpcBuffer()
        tcb = TCB(self._new_id(), name, cspace_size, ipc)
        tcb.priority = priority
        tcb.mcp = mcp
        tcb.entry = entry
        tcb.arg = arg
        tcb.context = self.arch.context_new(entry, ipc, arg, stack, name)
        # Device windows and other regions of the task's memory view (MPU on the device).
        self.arch.memory_view(tcb.context, regions)
        self.tcbs.append(tcb)
        return tcb

    def create_sched_context(self, name, budget, period, refills):
        sc = SchedContext(self.min_budget, name, self._new_id())
        sc.configure(budget, period, refills, self.arch.now())
        self.objects.append(sc)
        return sc

    def bind_sc(self, sc, tcb):
        """Bind an unbound SC to a TCB without one (builder and sc_bind perform)."""
        sc.tcb = tcb
        sc.home = tcb
        tcb.sc = sc
        tcb.home_sc = sc
        if tcb.state == STATE_RUNNING and tcb is not self.current and tcb.queue is None:
            self._schedule_runnable(tcb)

    def start(self, tcb):
        """Make an inactive thread runnable (TCB resume)."""
        if tcb.state == STATE_INACTIVE:
            tcb.state = STATE_RUNNING
            self._schedule_runnable(tcb)

    # --- the kernel loop -------------------------------------------------------------------------

    def run(self, ticks=-1, max_traps=-1):
        """Run tasks for `ticks` simulated ticks (-1: until idle). Returns a RUN_* code."""
        if self.halted:
            return RUN_HALTED
        arch = self.arch
        end = -1
        if ticks >= 0:
            end = ticks_add(arch.now(), ticks)
        sched = self.sched
        trap = 0
        try:
            # Threads may have been woken between runs (builder, interrupts).
            pending = arch.interrupts()
            if pending:
                self._interrupts(pending)
            self._release(arch.now())
            self._choose()
            while True:
                now = arch.now()
                if end >= 0 and ticks_diff(now, end) >= 0:
                    return RUN_TIME_UP
                if max_traps == 0:
                    return RUN_TIME_UP
                current = self.current
                if current is None:
                    release = sched.next_wakeup()
                    if release < 0:
                        return RUN_IDLE
                    if end >= 0 and ticks_diff(release, end) > 0:
                        arch.idle(end)
                        self.last_time = arch.now()
                        return RUN_TIME_UP
                    arch.idle(release)
                    # Idle ends early when an interrupt line is raised.
                    now = arch.now()
                    self.last_time = now
                    pending = arch.interrupts()
                    if pending:
                        self._interrupts(pending)
                    self._release(now)
                    self._choose()
                    continue
                sc = current.sc
                limit = sc.r_amount[sc.head] - sc.consumed
                release = sched.next_wakeup()
                if release >= 0 and ticks_diff(release, now) < limit:
                    limit = ticks_diff(release, now)
                if end >= 0 and ticks_diff(end, now) < limit:
                    limit = ticks_diff(end, now)
                trap = arch.run(current.context, limit)
                self.traps += 1
                if max_traps > 0:
                    max_traps -= 1
                now = arch.now()
                elapsed = ticks_diff(now, self.last_time)
                self.last_time = now
                sc.consumed += elapsed
                sc.total += elapsed
                log = self.usage_log
                if log is not None and elapsed > 0 and len(log) < self.usage_max:
                    log.append((sc, ticks_add(now, -elapsed), now, current))
                if trap == TRAP_SYSCALL:
                    self._syscall(current)
                elif trap == TRAP_FAULT:
                    self._fault(current, FAULT_EXCEPTION, arch.fault_text(current.context))
                elif trap == TRAP_EXIT:
                    self._do_exit(current, 0)
                    if current is self.root:
                        return RUN_STOPPED
                else:
                    # A raised interrupt line makes the running task trap at its next safe
                    # point (the device's arch.run returns TRAP_PREEMPT then): look here only,
                    # so that a syscall pays nothing for interrupts.
                    pending = arch.interrupts()
                    if pending:
                        self._interrupts(pending)
                if sc.r_amount[sc.head] - sc.consumed < self.min_budget:
                    self._check_budget(now)
                if sched.release.head is not None or sched.sleep.head is not None:
                    self._release(now)
                self._choose()
                if self.debug:
                    self.check_invariants()
        except KernelPanic:
            raise
        except Exception as exc:
            self._panic(exc, trap)
        return RUN_HALTED

    def _panic(self, exc, trap):
        name = "-"
        if self.current is not None:
            name = self.current.name
        self.halted = True
        self.epitaph = (
            "K5 PANIC at t="
            + str(self.arch.now())
            + " handling trap "
            + str(trap)
            + " of task "
            + name
            + ": "
            + type(exc).__name__
            + ": "
            + str(exc)
        )
        console = self.console
        if console is not None:
            console(self.epitaph)
        else:
            print(self.epitaph)
        raise KernelPanic(self.epitaph)

    def _syscall(self, tcb):
        arch = self.arch
        request = arch.request(tcb.context)
        if type(request) is not tuple or len(request) == 0:
            arch.set_result(tcb.context, ERR_INVALID_SYSCALL)
            return
        sysno = request[0]
        if type(sysno) is not int or sysno <= 0 or sysno >= SYS_COUNT:
            arch.set_result(tcb.context, ERR_INVALID_SYSCALL)
            return
        handler = self.handlers[sysno]
        if handler is None:
            arch.set_result(tcb.context, ERR_INVALID_SYSCALL)
            return
        err = handler(tcb, sysno, request)
        if err is not None:
            arch.set_result(tcb.context, err)

    # --- scheduling ------------------------------------------------------------------------------

    def _schedule_runnable(self, tcb):
        """Queue a RUNNING thread: ready if its SC has budget now, else until its refill."""
        sc = tcb.sc
        if sc is None or tcb is self.current:
            return
        now = self.arch.now()
        if sc is not self.cur_sc and not sc.is_round_robin():
            sc.unblock_check(now)
        if (
            ticks_diff(sc.r_time[sc.head], now) <= 0
            and sc.r_amount[sc.head] - sc.consumed >= self.min_budget
        ):
            self.sched.append(tcb)
        elif sc is self.cur_sc:
            # Its time is still being charged: _check_budget postpones it after this trap.
            self.sched.append(tcb)
        else:
            self.sched.release_insert(tcb)

    def _dequeue(self, tcb):
        """Unlink a thread from whatever queue holds it (ready, release, endpoint, ...)."""
        queue = tcb.queue
        if queue is None:
            return
        if tcb.queue_kind == QUEUE_READY:
            self.sched.remove(tcb)
        else:
            queue.remove(tcb)

    def _commit(self, sc):
        """Charge the time an SC consumed since it was switched to."""
        usage = sc.consumed
        if usage <= 0:
            return
        sc.consumed = 0
        if sc.is_round_robin():
            sc.charge_round_robin(usage)
        else:
            sc.budget_check(usage)

    def _check_budget(self, now):
        sc = self.cur_sc
        if sc is None:
            return
        if sc.r_amount[sc.head] - sc.consumed >= self.min_budget:
            return
        # Budget exhausted: charge it and take the holder off the CPU until its next refill.
        sc.exhaustions += 1
        holder = sc.tcb
        if sc.is_round_robin():
            sc.consumed = 0
            sc.reset_round_robin(now)
            if holder is not None and holder.state == STATE_RUNNING:
                if holder is self.current:
                    holder.yielded = True
                elif holder.queue_kind == QUEUE_READY:
                    self.sched.remove(holder)
                    self.sched.append(holder)
            return
        self._commit(sc)
        if holder is None or holder.state != STATE_RUNNING:
            return
        if ticks_diff(sc.r_time[sc.head], now) <= 0 and sc.r_amount[sc.head] >= self.min_budget:
            sc.unblock_check(now)
            return
        if holder.queue_kind == QUEUE_READY:
            self.sched.remove(holder)
        if holder is self.current:
            self.current = None
        timeout = holder.handlers.slots[1]
        if timeout is not None:
            self._emit("timeout " + holder.name)
            self._fault(holder, FAULT_TIMEOUT, "budget exhausted")
            return
        if self.trace is not None:
            self._emit("exhausted " + holder.name + " until " + str(sc.r_time[sc.head]))
        if holder.queue is None:
            self.sched.release_insert(holder)

    def _release(self, now):
        sched = self.sched
        release = sched.release
        tcb = release.head
        while tcb is not None and ticks_diff(tcb.sc.r_time[tcb.sc.head], now) <= 0:
            release.remove(tcb)
            sched.append(tcb)
            tcb = release.head
        sleepers = sched.sleep
        tcb = sleepers.head
        while tcb is not None and ticks_diff(tcb.wake_time, now) <= 0:
            sleepers.remove(tcb)
            tcb.state = STATE_RUNNING
            self.arch.set_result(tcb.context, OK)
            self._schedule_runnable(tcb)
            tcb = sleepers.head

    def _choose(self):
        sched = self.sched
        current = self.current
        if current is not None:
            if current.state == STATE_RUNNING and current.sc is not None and current.queue is None:
                if current.yielded:
                    current.yielded = False
                    sched.append(current)
                else:
                    top = sched.highest()
                    if top < 0 or not priority_higher(top, current.priority):
                        if self.cur_sc is not current.sc:
                            self._switch_sc(current.sc)
                        return
                    sched.prepend(current)
            current.yielded = False
        chosen = sched.pop_highest()
        self.current = chosen
        if chosen is None:
            self._switch_sc(None)
            return
        if self.cur_sc is not chosen.sc:
            self._switch_sc(chosen.sc)
        if self.trace is not None and chosen is not current:
            self._emit("switch " + chosen.name)

    def _switch_sc(self, sc):
        old = self.cur_sc
        if old is sc:
            return
        if old is not None:
            self._commit(old)
        self.cur_sc = sc
        if sc is not None and not sc.is_round_robin():
            # Activation: budget is consumed from now, so it comes back one period from now.
            sc.unblock_check(self.arch.now())

    # --- cap lookup helpers (decode) -------------------------------------------------------------

    def _lookup(self, tcb, slot, obj_type, rights):
        """The Cap in tcb's CSpace slot with obj_type and `rights`, or an int error code.

        (Returning one object, not an (err, cap) tuple, keeps the trap path allocation-free.)
        """
        slots = tcb.cspace.slots
        if type(slot) is not int or slot < 0 or slot >= len(slots):
            return ERR_RANGE
        cap = slots[slot]
        if cap is None:
            return ERR_EMPTY_SLOT
        if obj_type != 0 and cap.obj_type != obj_type:
            return ERR_WRONG_TYPE
        if (cap.rights & rights) != rights:
            return ERR_RIGHTS
        return cap

    def _decode_message(self, tcb, request, label_index):
        """Validate the label, words, data and cap of an IPC request into tcb's msg_* buffer."""
        label = request[label_index]
        if not _is_small(label):
            return ERR_INVALID_ARGUMENT
        words = request[label_index + 1]
        kind = type(words)
        if kind is not tuple and kind is not list:
            return ERR_INVALID_ARGUMENT
        count = len(words)
        if count > MSG_MAX_WORDS:
            return ERR_INVALID_ARGUMENT
        msg_words = tcb.msg_words
        for i in range(count):
            word = words[i]
            if not _is_word(word):
                return ERR_INVALID_ARGUMENT
            msg_words[i] = word
        data = request[label_index + 2]
        length = 0
        if data is not None:
            kind = type(data)
            if kind is str:
                if len(data) > MSG_MAX_BYTES:
                    return ERR_INVALID_ARGUMENT
                try:
                    data = data.encode()
                except Exception:
                    return ERR_INVALID_ARGUMENT
            elif kind is bytearray:
                data = bytes(data)
            elif kind is not bytes:
                return ERR_INVALID_ARGUMENT
            length = len(data)
            if length > MSG_MAX_BYTES:
                return ERR_INVALID_ARGUMENT
        cap_slot = request[label_index + 3]
        cap = None
        if type(cap_slot) is not int:
            return ERR_INVALID_ARGUMENT
        if cap_slot != NO_SLOT:
            cap = self._lookup(tcb, cap_slot, 0, 0)
            if type(cap) is int:
                return cap
        tcb.msg_label = label
        tcb.msg_count = count
        tcb.msg_data = data
        tcb.msg_length = length
        tcb.msg_cap = cap
        return OK

    def _decode_recv_slot(self, tcb, slot):
        if type(slot) is not int:
            return ERR_INVALID_ARGUMENT
        if slot == NO_SLOT:
            return OK
        if slot < 0 or slot >= len(tcb.cspace.slots):
            return ERR_RANGE
        return OK

    # --- IPC: decode -----------------------------------------------------------------------------

    def _sys_send(self, tcb, sysno, request):
        is_call = sysno == SYS_CALL
        if len(request) != (7 if is_call else 6):
            return ERR_INVALID_ARGUMENT
        cap = self._lookup(tcb, request[1], TYPE_ENDPOINT, RIGHT_WRITE)
        if type(cap) is int:
            return cap
        if is_call and (cap.rights & (RIGHT_GRANT | RIGHT_GRANT_REPLY)) == 0:
            return ERR_RIGHTS
        err = self._decode_message(tcb, request, 2)
        if err != OK:
            return err
        if is_call:
            err = self._decode_recv_slot(tcb, request[6])
            if err != OK:
                return err
            tcb.recv_slot = request[6]
        badge = cap.badge
        endpoint = cap.obj
        if badge & BADGE_GEN_FLAG and endpoint.owner is not None:
            if ((badge >> BADGE_GEN_SHIFT) & BADGE_GEN_MASK) != (
                endpoint.owner.generation & BADGE_GEN_MASK
            ):
                return ERR_STALE
        tcb.msg_badge = badge
        tcb.msg_can_grant = (cap.rights & RIGHT_GRANT) != 0
        tcb.msg_is_call = is_call
        if sysno == SYS_NBSEND:
            receiver = endpoint.queue.head
            if receiver is None or receiver.state != STATE_BLOCKED_RECV:
                return ERR_WOULD_BLOCK
        self._do_send(tcb, endpoint, cap, True)
        return None

    def _sys_recv(self, tcb, sysno, request):
        if len(request) != 3:
            return ERR_INVALID_ARGUMENT
        cap = self._lookup(tcb, request[1], TYPE_ENDPOINT, RIGHT_READ)
        if type(cap) is int:
            return cap
        err = self._decode_recv_slot(tcb, request[2])
        if err != OK:
            return err
        tcb.recv_slot = request[2]
        ntfn = tcb.bound_ntfn
        if sysno == SYS_NBRECV and not (ntfn is not None and ntfn.active):
            sender = cap.obj.queue.head
            if sender is None or sender.state != STATE_BLOCKED_SEND:
                return ERR_WOULD_BLOCK
        self._do_recv(tcb, cap.obj, cap)
        return None

    def _decode_reply(self, tcb):
        reply = tcb.pending_reply
        if reply is None:
            return ERR_NO_REPLY
        if reply.seq != tcb.pending_seq or reply.caller is None:
            tcb.pending_reply = None
            return ERR_STALE
        return OK

    def _sys_reply(self, tcb, sysno, request):
        if len(request) != 6:
            return ERR_INVALID_ARGUMENT
        err = self._decode_message(tcb, request, 2)
        if err != OK:
            return err
        err = self._decode_reply(tcb)
        if err != OK:
            return err
        self._do_reply(tcb)
        return OK

    def _sys_reply_recv(self, tcb, sysno, request):
        if len(request) != 7:
            return ERR_INVALID_ARGUMENT
        cap = self._lookup(tcb, request[1], TYPE_ENDPOINT, RIGHT_READ)
        if type(cap) is int:
            return cap
        err = self._decode_recv_slot(tcb, request[6])
        if err != OK:
            return err
        err = self._decode_message(tcb, request, 2)
        if err != OK:
            return err
        # seL4 semantics: a missing reply is not an error for ReplyRecv; the receive goes on.
        if tcb.pending_reply is not None:
            if self._decode_reply(tcb) == OK:
                self._do_reply(tcb)
        tcb.recv_slot = request[6]
        self._do_recv(tcb, cap.obj, cap)
        return None

    # --- IPC: perform ----------------------------------------------------------------------------

    def _words(self, tcb):
        """The receive-word storage of tcb's IPC buffer, repaired if the task resized it."""
        words = tcb.ipc_words
        if len(words) != MSG_MAX_WORDS:
            words = [0] * MSG_MAX_WORDS
            tcb.ipc_words = words
            tcb.ipc.words = words
        return words

    def _transfer(self, sender, receiver, badge, can_grant):
        """Copy sender's msg_* buffer into the receiver's IPC buffer (cannot fail)."""
        ipc = receiver.ipc
        ipc.label = sender.msg_label
        ipc.badge = badge
        count = sender.msg_count
        ipc.count = count
        src = sender.msg_words
        dst = receiver.ipc_words
        if len(dst) != MSG_MAX_WORDS:
            dst = self._words(receiver)
        for i in range(count):
            dst[i] = src[i]
        length = sender.msg_length
        ipc.length = length
        if length > 0:
            receiver.ipc_data[0:length] = sender.msg_data
        ipc.source = SOURCE_ENDPOINT
        ipc.cap = NO_SLOT
        log = self.delivery_log
        if log is not None:
            log.append((receiver.tid, sender.msg_label, src[0] if count else None))
        cap = sender.msg_cap
        sender.msg_cap = None
        sender.msg_data = None
        if cap is None or not can_grant or cap.cnode is None:
            return
        slot = receiver.recv_slot
        if slot < 0 or slot >= len(receiver.cspace.slots):
            return
        if receiver.cspace.slots[slot] is not None:
            return
        cdt.derive(cap, cap.rights, cap.badge, receiver.cspace, slot)
        ipc.cap = slot

    def _do_send(self, tcb, endpoint, cap, blocking):
        receiver = endpoint.queue.head
        if receiver is not None and receiver.state == STATE_BLOCKED_RECV:
            endpoint.queue.remove(receiver)
            receiver.blocked_on = None
            receiver.blocked_cap = None
            self._transfer(tcb, receiver, tcb.msg_badge, tcb.msg_can_grant)
            self.arch.set_result(receiver.context, OK)
            if tcb.msg_is_call:
                self._arm_reply(tcb, receiver, True)
            else:
                self.arch.set_result(tcb.context, OK)
                self._sender_done(tcb)
            receiver.state = STATE_RUNNING
            self._schedule_runnable(receiver)
            return
        if not blocking:
            return
        tcb.state = STATE_BLOCKED_SEND
        tcb.blocked_on = endpoint
        tcb.blocked_cap = cap
        if tcb.msg_data is not None and type(tcb.msg_data) is not bytes:
            tcb.msg_data = bytes(tcb.msg_data)
        endpoint.queue.append(tcb)
        tcb.queue_kind = QUEUE_ENDPOINT
        if tcb is self.current:
            self.current = None

    def _sender_done(self, tcb):
        """A sender's message was delivered: it runs on, or stays stopped after a fault."""
        if tcb.fault_kind == FAULT_EXCEPTION:
            tcb.fault_kind = 0
            tcb.state = STATE_FAULTED
            return
        if tcb.state != STATE_RUNNING:
            tcb.state = STATE_RUNNING
            self._schedule_runnable(tcb)

    def _arm_reply(self, caller, server, donate):
        reply = caller.reply
        reply.seq += 1
        reply.caller = caller
        reply.server = server
        reply.recv_slot = caller.recv_slot
        reply.donated = None
        previous = server.pending_reply
        if previous is not None and previous.caller is not None:
            if previous.seq == server.pending_seq:
                # The server took a new call without replying: the old caller is abandoned.
                self._disarm_reply(previous, ERR_NO_REPLY)
        server.pending_reply = reply
        server.pending_seq = reply.seq
        caller.state = STATE_BLOCKED_REPLY
        caller.blocked_on = reply
        caller.blocked_cap = None
        if caller is self.current:
            self.current = None
        if caller.queue is not None:
            self._dequeue(caller)
        sc = caller.sc
        if donate and server.sc is None and sc is not None and caller.fault_kind == 0:
            # Passive server: it runs on the caller's scheduling context until it replies.
            caller.sc = None
            sc.tcb = server
            server.sc = sc
            reply.donated = sc

    def _do_recv(self, tcb, endpoint, cap):
        ntfn = tcb.bound_ntfn
        if ntfn is not None and ntfn.active:
            self._deliver_signal(tcb, ntfn.word)
            ntfn.word = 0
            ntfn.active = False
            self.arch.set_result(tcb.context, OK)
            return
        sender = endpoint.queue.head
        if sender is not None and sender.state == STATE_BLOCKED_SEND:
            endpoint.queue.remove(sender)
            sender.blocked_on = None
            sender.blocked_cap = None
            self._transfer(sender, tcb, sender.msg_badge, sender.msg_can_grant)
            self.arch.set_result(tcb.context, OK)
            if sender.msg_is_call:
                sender.state = STATE_RUNNING
                self._arm_reply(sender, tcb, sender.fault_kind == 0)
                if tcb.sc is not None and tcb.queue is None and tcb is not self.current:
                    self._schedule_runnable(tcb)
            else:
                self.arch.set_result(sender.context, OK)
                self._sender_done(sender)
            return
        tcb.state = STATE_BLOCKED_RECV
        tcb.blocked_on = endpoint
        tcb.blocked_cap = cap
        endpoint.queue.append(tcb)
        tcb.queue_kind = QUEUE_ENDPOINT
        if tcb is self.current:
            self.current = None
        if tcb.passive_on_recv:
            tcb.passive_on_recv = False
            if tcb.sc is not None and tcb.sc is tcb.home_sc:
                self.unbind_sc(tcb.sc)
                if self.trace is not None:
                    self._emit("passive " + tcb.name)

    def _do_reply(self, tcb):
        reply = tcb.pending_reply
        tcb.pending_reply = None
        caller = reply.caller
        caller.recv_slot = reply.recv_slot
        self._transfer(tcb, caller, 0, True)
        self._disarm_reply(reply, OK)

    def _disarm_reply(self, reply, result):
        """Wake the caller of an armed reply with `result`, giving back a donated SC."""
        caller = reply.caller
        server = reply.server
        reply.caller = None
        reply.server = None
        reply.seq += 1
        sc = reply.donated
        reply.donated = None
        if sc is not None:
            holder = sc.tcb
            if holder is not None and holder is not caller:
                holder.sc = None
                if holder.queue_kind == QUEUE_READY or holder.queue_kind == QUEUE_RELEASE:
                    self._dequeue(holder)
                if holder is self.current:
                    self.current = None
            sc.tcb = caller
            caller.sc = sc
        if server is not None and server.pending_reply is reply:
            server.pending_reply = None
        caller.blocked_on = None
        if caller.fault_kind == FAULT_TIMEOUT:
            caller.fault_kind = 0
        self.arch.set_result(caller.context, result)
        caller.state = STATE_RUNNING
        self._schedule_runnable(caller)

    # --- notifications ---------------------------------------------------------------------------

    def _deliver_signal(self, tcb, badge):
        ipc = tcb.ipc
        ipc.badge = badge
        ipc.label = 0
        ipc.count = 0
        ipc.length = 0
        ipc.cap = NO_SLOT
        ipc.source = SOURCE_NOTIFICATION

    def _sys_signal(self, tcb, sysno, request):
        if len(request) != 2:
            return ERR_INVALID_ARGUMENT
        cap = self._lookup(tcb, request[1], TYPE_NOTIFICATION, RIGHT_WRITE)
        if type(cap) is int:
            return cap
        self._do_signal(cap.obj, cap.badge)
        return OK

    def _do_signal(self, ntfn, badge):
        waiter = ntfn.queue.head
        if waiter is not None:
            ntfn.queue.remove(waiter)
            waiter.blocked_on = None
            waiter.blocked_cap = None
            self._deliver_signal(waiter, badge)
            self.arch.set_result(waiter.context, OK)
            waiter.state = STATE_RUNNING
            self._schedule_runnable(waiter)
            return
        bound = ntfn.bound_tcb
        if bound is not None and bound.state == STATE_BLOCKED_RECV:
            self._dequeue(bound)
            bound.blocked_on = None
            bound.blocked_cap = None
            self._deliver_signal(bound, badge | ntfn.word)
            ntfn.word = 0
            ntfn.active = False
            self.arch.set_result(bound.context, OK)
            bound.state = STATE_RUNNING
            self._schedule_runnable(bound)
            return
        if bound is not None and bound.state == STATE_BLOCKED_SLEEP:
            # A signal ends the bound thread's sleep early (the signal stays pending).
            self._dequeue(bound)
            self.arch.set_result(bound.context, OK)
            bound.state = STATE_RUNNING
            self._schedule_runnable(bound)
        ntfn.word |= badge
        ntfn.active = True

    # --- interrupts ------------------------------------------------------------------------------

    def bind_irq(self, line, ntfn, badge):
        """Interrupt `line` signals `ntfn` with `badge` (builder; IRQ caps are a later step)."""
        if type(line) is not int or line < 0 or line >= IRQ_LINES:
            raise ValueError("interrupt line out of range")
        self.irq_table[line] = (ntfn, badge)

    def _interrupts(self, pending):
        """Signal the notification of every raised interrupt line (perform: cannot fail)."""
        table = self.irq_table
        line = 0
        while pending:
            if pending & 1:
                binding = table[line]
                if binding is not None:
                    self._do_signal(binding[0], binding[1])
            pending >>= 1
            line += 1

    def _sys_wait(self, tcb, sysno, request):
        if len(request) != 2:
            return ERR_INVALID_ARGUMENT
        cap = self._lookup(tcb, request[1], TYPE_NOTIFICATION, RIGHT_READ)
        if type(cap) is int:
            return cap
        ntfn = cap.obj
        if ntfn.bound_tcb is not None and ntfn.bound_tcb is not tcb:
            return ERR_ILLEGAL_OPERATION
        if ntfn.active:
            self._deliver_signal(tcb, ntfn.word)
            ntfn.word = 0
            ntfn.active = False
            return OK
        if sysno == SYS_POLL:
            self._deliver_signal(tcb, 0)
            return ERR_WOULD_BLOCK
        tcb.state = STATE_BLOCKED_NOTIFICATION
        tcb.blocked_on = ntfn
        tcb.blocked_cap = cap
        ntfn.queue.append(tcb)
        tcb.queue_kind = QUEUE_NOTIFICATION
        if tcb is self.current:
            self.current = None
        return None

    # --- thread control of the caller ------------------------------------------------------------

    def _sys_yield(self, tcb, sysno, request):
        sc = tcb.sc
        if sc is not None and not sc.is_round_robin():
            # MCS: yielding gives up the rest of the head refill.
            sc.consumed = sc.r_amount[sc.head]
        else:
            tcb.yielded = True
        return OK

    def _sys_sleep(self, tcb, sysno, request):
        if len(request) != 2 or not _is_small(request[1]):
            return ERR_INVALID_ARGUMENT
        ticks = request[1]
        if ticks == 0:
            return OK
        tcb.state = STATE_BLOCKED_SLEEP
        self.sched.sleep_insert(tcb, ticks_add(self.arch.now(), ticks))
        if tcb is self.current:
            self.current = None
        return None

    def _sys_build(self, tcb, sysno, request):
        # The root task's builder front end: only the root may invoke it (it holds the initial
        # authority); the service answers (OK, value) or (error, message) and never raises.
        if tcb is not self.root or self.build_service is None:
            return ERR_ILLEGAL_OPERATION
        if len(request) != 3 or type(request[2]) is not tuple:
            return ERR_INVALID_ARGUMENT
        return self.build_service(request[1], request[2])

    def _sys_exit(self, tcb, sysno, request):
        code = 0
        if len(request) == 2 and _is_word(request[1]):
            code = request[1]
        self._do_exit(tcb, code)
        return None

    def _do_exit(self, tcb, code):
        tcb.exit_code = code
        self._cancel(tcb, ERR_STALE)
        tcb.state = STATE_EXITED
        if self.trace is not None:
            self._emit("exit " + tcb.name)

    def _sys_debug_puts(self, tcb, sysno, request):
        if len(request) != 2:
            return ERR_INVALID_ARGUMENT
        text = request[1]
        if type(text) is bytes or type(text) is bytearray:
            if len(text) > _TEXT_MAX:
                return ERR_INVALID_ARGUMENT
            try:
                text = bytes(text).decode()
            except Exception:
                return ERR_INVALID_ARGUMENT
        elif type(text) is not str or len(text) > _TEXT_MAX:
            return ERR_INVALID_ARGUMENT
        else:
            try:
                text.encode()
            except Exception:
                return ERR_INVALID_ARGUMENT
        line = "[" + str(self.arch.now()) + "] " + tcb.name + ": " + text
        if self.console is not None:
            self.console(line)
        else:
            print(line)
        return OK

    # --- cancellation, faults and lifecycle ------------------------------------------------------

    def _cancel(self, tcb, result):
        """Take tcb out of any IPC it is in (perform: cannot fail)."""
        state = tcb.state
        if state == STATE_BLOCKED_SEND or state == STATE_BLOCKED_RECV:
            self._dequeue(tcb)
        elif state == STATE_BLOCKED_NOTIFICATION:
            self._dequeue(tcb)
        elif state == STATE_BLOCKED_REPLY:
            reply = tcb.reply
            if reply.caller is tcb:
                sc = reply.donated
                reply.caller = None
                reply.server = None
                reply.seq += 1
                reply.donated = None
                # The server keeps its (now stale) reference: replying gets ERR_STALE.
                if sc is not None:
                    holder = sc.tcb
                    if holder is not None and holder is not tcb:
                        holder.sc = None
                        if holder.queue_kind == QUEUE_READY:
                            self._dequeue(holder)
                        elif holder.queue_kind == QUEUE_RELEASE:
                            self._dequeue(holder)
                        if holder is self.current:
                            self.current = None
                    sc.tcb = tcb
                    tcb.sc = sc
        elif tcb.queue is not None:
            self._dequeue(tcb)
        tcb.blocked_on = None
        tcb.blocked_cap = None
        tcb.fault_kind = 0
        if tcb is self.current:
            self.current = None
        # As a server: its caller learns that the reply will never come.
        reply = tcb.pending_reply
        if reply is not None:
            tcb.pending_reply = None
            if reply.caller is not None and reply.seq == tcb.pending_seq:
                self._disarm_reply(reply, result)

    def _fault(self, tcb, kind, text):
        tcb.faults += 1
        tcb.record_fault((self.arch.now(), kind, text))
        if self.trace is not None:
            self._emit("fault " + tcb.name + " " + text)
        if kind == FAULT_EXCEPTION:
            self._cancel(tcb, ERR_STALE)
            tcb.state = STATE_FAULTED
        handler = tcb.handlers.slots[0 if kind == FAULT_EXCEPTION else 1]
        if handler is None and tcb is self.root and kind == FAULT_EXCEPTION:
            # The root task has no supervisor: the kernel reports its fault and restarts it.
            report = "K5: the root task " + tcb.name + " faulted: " + text + "; restarting it"
            if self.console is not None:
                self.console(report)
            else:
                print(report)
            self.restart(tcb)
            return
        if handler is None or handler.obj_type != TYPE_ENDPOINT:
            if kind == FAULT_TIMEOUT:
                # No handler after all: wait for the next refill.
                if tcb.queue is None:
                    self.sched.release_insert(tcb)
            return
        # The fault becomes a message from the thread to its handler endpoint.
        tcb.msg_label = kind
        words = tcb.msg_words
        words[0] = tcb.tid
        words[1] = tcb.generation
        words[2] = tcb.faults
        tcb.msg_count = 3
        try:
            data = text.encode()
        except Exception:
            data = b"?"
        if len(data) > MSG_MAX_BYTES:
            data = data[:MSG_MAX_BYTES]
        tcb.msg_data = data
        tcb.msg_length = len(data)
        tcb.msg_cap = None
        tcb.msg_badge = handler.badge
        tcb.msg_can_grant = False
        tcb.msg_is_call = kind == FAULT_TIMEOUT
        tcb.fault_kind = kind
        if tcb is self.current:
            self.current = None
        self._do_send(tcb, handler.obj, handler, True)

    def restart(self, tcb):
        """Restart a thread from its entry with a new generation (perform)."""
        self._cancel(tcb, ERR_STALE)
        tcb.generation = (tcb.generation + 1) % WORD_LIMIT
        tcb.reply.seq += 1
        self.arch.context_reset(tcb.context, tcb.entry, tcb.ipc, tcb.arg)
        tcb.state = STATE_RUNNING
        tcb.yielded = False
        if self.trace is not None:
            self._emit("restart " + tcb.name + " generation " + str(tcb.generation))
        self._schedule_runnable(tcb)

    def suspend(self, tcb):
        self._cancel(tcb, ERR_STALE)
        if tcb.state != STATE_EXITED:
            tcb.state = STATE_INACTIVE

    def retire(self, tcb):
        """Stop a thread for good, unbind its SC and free its context (builder: close)."""
        self.suspend(tcb)
        sc = tcb.sc
        if sc is not None:
            self.unbind_sc(sc)
        tcb.state = STATE_EXITED
        if tcb in self.tcbs:
            self.tcbs.remove(tcb)
        self.arch.context_free(tcb.context)

    # --- capability invocations ------------------------------------------------------------------

    def _dest_slot(self, tcb, slot):
        slots = tcb.cspace.slots
        if type(slot) is not int or slot < 0 or slot >= len(slots):
            return ERR_RANGE
        if slots[slot] is not None:
            return ERR_SLOT_OCCUPIED
        return OK

    def _sys_cnode_derive(self, tcb, sysno, request):
        # copy: (SYS, src, dest, rights)  mint: (SYS, src, dest, rights, badge)
        is_mint = sysno == SYS_CNODE_MINT
        if len(request) != (5 if is_mint else 4):
            return ERR_INVALID_ARGUMENT
        cap = self._lookup(tcb, request[1], 0, 0)
        if type(cap) is int:
            return cap
        err = self._dest_slot(tcb, request[2])
        if err != OK:
            return err
        rights = request[3]
        if not _is_rights(rights):
            return ERR_INVALID_ARGUMENT
        badge = cap.badge
        if is_mint:
            new_badge = request[4]
            if not _is_small(new_badge):
                return ERR_INVALID_ARGUMENT
            if new_badge != 0:
                if cap.obj_type != TYPE_ENDPOINT and cap.obj_type != TYPE_NOTIFICATION:
                    return ERR_ILLEGAL_OPERATION
                if badge != 0:
                    return ERR_ILLEGAL_OPERATION
                badge = new_badge
        cdt.derive(cap, cap.rights & rights, badge, tcb.cspace, request[2])
        return OK

    def _sys_cnode_move(self, tcb, sysno, request):
        # move: (SYS, src, dest)  mutate: (SYS, src, dest, rights, badge)
        is_mutate = sysno == SYS_CNODE_MUTATE
        if len(request) != (5 if is_mutate else 3):
            return ERR_INVALID_ARGUMENT
        cap = self._lookup(tcb, request[1], 0, 0)
        if type(cap) is int:
            return cap
        err = self._dest_slot(tcb, request[2])
        if err != OK:
            return err
        rights = cap.rights
        badge = cap.badge
        if is_mutate:
            mask = request[3]
            if not _is_rights(mask):
                return ERR_INVALID_ARGUMENT
            new_badge = request[4]
            if not _is_small(new_badge):
                return ERR_INVALID_ARGUMENT
            if new_badge != 0 and new_badge != badge:
                if cap.obj_type != TYPE_ENDPOINT and cap.obj_type != TYPE_NOTIFICATION:
                    return ERR_ILLEGAL_OPERATION
                if badge != 0:
                    return ERR_ILLEGAL_OPERATION
                badge = new_badge
            if (rights & mask) != rights and cap.children:
                # Shrinking a cap that has derived children would leave them with more
                # rights than their parent: rights must never grow along a derivation.
                return ERR_ILLEGAL_OPERATION
            rights &= mask
        cdt.move(cap, tcb.cspace, request[2])
        cap.rights = rights
        cap.badge = badge
        return OK

    def _sys_cnode_delete(self, tcb, sysno, request):
        if len(request) != 2:
            return ERR_INVALID_ARGUMENT
        slot = request[1]
        slots = tcb.cspace.slots
        if type(slot) is not int or slot < 0 or slot >= len(slots):
            return ERR_RANGE
        cap = slots[slot]
        if cap is None:
            return OK
        if sysno == SYS_CNODE_REVOKE:
            self.revoke(cap)
        else:
            self.delete(cap)
        return OK

    def delete(self, cap):
        """Delete one cap; threads blocked through it are woken with ERR_REVOKED."""
        obj = cap.obj
        obj_type = cap.obj_type
        cdt.unlink(cap)
        if obj_type == TYPE_ENDPOINT or obj_type == TYPE_NOTIFICATION:
            tcb = obj.queue.head
            while tcb is not None:
                following = tcb.q_next
                if tcb.blocked_cap is cap:
                    self._dequeue(tcb)
                    tcb.blocked_on = None
                    tcb.blocked_cap = None
                    tcb.msg_cap = None
                    self.arch.set_result(tcb.context, ERR_REVOKED)
                    if tcb.fault_kind == FAULT_EXCEPTION:
                        tcb.fault_kind = 0
                        tcb.state = STATE_FAULTED
                    else:
                        tcb.fault_kind = 0
                        tcb.state = STATE_RUNNING
                        self._schedule_runnable(tcb)
                tcb = following

    def revoke(self, cap):
        """Delete every cap derived from `cap` (deepest first); `cap` itself stays."""
        for child in cdt.descendants(cap):
            if child.obj_type != 0:
                self.delete(child)

    def _sys_cnode_identify(self, tcb, sysno, request):
        if len(request) != 2:
            return ERR_INVALID_ARGUMENT
        cap = self._lookup(tcb, request[1], 0, 0)
        if type(cap) is int:
            return cap
        ipc = tcb.ipc
        words = self._words(tcb)
        words[0] = cap.obj_type
        words[1] = cap.rights
        words[2] = cap.badge
        ipc.count = 3
        return OK

    # --- TCB invocations -------------------------------------------------------------------------

    def _sys_tcb(self, tcb, sysno, request):
        if len(request) < 2:
            return ERR_INVALID_ARGUMENT
        rights = RIGHT_READ if sysno == SYS_TCB_INFO else RIGHT_WRITE
        cap = self._lookup(tcb, request[1], TYPE_TCB, rights)
        if type(cap) is int:
            return cap
        target = cap.obj
        if sysno == SYS_TCB_INFO:
            if len(request) != 2:
                return ERR_INVALID_ARGUMENT
            words = self._words(tcb)
            words[0] = target.state
            words[1] = target.priority
            words[2] = target.mcp
            words[3] = target.generation
            words[4] = target.faults
            words[5] = target.tid
            tcb.ipc.count = 6
            return OK
        if sysno == SYS_TCB_SET_PRIORITY or sysno == SYS_TCB_SET_MCP:
            if len(request) != 3:
                return ERR_INVALID_ARGUMENT
            value = request[2]
            if type(value) is not int or value < 0 or value > PRIORITY_MAX:
                return ERR_INVALID_ARGUMENT
            if priority_higher(value, tcb.mcp):
                return ERR_ILLEGAL_OPERATION
            if sysno == SYS_TCB_SET_MCP:
                target.mcp = value
            else:
                self.set_priority(target, value)
            return OK
        if len(request) != (3 if sysno == SYS_TCB_BIND_NOTIFICATION else 2):
            return ERR_INVALID_ARGUMENT
        if target.entry is None and (sysno == SYS_TCB_RESUME or sysno == SYS_TCB_RESTART):
            return ERR_ILLEGAL_OPERATION
        if sysno == SYS_TCB_RESUME:
            if target.state != STATE_INACTIVE:
                return ERR_ILLEGAL_OPERATION
            self.start(target)
            return OK
        if sysno == SYS_TCB_SUSPEND:
            if target.state == STATE_EXITED:
                return ERR_ILLEGAL_OPERATION
            self.suspend(target)
            return None if target is tcb else OK
        if sysno == SYS_TCB_RESTART:
            self.restart(target)
            return None if target is tcb else OK
        if sysno == SYS_TCB_BIND_NOTIFICATION:
            ncap = self._lookup(tcb, request[2], TYPE_NOTIFICATION, RIGHT_READ)
            if type(ncap) is int:
                return ncap
            ntfn = ncap.obj
            if target.bound_ntfn is not None or ntfn.bound_tcb is not None:
                return ERR_ILLEGAL_OPERATION
            if ntfn.queue.head is not None:
                return ERR_ILLEGAL_OPERATION
            target.bound_ntfn = ntfn
            ntfn.bound_tcb = target
            return OK
        if target.bound_ntfn is None:
            return ERR_ILLEGAL_OPERATION
        target.bound_ntfn.bound_tcb = None
        target.bound_ntfn = None
        return OK

    def set_priority(self, tcb, priority):
        if tcb.queue_kind == QUEUE_READY:
            self.sched.remove(tcb)
            tcb.priority = priority
            self.sched.append(tcb)
        else:
            tcb.priority = priority
        if tcb is self.current:
            # A lowered current thread may now be preempted at the next choose.
            pass

    # --- SchedContext invocations ----------------------------------------------------------------

    def _sys_sc_configure(self, tcb, sysno, request):
        # (SYS, sched_control_slot, sc_slot, budget, period, refills)
        if len(request) != 6:
            return ERR_INVALID_ARGUMENT
        cap = self._lookup(tcb, request[1], TYPE_SCHED_CONTROL, 0)
        if type(cap) is int:
            return cap
        sc_cap = self._lookup(tcb, request[2], TYPE_SCHED_CONTEXT, RIGHT_WRITE)
        if type(sc_cap) is int:
            return sc_cap
        budget = request[3]
        period = request[4]
        refills = request[5]
        if not _is_small(budget) or not _is_small(period) or type(refills) is not int:
            return ERR_INVALID_ARGUMENT
        if budget < self.min_budget or budget > period:
            return ERR_INVALID_ARGUMENT
        if refills < REFILLS_MIN or refills > REFILLS_MAX:
            return ERR_INVALID_ARGUMENT
        self.configure_sc(sc_cap.obj, budget, period, refills)
        return OK

    def configure_sc(self, sc, budget, period, refills):
        if sc is self.cur_sc:
            self._commit(sc)
        holder = sc.tcb
        queued = holder is not None and (
            holder.queue_kind == QUEUE_READY or holder.queue_kind == QUEUE_RELEASE
        )
        if queued:
            self._dequeue(holder)
        sc.configure(budget, period, refills, self.arch.now())
        if queued:
            self._schedule_runnable(holder)

    def _sys_sc(self, tcb, sysno, request):
        expected = 3 if sysno == SYS_SC_BIND else 2
        if len(request) != expected:
            return ERR_INVALID_ARGUMENT
        rights = RIGHT_READ if sysno == SYS_SC_CONSUMED else RIGHT_WRITE
        cap = self._lookup(tcb, request[1], TYPE_SCHED_CONTEXT, rights)
        if type(cap) is int:
            return cap
        sc = cap.obj
        if sysno == SYS_SC_CONSUMED:
            self._words(tcb)[0] = sc.total
            tcb.ipc.count = 1
            return OK
        if sysno == SYS_SC_BIND:
            tcap = self._lookup(tcb, request[2], TYPE_TCB, RIGHT_WRITE)
            if type(tcap) is int:
                return tcap
            target = tcap.obj
            if sc.tcb is not None or target.sc is not None or target.home_sc is not None:
                return ERR_ILLEGAL_OPERATION
            if not sc.is_configured():
                return ERR_ILLEGAL_OPERATION
            self.bind_sc(sc, target)
            return OK
        holder = sc.home
        if holder is None or sc.tcb is not holder:
            return ERR_ILLEGAL_OPERATION
        self.unbind_sc(sc)
        return None if holder is tcb else OK

    def unbind_sc(self, sc):
        holder = sc.tcb
        if sc is self.cur_sc:
            self._commit(sc)
        if holder is not None:
            if holder.queue_kind == QUEUE_READY or holder.queue_kind == QUEUE_RELEASE:
                self._dequeue(holder)
            if holder is self.current:
                self.current = None
            holder.sc = None
            holder.home_sc = None
        sc.tcb = None
        sc.home = None

    # --- dynamic systems: retype, configure, give caps, set handlers ----------------------------

    def _sys_untyped_retype(self, tcb, sysno, request):
        # (SYS, untyped_slot, obj_type, dest_slot)
        if len(request) != 4:
            return ERR_INVALID_ARGUMENT
        untyped = self._lookup(tcb, request[1], TYPE_UNTYPED, RIGHT_WRITE)
        if type(untyped) is int:
            return untyped
        obj_type = request[2]
        if type(obj_type) is not int or not (
            obj_type == TYPE_ENDPOINT
            or obj_type == TYPE_NOTIFICATION
            or obj_type == TYPE_TCB
            or obj_type == TYPE_SCHED_CONTEXT
        ):
            return ERR_INVALID_ARGUMENT
        err = self._dest_slot(tcb, request[3])
        if err != OK:
            return err
        if untyped.obj.remaining <= 0:
            return ERR_NOT_ENOUGH_MEMORY
        untyped.obj.remaining -= 1
        obj = self.create_object(obj_type)
        cap = cdt.Cap(obj, obj_type, RIGHTS_ALL, 0)
        cdt.insert(tcb.cspace, request[3], cap, untyped)
        return OK

    def create_object(self, obj_type):
        """A fresh object of obj_type (perform; TCBs start unconfigured and inactive)."""
        oid = self._new_id()
        if obj_type == TYPE_ENDPOINT:
            return Endpoint("ep" + str(oid), oid)
        if obj_type == TYPE_NOTIFICATION:
            return Notification("ntfn" + str(oid), oid)
        if obj_type == TYPE_SCHED_CONTEXT:
            return SchedContext(self.min_budget, "sc" + str(oid), oid)
        tcb = TCB(oid, "tcb" + str(oid), 0, IpcBuffer())
        self.tcbs.append(tcb)
        return tcb

    def _valid_arg(self, value, depth):
        """Task arguments are immutable values: None, bool, small int, short str/bytes, tuples."""
        kind = type(value)
        if value is None or kind is bool:
            return True
        if kind is int:
            return WORD_MIN <= value < WORD_LIMIT
        if kind is str or kind is bytes:
            return len(value) <= MSG_MAX_BYTES
        if kind is tuple and depth < 2 and len(value) <= ARG_MAX_ITEMS:
            for item in value:
                if not self._valid_arg(item, depth + 1):
                    return False
            return True
        return False

    def _sys_tcb_configure(self, tcb, sysno, request):
        # (SYS, tcb_slot, entry, arg, priority, cspace_size, name)
        if len(request) != 7:
            return ERR_INVALID_ARGUMENT
        cap = self._lookup(tcb, request[1], TYPE_TCB, RIGHT_WRITE)
        if type(cap) is int:
            return cap
        target = cap.obj
        if target.entry is not None:
            return ERR_ILLEGAL_OPERATION
        entry = request[2]
        if not callable(entry) or type(entry) is type:
            return ERR_INVALID_ARGUMENT
        if not self._valid_arg(request[3], 0):
            return ERR_INVALID_ARGUMENT
        priority = request[4]
        if type(priority) is not int or priority < 0 or priority > PRIORITY_MAX:
            return ERR_INVALID_ARGUMENT
        if priority_higher(priority, tcb.mcp):
            return ERR_ILLEGAL_OPERATION
        size = request[5]
        if type(size) is not int or size < 1 or size > CSPACE_MAX:
            return ERR_INVALID_ARGUMENT
        name = request[6]
        if type(name) is not str or len(name) > 16:
            return ERR_INVALID_ARGUMENT
        try:
            name.encode()
        except Exception:
            return ERR_INVALID_ARGUMENT
        target.name = name
        target.cspace = CNode(size, name)
        target.entry = entry
        target.arg = request[3]
        target.priority = priority
        target.mcp = priority
        target.context = self.arch.context_new(entry, target.ipc, target.arg, None, target.name)
        self.arch.memory_view(target.context, ())
        return OK

    def _sys_tcb_copy_cap(self, tcb, sysno, request):
        # (SYS, tcb_slot, src_slot, dest_index, rights, badge): mint into the TCB's CSpace.
        if len(request) != 6:
            return ERR_INVALID_ARGUMENT
        tcap = self._lookup(tcb, request[1], TYPE_TCB, RIGHT_WRITE)
        if type(tcap) is int:
            return tcap
        cap = self._lookup(tcb, request[2], 0, 0)
        if type(cap) is int:
            return cap
        err = self._dest_slot(tcap.obj, request[3])
        if err != OK:
            return err
        rights = request[4]
        if not _is_rights(rights):
            return ERR_INVALID_ARGUMENT
        badge = request[5]
        if not _is_small(badge):
            return ERR_INVALID_ARGUMENT
        if badge != 0:
            if cap.obj_type != TYPE_ENDPOINT and cap.obj_type != TYPE_NOTIFICATION:
                return ERR_ILLEGAL_OPERATION
            if cap.badge != 0:
                return ERR_ILLEGAL_OPERATION
        else:
            badge = cap.badge
        cdt.derive(cap, cap.rights & rights, badge, tcap.obj.cspace, request[3])
        return OK

    def _sys_tcb_set_handler(self, tcb, sysno, request):
        # (SYS, tcb_slot, ep_slot or -1, which): HANDLER_FAULT or HANDLER_TIMEOUT.
        if len(request) != 4:
            return ERR_INVALID_ARGUMENT
        tcap = self._lookup(tcb, request[1], TYPE_TCB, RIGHT_WRITE)
        if type(tcap) is int:
            return tcap
        which = request[3]
        if type(which) is not int or which < 0 or which > 1:
            return ERR_INVALID_ARGUMENT
        slot = request[2]
        cap = None
        if type(slot) is not int:
            return ERR_INVALID_ARGUMENT
        if slot != NO_SLOT:
            cap = self._lookup(tcb, slot, TYPE_ENDPOINT, RIGHT_WRITE)
            if type(cap) is int:
                return cap
        handlers = tcap.obj.handlers
        old = handlers.slots[which]
        if old is not None:
            cdt.unlink(old)
        if cap is not None:
            cdt.derive(cap, RIGHT_WRITE, cap.badge, handlers, which)
        return OK

    # --- invariants (debug builds and tests) -----------------------------------------------------

    def check_invariants(self):
        self.sched.check_invariants()
        current = self.current
        if current is not None:
            assert current.state == STATE_RUNNING, "current thread not running"
            assert current.queue is None, "current thread is queued"
            assert current.sc is not None, "current thread has no SC"
            top = self.sched.highest()
            assert top < 0 or not priority_higher(top, current.priority), "not highest"
        for tcb in self.tcbs:
            state = tcb.state
            if state == STATE_BLOCKED_SEND or state == STATE_BLOCKED_RECV:
                assert tcb.queue_kind == QUEUE_ENDPOINT, "blocked on endpoint, not queued"
                assert tcb.queue is tcb.blocked_on.queue, "blocked in the wrong queue"
            elif state == STATE_BLOCKED_NOTIFICATION:
                assert tcb.queue_kind == QUEUE_NOTIFICATION, "waiting, not queued"
                assert tcb.queue is tcb.blocked_on.queue, "waiting in the wrong queue"
            elif state == STATE_BLOCKED_SLEEP:
                assert tcb.queue is self.sched.sleep, "sleeping, not in the sleep queue"
            elif state == STATE_BLOCKED_REPLY:
                assert tcb.queue is None, "blocked on reply but queued"
                assert tcb.reply.caller is tcb, "blocked on reply without an armed reply"
            elif state == STATE_RUNNING:
                if tcb.sc is None:
                    assert tcb.queue is None, "thread without SC is queued"
                else:
                    kind = tcb.queue_kind
                    assert tcb is current or kind == QUEUE_READY or kind == QUEUE_RELEASE, (
                        "runnable thread " + tcb.name + " lost"
                    )
            else:
                assert tcb.queue is None, "inactive thread is queued"
                assert tcb is not current, "inactive thread is current"
            # (The IpcBuffer is task memory: the kernel never trusts or asserts on it.)
            tcb.reply.check_invariants(tcb)
            if tcb.sc is not None:
                assert tcb.sc.tcb is tcb, "SC binding not mutual"
                tcb.sc.check_invariants()
            tcb.cspace.check_invariants()
            for cap in tcb.cspace.slots:
                if cap is not None:
                    cdt.check_rights_monotonic(cap)
        return True

    def tcb_by_name(self, name):
        for tcb in self.tcbs:
            if tcb.name == name:
                return tcb
        return None
