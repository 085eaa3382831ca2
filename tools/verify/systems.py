"""The small systems the explorer checks, each with its alphabet of task actions."""

# A system is built with the ordinary builder (k5.system.System) on the checker arch. Its
# alphabet says, per task, which syscalls (with which arguments) the task may make whenever it
# runs; besides those, every task may be preempted by the timer or fault, and the interrupts
# listed may fire between any two kernel steps. Message words carry the sending task's index,
# so the explorer can follow every message from send to delivery (see explore.py).
# To cover a new syscall, add it to an alphabet here; nothing else needs to change.

from k5.abi import (
    NO_SLOT,
    SYS_BORROW_INFO,
    SYS_BORROW_READ,
    SYS_BORROW_WRITE,
    RIGHT_GRANT,
    RIGHT_READ,
    RIGHT_WRITE,
    RIGHTS_ALL,
    SYS_CALL,
    SYS_CNODE_COPY,
    SYS_CNODE_DELETE,
    SYS_CNODE_MUTATE,
    SYS_CNODE_REVOKE,
    SYS_IRQ_ACK,
    SYS_IRQ_CLEAR,
    SYS_IRQ_SET_NOTIFICATION,
    SYS_NBRECV,
    SYS_RECV,
    SYS_REPLY,
    SYS_REPLY_RECV,
    SYS_SC_CONFIGURE,
    SYS_SEND,
    SYS_SET_TIMER,
    SYS_SIGNAL,
    SYS_SLEEP,
    SYS_TCB_RESTART,
    SYS_TCB_RESUME,
    SYS_TCB_SET_PRIORITY,
    SYS_TCB_SUSPEND,
    SYS_WAIT,
    SYS_YIELD,
)
from k5 import cdt, cnode, device
from k5.builder import Builder  # the kernel-side builder (on the board, System is the front end)
from k5.ticks import TICKS_HALF, TICKS_PERIOD, TIME_MAX
from tools.verify.checkarch import PLAN_EXIT, PLAN_FAULT, PLAN_PREEMPT, PLAN_SYSCALL, CheckArch

# Labels of the explorer's messages: a message's first word is the sender's task index.
LABEL_SEND = 11
LABEL_REPLY = 12

# The clock starts just before the 2**30 wrap, so that most paths cross it.
START_TIME = TICKS_PERIOD - 12


def _never_runs(ipc, arg):
    raise RuntimeError("k5 verify: task bodies never run on the checker arch")


def _console(line):
    pass


def _syscall(request):
    return (PLAN_SYSCALL, request, 1)


def send(slot, index, cap=NO_SLOT):
    return _syscall((SYS_SEND, slot, LABEL_SEND, (index,), None, cap))


def call(slot, index, recv_slot=NO_SLOT):
    return _syscall((SYS_CALL, slot, LABEL_SEND, (index,), None, NO_SLOT, recv_slot))


def recv(slot, recv_slot=NO_SLOT, blocking=True):
    return _syscall((SYS_RECV if blocking else SYS_NBRECV, slot, recv_slot))


def reply(index):
    return _syscall((SYS_REPLY, 0, LABEL_REPLY, (index,), None, NO_SLOT))


def reply_recv(slot, index, recv_slot=NO_SLOT):
    return _syscall((SYS_REPLY_RECV, slot, LABEL_REPLY, (index,), None, NO_SLOT, recv_slot))


class Fresh:
    """In a plan's request: a new bytearray holding `data` at each use, so that no two states
    share one (a lease's buffer, a borrow_read's destination). The model keeps the buffer a task
    lends (Ghost.lent) and the one it reads into, to check what the kernel does with them."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data


def call_lending(slot, index, rights):
    """A call that lends a 4-byte buffer of zeros with `rights` (k5/lease.py)."""
    lent = Fresh(bytes(4))
    return _syscall((SYS_CALL, slot, LABEL_SEND, (index,), None, NO_SLOT, NO_SLOT, lent, rights))


PREEMPT = (PLAN_PREEMPT,)
FAULT = (PLAN_FAULT, 1)
EXIT = (PLAN_EXIT,)


class Spec:
    """A built system plus its alphabet: per TCB index, a tuple of (name, plan); interrupts:
    (label, notification ref, badge) signalled from outside; hardware: (label, line) raised on
    the checker arch's interrupt lines (delivered through IRQ handlers)."""

    __slots__ = ("name", "system", "alphabet", "interrupts", "hardware")

    def __init__(self, name, system, alphabet, interrupts, hardware=()):
        self.name = name
        self.system = system
        self.alphabet = alphabet
        self.interrupts = interrupts
        self.hardware = hardware


def _new_system():
    return Builder(arch=CheckArch(START_TIME), console=_console)


def core():
    """Client, passive server, supervisor: call/reply with donation, faults, revoke, restart.

    3 tasks, 2 endpoints (service, faults), 1 notification (an interrupt line), 3 SCs of which
    the server gives its own up at its first receive and then runs on its callers' (passive).
    The client's service cap is derived from the supervisor's, with fewer rights and a badge, so
    the supervisor's revoke takes it away, even while the client is blocked on it.
    """
    system = _new_system()
    service = system.endpoint("service")
    faults = system.endpoint("faults")
    irq = system.notification("irq")
    sup = system.task("sup", _never_runs, priority=30, budget=2, period=5, refills=2, slots=5)
    srv = system.task(
        "srv", _never_runs, priority=20, budget=2, period=2, refills=2, slots=2, passive=True
    )
    cli = system.task("cli", _never_runs, priority=10, budget=3, period=6, refills=2, slots=4)
    parent = system.give(sup, 0, service)
    system.give(sup, 1, faults, RIGHT_READ)
    system.give(sup, 2, cli)
    system.give(sup, 3, irq, RIGHT_READ)
    cdt.derive(parent, RIGHT_WRITE | RIGHT_GRANT, 1, cli.obj.cspace, 0)
    system.give(cli, 1, irq, RIGHT_WRITE, badge=2)
    system.give(srv, 0, service, RIGHT_READ)
    system.fault_handler(cli, faults, badge=9)
    system.timeout_handler(cli, faults, badge=10)
    # Task indices: sup 0, srv 1, cli 2 (creation order).
    alphabet = (
        (
            ("recv-fault", recv(1)),
            ("reply", reply(0)),
            ("wait-irq", _syscall((SYS_WAIT, 3))),
            ("restart-cli", _syscall((SYS_TCB_RESTART, 2))),
            ("suspend-cli", _syscall((SYS_TCB_SUSPEND, 2))),
            ("resume-cli", _syscall((SYS_TCB_RESUME, 2))),
            ("revoke-service", _syscall((SYS_CNODE_REVOKE, 0))),
            ("preempt", PREEMPT),
        ),
        (
            ("recv", recv(0, 1)),
            ("reply", reply(1)),
            ("reply-recv", reply_recv(0, 1, 1)),
            ("delete-granted", _syscall((SYS_CNODE_DELETE, 1))),
            ("preempt", PREEMPT),
            ("fault", FAULT),
        ),
        (
            ("call", call(0, 2)),
            ("send-cap", send(0, 2, 1)),
            ("signal", _syscall((SYS_SIGNAL, 1))),
            ("copy-weaker", _syscall((SYS_CNODE_COPY, 0, 2, RIGHT_WRITE))),
            ("call-weaker", call(2, 2)),
            ("delete-copy", _syscall((SYS_CNODE_DELETE, 2))),
            ("mutate-copy", _syscall((SYS_CNODE_MUTATE, 2, 3, RIGHT_READ | RIGHT_WRITE, 0))),
            ("delete-mutated", _syscall((SYS_CNODE_DELETE, 3))),
            ("preempt", PREEMPT),
            ("fault", FAULT),
            ("exit", EXIT),
        ),
    )
    return Spec("core", system, alphabet, (("irq", irq, 4),))


def sched():
    """Three threads on sporadic and round-robin SCs: budgets, sleeps, yields, reconfiguration.

    Two share priority 10 (one sporadic with 3 refills, one round robin), one at 15 with a
    tight sporadic budget. They exchange messages on one endpoint and signals on one
    notification, reprioritise and reconfigure one another's SCs.
    """
    system = _new_system()
    channel = system.endpoint("channel")
    bell = system.notification("bell")
    control = system.sched_control()
    a = system.task("a", _never_runs, priority=10, mcp=15, budget=2, period=5, refills=3, slots=5)
    b = system.task("b", _never_runs, priority=10, mcp=15, budget=2, period=2, refills=2, slots=5)
    c = system.task("c", _never_runs, priority=15, mcp=15, budget=1, period=4, refills=2, slots=5)
    tasks = (a, b, c)
    for i in range(3):
        task = tasks[i]
        neighbour = tasks[(i + 1) % 3]
        system.give(task, 0, channel, RIGHTS_ALL, badge=i + 1)
        system.give(task, 1, bell, RIGHTS_ALL, badge=1 << i)
        system.give(task, 2, control)
        system.give(task, 3, neighbour)
        system.give(task, 4, neighbour.sc)
    alphabet = []
    for i in range(3):
        alphabet.append(
            (
                ("send", send(0, i)),
                ("recv", recv(0)),
                ("signal", _syscall((SYS_SIGNAL, 1))),
                ("wait", _syscall((SYS_WAIT, 1))),
                ("yield", _syscall((SYS_YIELD,))),
                ("sleep", _syscall((SYS_SLEEP, 3))),
                ("raise-next", _syscall((SYS_TCB_SET_PRIORITY, 3, 12))),
                ("configure-next", _syscall((SYS_SC_CONFIGURE, 2, 4, 1, 3, 2))),
                ("preempt", PREEMPT),
            )
        )
    return Spec("sched", system, tuple(alphabet), (("bell", bell, 8),))


def replies():
    """MCS Reply objects: a server holds two callers at once and answers them in any order.

    Two clients at priorities 12 and 11 call one server (priority 10, its own SC) that names
    one of its two Reply caps in each receive, replies through either (or the wrong one), and
    may delete a Reply cap while a caller is bound to it (the caller is woken with an error).
    """
    system = _new_system()
    service = system.endpoint("service")
    srv = system.task("srv", _never_runs, priority=10, budget=2, period=4, refills=2, slots=3)
    c1 = system.task("c1", _never_runs, priority=12, budget=2, period=5, refills=2, slots=1)
    c2 = system.task("c2", _never_runs, priority=11, budget=2, period=5, refills=2, slots=1)
    system.give(srv, 0, service, RIGHT_READ)
    for slot in (1, 2):
        reply = system.reply("r%d" % slot)
        system.give(srv, slot, reply)
        cnode.delete(system.kernel, reply.original)  # the server's cap is the last one
    system.give(c1, 0, service, RIGHT_WRITE | RIGHT_GRANT)
    system.give(c2, 0, service, RIGHT_WRITE | RIGHT_GRANT)

    def through(reply_slot):
        return _syscall((SYS_REPLY, reply_slot, LABEL_REPLY, (0,), None, NO_SLOT))

    alphabet = (
        (
            ("recv-r1", _syscall((SYS_RECV, 0, NO_SLOT, 1))),
            ("recv-r2", _syscall((SYS_RECV, 0, NO_SLOT, 2))),
            ("reply-r1", through(1)),
            ("reply-r2", through(2)),
            (
                "reply-recv-r1",
                _syscall((SYS_REPLY_RECV, 0, LABEL_REPLY, (0,), None, NO_SLOT, NO_SLOT, 1)),
            ),
            ("delete-r2", _syscall((SYS_CNODE_DELETE, 2))),
            ("preempt", PREEMPT),
        ),
        (("call", call(0, 1)), ("preempt", PREEMPT), ("fault", FAULT)),
        (("call", call(0, 2)), ("preempt", PREEMPT)),
    )
    return Spec("replies", system, alphabet, ())


def leases():
    """Leases (Hubris): callers lend buffers for one call; the server reaches them by Reply.

    Two clients at priorities 12 and 11 call one server (priority 10, its own SC): c1 lends its
    buffer read-write, c2 read-only. The server receives through its Reply cap r1 or its
    implicit reply, asks the lease's size, reads two bytes at offset 1, writes two at offset 2
    (through r1) or one at 0 (through the implicit reply), past the end, and replies either way
    or deletes r1 while a caller is bound to it. The lease must end with the reply, and a
    buffer must change only by a server's successful borrow_write while its lender waits.
    """
    system = _new_system()
    service = system.endpoint("service")
    srv = system.task("srv", _never_runs, priority=10, budget=2, period=4, refills=2, slots=2)
    c1 = system.task("c1", _never_runs, priority=12, budget=2, period=5, refills=2, slots=1)
    c2 = system.task("c2", _never_runs, priority=11, budget=2, period=5, refills=2, slots=1)
    system.give(srv, 0, service, RIGHT_READ)
    reply_ref = system.reply("r1")
    system.give(srv, 1, reply_ref)
    cnode.delete(system.kernel, reply_ref.original)  # the server's cap is the last one
    system.give(c1, 0, service, RIGHT_WRITE | RIGHT_GRANT)
    system.give(c2, 0, service, RIGHT_WRITE | RIGHT_GRANT)
    alphabet = (
        (
            ("recv-r1", _syscall((SYS_RECV, 0, NO_SLOT, 1))),
            ("recv", recv(0)),
            ("info-r1", _syscall((SYS_BORROW_INFO, 1))),
            ("read-r1", _syscall((SYS_BORROW_READ, 1, 1, Fresh(bytes(2))))),
            ("write-r1", _syscall((SYS_BORROW_WRITE, 1, 2, b"\x07\x07"))),
            ("write", _syscall((SYS_BORROW_WRITE, NO_SLOT, 0, b"\x09"))),
            ("write-past-end", _syscall((SYS_BORROW_WRITE, 1, 3, b"\x05\x05"))),
            ("reply-r1", _syscall((SYS_REPLY, 1, LABEL_REPLY, (0,), None, NO_SLOT))),
            ("reply", reply(0)),
            ("delete-r1", _syscall((SYS_CNODE_DELETE, 1))),
        ),
        (("call-lend-rw", call_lending(0, 1, RIGHT_READ | RIGHT_WRITE)), ("preempt", PREEMPT)),
        (("call-lend-r", call_lending(0, 2, RIGHT_READ)), ("fault", FAULT)),
    )
    return Spec("leases", system, alphabet, ())


def devices():
    """Device windows and an IRQ: holding is mapping, and a line reaches only its handler.

    A driver `drv` (priority 10) maps window w1 read-write through a cap derived from its
    supervisor's (so `sup`'s revoke unmaps it at once) and w2 read-only; it holds the IRQHandler
    of line 1, bound to its notification with badge 1, and waits on it, acks, clears (unbinds)
    and binds the handler again, copies w1 read-only and deletes the copy or w2. `sup`
    (priority 20) revokes w1 or deletes its own cap to the handler. Line 1 and line 2 (which
    has no handler) fire at any point.
    """
    system = _new_system()
    kernel = system.kernel
    irq = system.notification("irq")
    w1 = system.window("w1", 0x40000000, 0x40)
    w2 = system.window("w2", 0x40000100, 0x20)
    drv = system.task("drv", _never_runs, priority=10, budget=2, period=4, refills=2, slots=6)
    sup = system.task("sup", _never_runs, priority=20, budget=1, period=5, refills=2, slots=2)
    parent = system.give(sup, 0, w1)
    device.derive(kernel, drv.obj, parent, RIGHT_READ | RIGHT_WRITE, 0, 1)
    system.give(drv, 2, w2, RIGHT_READ)
    timer = system.irq("timer", 1, irq, badge=1)
    system.give(drv, 3, timer)
    system.give(drv, 4, irq, RIGHT_READ | RIGHT_WRITE)
    system.give(sup, 1, timer)
    alphabet = (
        (
            ("wait", _syscall((SYS_WAIT, 4))),
            ("ack", _syscall((SYS_IRQ_ACK, 3))),
            ("clear", _syscall((SYS_IRQ_CLEAR, 3))),
            ("bind", _syscall((SYS_IRQ_SET_NOTIFICATION, 3, 4))),
            ("copy-w1-ro", _syscall((SYS_CNODE_COPY, 1, 5, RIGHT_READ))),
            ("delete-copy", _syscall((SYS_CNODE_DELETE, 5))),
            ("delete-w2", _syscall((SYS_CNODE_DELETE, 2))),
            ("preempt", PREEMPT),
        ),
        (
            ("revoke-w1", _syscall((SYS_CNODE_REVOKE, 0))),
            ("delete-irq", _syscall((SYS_CNODE_DELETE, 1))),
            ("sleep", _syscall((SYS_SLEEP, 2))),
            ("preempt", PREEMPT),
        ),
    )
    return Spec("devices", system, alphabet, (), (("line1", 1), ("line2", 2)))


def teardown():
    """Objects destroyed under their waiters: the last cap of an endpoint or notification goes
    while threads are queued on it, and a server is restarted while its caller waits.

    An owner `own` (priority 20) holds the only original caps of endpoint `chan` and
    notification `bell` (the builder's are deleted); the caps of `w1` (priority 10) and `w2`
    (12) are derived from them, so `own`'s revoke takes them and its delete then destroys the
    object, waking every thread queued on it with ERR_REVOKED. `w1` and `w2` send, call, receive
    and reply on `chan` and wait on and signal `bell`; `own` may also restart `w2`, abandoning
    whatever call `w2` is serving or making.
    """
    system = _new_system()
    kernel = system.kernel
    chan = system.endpoint("chan")
    bell = system.notification("bell")
    own = system.task("own", _never_runs, priority=20, budget=1, period=4, refills=2, slots=3)
    w1 = system.task("w1", _never_runs, priority=10, budget=2, period=5, refills=2, slots=2)
    w2 = system.task("w2", _never_runs, priority=12, budget=2, period=5, refills=2, slots=2)
    channel_cap = system.give(own, 0, chan)
    bell_cap = system.give(own, 1, bell)
    system.give(own, 2, w2)
    cnode.delete(kernel, chan.original)  # own's caps are the roots of every other one
    cnode.delete(kernel, bell.original)
    for i, task in ((1, w1), (2, w2)):
        cdt.derive(channel_cap, RIGHTS_ALL, i, task.obj.cspace, 0)
        cdt.derive(bell_cap, RIGHT_READ | RIGHT_WRITE, 1 << i, task.obj.cspace, 1)
    # Task indices: own 0, w1 1, w2 2 (creation order).
    alphabet = [
        (
            ("revoke-chan", _syscall((SYS_CNODE_REVOKE, 0))),
            ("delete-chan", _syscall((SYS_CNODE_DELETE, 0))),
            ("revoke-bell", _syscall((SYS_CNODE_REVOKE, 1))),
            ("delete-bell", _syscall((SYS_CNODE_DELETE, 1))),
            ("restart-w2", _syscall((SYS_TCB_RESTART, 2))),
            ("sleep", _syscall((SYS_SLEEP, 2))),
        )
    ]
    for i in (1, 2):
        alphabet.append(
            (
                ("send", send(0, i)),
                ("call", call(0, i)),
                ("recv", recv(0)),
                ("reply", reply(i)),
                ("wait", _syscall((SYS_WAIT, 1))),
                ("signal", _syscall((SYS_SIGNAL, 1))),
                ("preempt", PREEMPT),
            )
        )
    return Spec("teardown", system, tuple(alphabet), ())


def sleepers():
    """Sleeps and timers at both ends of the time range (k5.ticks.TIME_MAX), in every order.

    Three tasks at two priorities (a and b share 10, c has 12) sleep 2 ticks or TIME_MAX, set
    a timer on their notification TIME_MAX ahead, and try the times that wedged the sleep queue
    before the range rule: 2**29 - 1 ahead (the far end of ticks_diff's future) and 2**30 - 8
    ahead (a few ticks "in the past"). The real kernel refuses those two (ERR_RANGE) and keeps
    the whole sleep queue ordered; the clock crosses the 2**30 wrap and many 2**27 steps.
    """
    system = _new_system()
    tasks = (
        system.task("a", _never_runs, priority=10, budget=2, period=5, refills=2, slots=1),
        system.task("b", _never_runs, priority=10, slots=1),
        system.task("c", _never_runs, priority=12, budget=1, period=4, refills=2, slots=1),
    )
    for i in range(3):
        system.give(tasks[i], 0, system.notification("n" + str(i)), RIGHTS_ALL, badge=1)
    alphabet = []
    for i in range(3):
        alphabet.append(
            (
                ("sleep", _syscall((SYS_SLEEP, 2))),
                ("sleep-max", _syscall((SYS_SLEEP, TIME_MAX))),
                ("sleep-far", _syscall((SYS_SLEEP, TICKS_HALF - 1))),
                ("sleep-past", _syscall((SYS_SLEEP, TICKS_PERIOD - 8))),
                ("timer-max", _syscall((SYS_SET_TIMER, 0, TIME_MAX))),
                ("timer-far", _syscall((SYS_SET_TIMER, 0, TICKS_HALF - 1))),
                ("preempt", PREEMPT),
            )
        )
    return Spec("sleepers", system, tuple(alphabet), ())


def donation():
    """A donation chain through two passive servers, with a third party holding their Replies.

    The client `cli` (priority 10, budget 1 in 4) calls the passive server `x` (21), which
    receives through its Reply `rx` and calls the passive server `y` (22), which receives through
    its Reply `ry`: the client's SC runs x, then y (its call stack two deep). The thief `t`
    (priority 5, its own SC: it runs whenever the chain waits for a refill) holds copies of both
    Replies and x's TCB cap, and answers either Reply out of turn, restarts or suspends x. The
    SC must only ever run its home (the client) or the server at the head of its call stack
    (k5/invariants.py check_donation), whatever the order.
    """
    system = _new_system()
    kernel = system.kernel
    ep_x = system.endpoint("ep_x")
    ep_y = system.endpoint("ep_y")
    rx = system.reply("rx")
    ry = system.reply("ry")
    t = system.task("t", _never_runs, priority=5, budget=1, period=3, refills=2, slots=3)
    y = system.task(
        "y", _never_runs, priority=22, budget=1, period=2, refills=2, slots=2, passive=True
    )
    x = system.task(
        "x", _never_runs, priority=21, budget=1, period=2, refills=2, slots=3, passive=True
    )
    cli = system.task("cli", _never_runs, priority=10, budget=1, period=4, refills=2, slots=1)
    system.give(y, 0, ep_y, RIGHT_READ)
    system.give(y, 1, ry)
    system.give(x, 0, ep_x, RIGHT_READ)
    system.give(x, 1, rx)
    system.give(x, 2, ep_y, RIGHT_WRITE | RIGHT_GRANT)
    system.give(cli, 0, ep_x, RIGHT_WRITE | RIGHT_GRANT)
    system.give(t, 0, rx)
    system.give(t, 1, ry)
    system.give(t, 2, x)
    cnode.delete(kernel, rx.original)  # the servers' and the thief's caps are the only ones
    cnode.delete(kernel, ry.original)

    def through(reply_slot, index):
        return _syscall((SYS_REPLY, reply_slot, LABEL_REPLY, (index,), None, NO_SLOT))

    # Task indices: t 0, y 1, x 2, cli 3 (creation order).
    alphabet = (
        (
            ("reply-rx", through(0, 0)),
            ("reply-ry", through(1, 0)),
            ("restart-x", _syscall((SYS_TCB_RESTART, 2))),
            ("suspend-x", _syscall((SYS_TCB_SUSPEND, 2))),
            ("preempt", PREEMPT),
        ),
        (
            ("recv-ry", _syscall((SYS_RECV, 0, NO_SLOT, 1))),
            ("reply-ry", through(1, 1)),
            ("preempt", PREEMPT),
        ),
        (
            ("recv-rx", _syscall((SYS_RECV, 0, NO_SLOT, 1))),
            ("call-y", call(2, 2)),
            ("reply-rx", through(1, 2)),
            ("preempt", PREEMPT),
        ),
        (("call-x", call(0, 3)), ("preempt", PREEMPT)),
    )
    return Spec("donation", system, alphabet, ())


def bindings():
    """Timers and an interrupt line bound through a notification cap that is deleted or revoked.

    The driver `drv` (priority 10) holds two caps to notification `n` derived from its
    supervisor's (badge 1 in slot 0, badge 2 in slot 2: the timer's signals and the line's
    stay apart) and the IRQHandler of line 1: it sets a timer through slot 0, binds the line
    through slot 2, waits, deletes either cap or revokes the line's, or exits. The supervisor
    `sup` (priority 20) sleeps or revokes its cap (taking the driver's). A binding must end with
    the cap it was made through and a timer with its task (k5/invariants.py check_bindings);
    line 1 fires at any point.
    """
    system = _new_system()
    kernel = system.kernel
    n = system.notification("n")
    drv = system.task("drv", _never_runs, priority=10, budget=2, period=4, refills=2, slots=3)
    sup = system.task("sup", _never_runs, priority=20, budget=1, period=5, refills=2, slots=1)
    parent = system.give(sup, 0, n)
    cdt.derive(parent, RIGHT_READ | RIGHT_WRITE, 1, drv.obj.cspace, 0)
    cdt.derive(parent, RIGHT_WRITE, 2, drv.obj.cspace, 2)
    cnode.delete(kernel, n.original)  # sup's cap is the root of drv's
    line = system.irq("line1", 1)
    system.give(drv, 1, line)
    # Task indices: drv 0, sup 1 (creation order).
    alphabet = (
        (
            ("set-timer", _syscall((SYS_SET_TIMER, 0, 3))),
            ("bind-line", _syscall((SYS_IRQ_SET_NOTIFICATION, 1, 2))),
            ("ack", _syscall((SYS_IRQ_ACK, 1))),
            ("wait", _syscall((SYS_WAIT, 0))),
            ("delete-timer-cap", _syscall((SYS_CNODE_DELETE, 0))),
            ("delete-line-cap", _syscall((SYS_CNODE_DELETE, 2))),
            ("revoke-line-cap", _syscall((SYS_CNODE_REVOKE, 2))),
            ("exit", EXIT),
        ),
        (
            ("sleep", _syscall((SYS_SLEEP, 2))),
            ("revoke-n", _syscall((SYS_CNODE_REVOKE, 0))),
            ("preempt", PREEMPT),
        ),
    )
    return Spec("bindings", system, alphabet, (), (("line1", 1),))


SYSTEMS = {
    "bindings": bindings,
    "core": core,
    "donation": donation,
    "devices": devices,
    "leases": leases,
    "replies": replies,
    "sched": sched,
    "sleepers": sleepers,
    "teardown": teardown,
}


def build(name):
    if name not in SYSTEMS:
        raise ValueError("unknown system %r (known: %s)" % (name, ", ".join(sorted(SYSTEMS))))
    return SYSTEMS[name]()
