"""Kernel objects: thread queues, endpoint, notification, reply, TCB, SC."""

from k5._compat import const
from k5.abi import (
    STATE_BLOCKED_NOTIFICATION,
    STATE_BLOCKED_RECV,
    STATE_BLOCKED_REPLY,
    STATE_BLOCKED_SEND,
    STATE_INACTIVE,
)
from k5.cdt import CNode
from k5.refill import Refills

# Which kind of queue a TCB is linked into (TCB.queue_kind).
QUEUE_NONE = const(0)
QUEUE_READY = const(1)
QUEUE_RELEASE = const(2)
QUEUE_ENDPOINT = const(3)
QUEUE_NOTIFICATION = const(4)
QUEUE_SLEEP = const(5)

# How many faults a TCB's fault_history keeps (the latest).
FAULT_HISTORY = const(4)


def priority_higher(a, b):
    """Priority a is strictly more urgent than priority b."""
    return a > b


def _check_priority_order(queue):
    previous = None
    tcb = queue.head
    while tcb is not None:
        assert previous is None or not priority_higher(tcb.priority, previous.priority), (
            "queue out of order"
        )
        previous = tcb
        tcb = tcb.q_next


class TcbQueue:
    """Queue of TCBs linked through their q_next/q_prev fields (no allocation).

    Ready and release queues use it as a FIFO; endpoint and notification queues keep it
    ordered by priority (highest first, FIFO among equals) with insert_by_priority.

    **Invariants:**
    - head is None exactly when tail is None; following q_next from head reaches tail;
    - every TCB in the queue has queue set to this queue.
    """

    __slots__ = ("head", "tail")

    def __init__(self):
        self.head = None
        self.tail = None

    def append(self, tcb):
        tcb.queue = self
        tcb.q_next = None
        tail = self.tail
        tcb.q_prev = tail
        if tail is None:
            self.head = tcb
        else:
            tail.q_next = tcb
        self.tail = tcb

    def prepend(self, tcb):
        tcb.queue = self
        tcb.q_prev = None
        head = self.head
        tcb.q_next = head
        if head is None:
            self.tail = tcb
        else:
            head.q_prev = tcb
        self.head = tcb

    def insert_after(self, node, tcb):
        """Insert tcb after node (which is in this queue); node None means at the head."""
        if node is None:
            self.prepend(tcb)
            return
        following = node.q_next
        tcb.queue = self
        tcb.q_prev = node
        tcb.q_next = following
        node.q_next = tcb
        if following is None:
            self.tail = tcb
        else:
            following.q_prev = tcb

    def insert_by_priority(self, tcb):
        """Insert tcb behind every thread of its priority or higher (seL4 MCS tcbEPAppend)."""
        priority = tcb.priority
        node = self.tail
        while node is not None and priority_higher(priority, node.priority):
            node = node.q_prev
        self.insert_after(node, tcb)

    def remove(self, tcb):
        prev = tcb.q_prev
        following = tcb.q_next
        if prev is None:
            self.head = following
        else:
            prev.q_next = following
        if following is None:
            self.tail = prev
        else:
            following.q_prev = prev
        tcb.q_next = None
        tcb.q_prev = None
        tcb.queue = None
        tcb.queue_kind = QUEUE_NONE

    def pop(self):
        tcb = self.head
        if tcb is not None:
            self.remove(tcb)
        return tcb

    def members(self):
        result = []
        tcb = self.head
        while tcb is not None:
            result.append(tcb)
            tcb = tcb.q_next
        return result

    def check_invariants(self):
        previous = None
        tcb = self.head
        while tcb is not None:
            assert tcb.queue is self, "queued TCB points at another queue"
            assert tcb.q_prev is previous, "broken back link"
            previous = tcb
            tcb = tcb.q_next
        assert self.tail is previous, "tail mismatch"
        return True


class Endpoint:
    """Synchronous IPC rendezvous point.

    **Invariants:**
    - all queued threads are of one kind: all BLOCKED_SEND or all BLOCKED_RECV;
    - a queued thread's blocked_on is this endpoint;
    - the queue is ordered by priority, highest first (FIFO among equals);
    - cap_count is the number of caps referring to it; the last one going destroys it.
    """

    __slots__ = ("queue", "name", "owner", "oid", "cap_count")

    def __init__(self, name="", oid=0):
        self.queue = TcbQueue()
        self.name = name
        self.owner = None
        self.oid = oid
        self.cap_count = 0

    def check_invariants(self):
        self.queue.check_invariants()
        states = []
        for tcb in self.queue.members():
            assert tcb.blocked_on is self, "queued thread blocked elsewhere"
            assert tcb.state in (STATE_BLOCKED_SEND, STATE_BLOCKED_RECV), "queued not blocked"
            if tcb.state not in states:
                states.append(tcb.state)
        assert len(states) <= 1, "senders and receivers queued together"
        _check_priority_order(self.queue)
        return True


class Notification:
    """A word of signal bits with waiters and an optional bound TCB.

    **Invariants:**
    - waiters are queued only while the notification is not active, by priority;
    - word is 0 whenever active is False;
    - if sc is not None then sc.ntfn is self (an SC bound to the notification).
    """

    __slots__ = ("queue", "word", "active", "bound_tcb", "name", "oid", "cap_count", "sc")

    def __init__(self, name="", oid=0):
        self.queue = TcbQueue()
        self.word = 0
        self.active = False
        self.bound_tcb = None
        self.name = name
        self.oid = oid
        self.cap_count = 0
        self.sc = None

    def check_invariants(self):
        self.queue.check_invariants()
        if self.queue.head is not None:
            assert not self.active, "waiters on an active notification"
        if not self.active:
            assert self.word == 0, "inactive notification with bits set"
        for tcb in self.queue.members():
            assert tcb.state == STATE_BLOCKED_NOTIFICATION, "waiter not blocked"
            assert tcb.blocked_on is self, "waiter blocked elsewhere"
        _check_priority_order(self.queue)
        if self.sc is not None:
            assert self.sc.ntfn is self, "notification SC binding not mutual"
        return True


class Reply:
    """A reply object (MCS): bound to one caller from its call until the reply.

    Two kinds: each TCB preallocates one (`TCB.reply`) that its call arms when the server
    names no reply object (the implicit reply); a Reply created from an Untyped (or by the
    builder) is named by a server's recv/reply_recv through its cap, so that a server can
    hold many callers and reply to them in any order.

    **Invariants:**
    - caller is not None exactly when the reply is armed (its caller is BLOCKED_REPLY and
      blocked_on this reply);
    - seq increases every time the reply is armed, used or cancelled, so holders of an old seq
      are stale;
    - cap_count counts the caps of a named reply (always 0 for an implicit one);
    - donated is the SC whose call stack holds the reply (k5/reply_object.py), else None.
    """

    __slots__ = ("caller", "server", "seq", "donated", "recv_slot", "cap_count")

    def __init__(self):
        # (Six fields, no name: every TCB has one, and a bigger attribute table per instance
        # costs the device heap; the builder's Ref names a named reply.)
        self.caller = None
        self.server = None
        self.seq = 0
        self.donated = None
        self.recv_slot = -1
        self.cap_count = 0

    def check_invariants(self, owner=None):
        caller = self.caller
        if caller is not None:
            assert owner is None or caller is owner, "reply armed for another thread"
            assert caller.state == STATE_BLOCKED_REPLY, "armed reply, caller not waiting"
            assert caller.blocked_on is self, "armed reply, caller waits elsewhere"
        else:
            assert self.donated is None, "disarmed reply still holds a donated SC"
        return True


class SchedContext(Refills):
    """Scheduling context: budget, period, refills, the TCB it is bound to.

    **Invariants:** those of Refills, plus:
    - if tcb is not None then tcb.sc is self (bound, donated, or lent by its notification);
    - if ntfn is not None then ntfn.sc is self, and home is None (bound to a notification,
      the SC runs a passive thread woken by it);
    - consumed ticks not yet charged are kept in `consumed` (charged at a switch);
    - its call stack (k5/reply_object.py, "donation") starts at tcb.sc_reply of the thread it
      runs: the SC runs the server of the head reply, or its home (or the thread its
      notification woke) when the stack is empty. (The stack is kept in TCBs, not here: an
      SC's attribute table and a Reply's are full, one more attribute costs each 48 or 16 bytes
      of the device's heap; a TCB's has room for one.)
    """

    __slots__ = (
        "tcb",
        "home",
        "consumed",
        "total",
        "name",
        "oid",
        "exhaustions",
        "cap_count",
        "ntfn",
    )

    def __init__(self, min_budget=1, name="", oid=0):
        Refills.__init__(self, min_budget)
        self.tcb = None
        self.home = None
        self.consumed = 0
        self.total = 0
        self.name = name
        self.oid = oid
        self.exhaustions = 0
        self.cap_count = 0
        self.ntfn = None


def unwind(reply):
    """Take reply and every reply below it off their call stack; return the stack's base (the
    thread the SC came from; k5/reply_object.py; perform)."""
    while True:
        caller = reply.caller
        below = caller.sc_reply
        caller.sc_reply = None
        reply.donated = None
        if below is None:
            return caller
        if type(below) is not Reply:
            return below
        reply = below


def release_stack(sc):
    """The SC is unbound or destroyed: its call stack is emptied (perform)."""
    holder = sc.tcb
    if holder is not None and holder.sc_reply is not None:
        unwind(holder.sc_reply)
        holder.sc_reply = None


class Untyped:
    """A quota of kernel objects a holder may create (K5's stand-in for seL4's Untyped).

    **Invariants:**
    - 0 <= remaining <= quota; quota - remaining objects made from it are alive (destroying
      one, or revoking the Untyped, refunds it).
    """

    __slots__ = ("quota", "remaining", "name", "oid", "cap_count")

    def __init__(self, quota, name="", oid=0):
        self.quota = quota
        self.remaining = quota
        self.name = name
        self.oid = oid
        self.cap_count = 0

    def check_invariants(self):
        assert 0 <= self.remaining <= self.quota, "untyped quota out of range"
        return True


class SchedControl:
    """Authority to configure scheduling contexts (seL4's SchedControl)."""

    __slots__ = ("name", "cap_count")

    def __init__(self, name="sched_control"):
        self.name = name
        self.cap_count = 0


class NO_HANDLERS:  # noqa: N801 (a sentinel, used as a value)
    """The handler slots of every TCB that has none (most): a class, not an instance, so that
    it is frozen with the kernel's classes (a task reaches this module, and must not be able to
    plant a handler here); a TCB gets a CNode of its own (handlers_of) when a handler is first
    set. Saves a CNode and its slot list per thread on the device's heap."""

    slots = (None, None)


def handlers_of(tcb):
    """tcb's own handler CNode (slot 0: fault, 1: timeout), made on first use."""
    handlers = tcb.handlers
    if handlers is NO_HANDLERS:
        handlers = CNode(2, tcb.name)
        tcb.handlers = handlers
    return handlers


class TCB:
    """Thread control block.

    **Invariants:**
    - a TCB is linked into at most one queue (queue/queue_kind agree);
    - BLOCKED_SEND/BLOCKED_RECV threads are in their endpoint's queue, BLOCKED_NOTIFICATION
      threads in their notification's queue, BLOCKED_REPLY threads own an armed reply;
    - a RUNNING thread is the current thread or in the ready or release queue;
    - priority <= mcp of whoever set it; 0 <= priority <= 255;
    - if sc is not None then sc.tcb is self;
    - sc_reply links donation's call stacks (k5/reply_object.py): for a thread running a
      donated SC, the head of its stack (the reply that donated it, whose server it is); for a
      thread blocked on a reply of a stack, what lies below that reply: the reply whose server
      it was when it called, or (that one answered out of turn) the stack's base thread; None
      otherwise (and for the caller at the bottom, itself the base).
    """

    __slots__ = (
        "tid",
        "name",
        "state",
        "priority",
        "mcp",
        "cspace",
        "sc",
        "home_sc",
        "handlers",
        "bound_ntfn",
        "queue",
        "queue_kind",
        "q_next",
        "q_prev",
        "blocked_on",
        "blocked_cap",
        "context",
        "ipc",
        "reply",
        "pending_reply",
        "pending_seq",
        "msg_label",
        "msg_count",
        "msg_words",
        "msg_data",
        "msg_length",
        "msg_cap",
        "msg_badge",
        "msg_is_call",
        "msg_can_grant",
        "generation",
        "faults",
        "fault_history",
        "entry",
        "arg",
        "yielded",
        "recv_slot",
        "fault_kind",
        "exit_code",
        "passive_on_recv",
        "ipc_words",
        "ipc_data",
        "wake_time",
        "cap_count",
        "recv_reply",
        "lease",
        "sc_reply",
    )

    def __init__(self, tid, name, cspace_size, ipc):
        self.tid = tid
        self.name = name
        self.wake_time = 0
        self.cap_count = 0
        # The reply cap named by the receive in progress (None: the caller's implicit reply).
        self.recv_reply = None
        # (buffer, rights) this thread lends with its call in progress, until the reply
        # (k5/lease.py); None when it lends nothing.
        self.lease = None
        self.state = STATE_INACTIVE
        self.priority = 0
        self.mcp = 0
        self.cspace = CNode(cspace_size, name)
        # Slot 0: fault handler endpoint cap; slot 1: timeout handler endpoint cap.
        self.handlers = NO_HANDLERS
        self.sc = None
        self.home_sc = None
        self.sc_reply = None
        self.bound_ntfn = None
        self.queue = None
        self.queue_kind = QUEUE_NONE
        self.q_next = None
        self.q_prev = None
        self.blocked_on = None
        self.blocked_cap = None
        self.context = None
        self.ipc = ipc
        # The kernel keeps its own references to the buffer's storage: a task that rebinds
        # ipc.words or ipc.data cannot redirect the kernel's writes.
        self.ipc_words = ipc.words
        self.ipc_data = ipc.data
        self.reply = Reply()
        self.pending_reply = None
        self.pending_seq = 0
        self.msg_label = 0
        self.msg_count = 0
        self.msg_words = ()  # the words of the send in progress (a tuple: see message.py)
        self.msg_data = None  # the payload of the send in progress (the sender's object)
        self.msg_length = 0
        self.msg_cap = None
        self.msg_badge = 0
        self.msg_is_call = False
        self.msg_can_grant = False
        self.generation = 0
        self.faults = 0
        # A tuple until the first fault (most threads never fault): see record_fault().
        self.fault_history = ()
        self.entry = None
        self.arg = None
        self.yielded = False
        self.recv_slot = -1
        self.fault_kind = 0
        self.exit_code = 0
        # Initialise on its own SC, then become passive when it first waits for a message.
        self.passive_on_recv = False

    def record_fault(self, record):
        """Add record to the fault history, dropping the oldest beyond FAULT_HISTORY.

        The first fault makes the history a list (MemoryError when there is no memory for
        it); after that, recording allocates nothing (the list never grows past 4 entries,
        MicroPython's smallest list allocation)."""
        history = self.fault_history
        if type(history) is tuple:
            history = list(history)
            self.fault_history = history
        if len(history) >= FAULT_HISTORY:
            history.pop(0)
        history.append(record)

    def is_blocked(self):
        state = self.state
        return (
            state == STATE_BLOCKED_SEND
            or state == STATE_BLOCKED_RECV
            or state == STATE_BLOCKED_REPLY
            or state == STATE_BLOCKED_NOTIFICATION
        )
