"""Hypothesis stateful test: random syscalls from several tasks, invariants."""

import os

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import k5
from k5 import abi as A
from k5.kernel import KernelPanic
from k5.system import System
from k5.ticks import TICKS_PERIOD, ticks_diff
from tools.verify import invariants

# The clock starts shortly before the 2**30 wrap, so most runs cross it.
START = TICKS_PERIOD - 150

# Per run: 300 examples x up to 50 steps (each step queues syscalls and runs 1-30 ticks).
MAX_EXAMPLES = 300
if "MUTANT_UNDER_TEST" in os.environ:
    MAX_EXAMPLES = 60  # mutation testing (make mutate) runs the suite once per mutant
STEPS = 50

SEND_LABEL = 1
REPLY_LABEL = 2
TASKS = 5
SLOTS = 8

GARBAGE = st.one_of(
    st.none(),
    st.integers(-(2**70), 2**70),
    st.text(max_size=5),
    st.binary(max_size=200),
    st.booleans(),
    st.floats(allow_nan=True),
    st.tuples(st.integers(), st.text(max_size=2)),
    st.lists(st.integers(-5, 5), max_size=10),
)
IDLE_SLOT = 7  # each puppet waits on its own notification here when it has nothing to do
SLOT_VALUES = st.sampled_from([-1, 0, 1, 2, 3, 4, 5, 6, 8, 9])
SLOT = st.one_of(SLOT_VALUES, GARBAGE)


class Puppet:
    """Test-side state of one task: commands to issue, results seen."""

    def __init__(self, name):
        self.name = name
        self.commands = []
        self.results = []


def puppet_body(machine, puppet):
    def body(ipc, arg):
        while True:
            if not puppet.commands:
                k5.trap((A.SYS_WAIT, IDLE_SLOT))
                continue
            kind, request, ident = puppet.commands.pop(0)
            result = k5.trap(request)
            machine.on_result(puppet, kind, ident, result, ipc)

    return body


class KernelMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.system = System(debug=False, start_time=START)
        kernel = self.system.kernel
        kernel.usage_log = []
        kernel.delivery_log = []
        self.kernel = kernel
        self.endpoint = self.system.endpoint("ep")
        self.ntfn = self.system.notification("n")
        self.puppets = []
        self.next_id = 1
        self.sent = {}  # id -> "ok" | "pending" | "error"
        self.delivered = []
        self.checked_until = {}
        configs = [
            (10, 3, 3),  # priority, budget, period (round robin)
            (20, 2, 7),  # sporadic
            (20, 3, 11),  # sporadic, same priority
            (5, 5, 5),
            (25, 4, 4),  # passive after its first blocking recv: runs on donated SCs
        ]
        for i in range(TASKS):
            puppet = Puppet("p%d" % i)
            priority, budget, period = configs[i]
            task = self.system.task(
                puppet.name,
                puppet_body(self, puppet),
                priority=priority,
                mcp=30,
                budget=budget,
                period=period,
                refills=3,
                slots=SLOTS,
                passive=i == 4,
            )
            puppet.task = task
            self.puppets.append(puppet)
        for i, puppet in enumerate(self.puppets):
            task = puppet.task
            self.system.give(task, 0, self.endpoint)
            self.system.give(task, 1, self.endpoint, A.RIGHT_WRITE | A.RIGHT_GRANT, badge=i + 1)
            self.system.give(task, 2, self.ntfn, A.RIGHTS_ALL, badge=1 << i)
            neighbour = self.puppets[(i + 1) % TASKS].task
            self.system.give(task, 3, neighbour)
            self.system.give(task, 5, self.system.sched_control())
            self.system.give(task, 6, neighbour.sc)
            puppet.idle = self.system.notification("idle%d" % i)
            self.system.give(task, IDLE_SLOT, puppet.idle, A.RIGHT_READ)

    # --- bookkeeping called from the task bodies -------------------------------------------

    def on_result(self, puppet, kind, ident, result, ipc):
        if ident:
            if result == A.OK and kind == "nbsend":
                # seL4: an nbsend nobody waited for is dropped silently (also OK).
                self.sent[ident] = "maybe"
            elif result == A.OK and kind in ("send", "call"):
                self.sent[ident] = "ok"
            elif kind in ("send", "nbsend", "call") and self.sent.get(ident) == "pending":
                self.sent[ident] = "error"
        if result == A.OK and kind in ("recv", "nbrecv", "reply_recv", "call"):
            if ipc.source == A.SOURCE_ENDPOINT and ipc.count >= 1:
                if ipc.label in (SEND_LABEL, REPLY_LABEL):
                    self.delivered.append(ipc.words[0])
        if kind == "reply" and ident:
            self.sent[ident] = "ok" if result == A.OK else "error"
        elif kind == "reply_recv" and ident:
            # OK says the receive worked; the reply part is silent when there was no caller.
            self.sent[ident] = "maybe"

    def new_id(self):
        ident = self.next_id
        self.next_id += 1
        self.sent[ident] = "pending"
        return ident

    def issue(self, index, kind, request, ident=0):
        puppet = self.puppets[index % TASKS]
        puppet.commands.append((kind, request, ident))
        # A command arrives like an interrupt: signal the puppet's idle notification.
        self.system.signal(puppet.idle, 1)

    def teardown(self):
        # Each example builds a new system: end its task threads with it.
        self.system.close()

    def run(self, ticks):
        try:
            self.kernel.run(ticks)
        except KernelPanic as panic:
            raise AssertionError("kernel exception: " + str(panic))

    # --- rules -----------------------------------------------------------------------------

    @rule(
        index=st.integers(0, TASKS - 1),
        kind=st.sampled_from(["send", "nbsend", "call"]),
        slot=st.integers(0, 2),
        cap=SLOT_VALUES,
        ticks=st.integers(1, 12),
    )
    def do_send(self, index, kind, slot, cap, ticks):
        ident = self.new_id()
        sysno = {"send": A.SYS_SEND, "nbsend": A.SYS_NBSEND, "call": A.SYS_CALL}[kind]
        request = (sysno, slot, SEND_LABEL, (ident,), b"x", cap)
        if kind == "call":
            request = request + (5,)
        self.issue(index, kind, request, ident)
        self.run(ticks)

    @rule(
        index=st.integers(0, TASKS - 1),
        kind=st.sampled_from(["recv", "nbrecv"]),
        slot=st.integers(0, 2),
        recv_slot=SLOT_VALUES,
        ticks=st.integers(1, 12),
    )
    def do_recv(self, index, kind, slot, recv_slot, ticks):
        sysno = A.SYS_RECV if kind == "recv" else A.SYS_NBRECV
        self.issue(index, kind, (sysno, slot, recv_slot))
        self.run(ticks)

    @rule(
        server=st.integers(0, TASKS - 1),
        client=st.integers(0, TASKS - 1),
        kind=st.sampled_from(["send", "call"]),
        ticks=st.integers(1, 12),
    )
    def do_exchange(self, server, client, kind, ticks):
        # A rendezvous more likely to meet: one receives while another sends or calls.
        self.issue(server, "recv", (A.SYS_RECV, 0, 5))
        ident = self.new_id()
        if kind == "call":
            request = (A.SYS_CALL, 1, SEND_LABEL, (ident,), None, 2, 6)
        else:
            request = (A.SYS_SEND, 1, SEND_LABEL, (ident,), None, 2)
        self.issue(client, kind, request, ident)
        self.run(ticks)
        if kind == "call":
            reply_ident = self.new_id()
            self.issue(
                server,
                "reply",
                (A.SYS_REPLY, -1, REPLY_LABEL, (reply_ident,), None, -1),
                reply_ident,
            )
            self.run(ticks)

    @rule(index=st.integers(0, TASKS - 1), both=st.booleans(), ticks=st.integers(1, 12))
    def do_reply(self, index, both, ticks):
        ident = self.new_id()
        if both:
            self.issue(
                index,
                "reply_recv",
                (A.SYS_REPLY_RECV, 0, REPLY_LABEL, (ident,), None, -1, -1),
                ident,
            )
        else:
            self.issue(index, "reply", (A.SYS_REPLY, -1, REPLY_LABEL, (ident,), None, -1), ident)
        self.run(ticks)

    @rule(
        index=st.integers(0, TASKS - 1),
        kind=st.sampled_from([A.SYS_SIGNAL, A.SYS_WAIT, A.SYS_POLL, A.SYS_YIELD]),
        ticks=st.integers(1, 12),
    )
    def do_notification(self, index, kind, ticks):
        request = (kind,) if kind == A.SYS_YIELD else (kind, 2)
        self.issue(index, "ntfn", request)
        self.run(ticks)

    @rule(
        index=st.integers(0, TASKS - 1),
        kind=st.sampled_from(
            [
                A.SYS_CNODE_COPY,
                A.SYS_CNODE_MINT,
                A.SYS_CNODE_MOVE,
                A.SYS_CNODE_MUTATE,
                A.SYS_CNODE_DELETE,
                A.SYS_CNODE_REVOKE,
                A.SYS_CNODE_IDENTIFY,
            ]
        ),
        src=SLOT_VALUES,
        dest=SLOT_VALUES,
        rights=st.integers(-1, 16),
        badge=st.integers(0, 8),
        ticks=st.integers(1, 6),
    )
    def do_cnode(self, index, kind, src, dest, rights, badge, ticks):
        if kind in (A.SYS_CNODE_DELETE, A.SYS_CNODE_REVOKE, A.SYS_CNODE_IDENTIFY):
            request = (kind, src)
        elif kind == A.SYS_CNODE_MOVE:
            request = (kind, src, dest)
        elif kind == A.SYS_CNODE_COPY:
            request = (kind, src, dest, rights)
        else:
            request = (kind, src, dest, rights, badge)
        self.issue(index, "cnode", request)
        self.run(ticks)

    @rule(
        index=st.integers(0, TASKS - 1),
        kind=st.sampled_from(
            [
                A.SYS_TCB_SET_PRIORITY,
                A.SYS_TCB_SUSPEND,
                A.SYS_TCB_RESUME,
                A.SYS_TCB_RESTART,
                A.SYS_TCB_INFO,
            ]
        ),
        value=st.integers(-1, 40),
        ticks=st.integers(1, 6),
    )
    def do_tcb(self, index, kind, value, ticks):
        if kind == A.SYS_TCB_SET_PRIORITY:
            request = (kind, 3, value)
        else:
            request = (kind, 3)
        self.issue(index, "tcb", request)
        self.run(ticks)

    @rule(
        index=st.integers(0, TASKS - 1),
        sysno=st.one_of(st.integers(-3, 70), GARBAGE),
        args=st.lists(st.one_of(SLOT, GARBAGE), max_size=7),
        ticks=st.integers(1, 4),
    )
    def do_garbage(self, index, sysno, args, ticks):
        self.issue(index, "garbage", tuple([sysno] + args))
        self.run(ticks)

    @rule(index=st.integers(0, TASKS - 1), value=GARBAGE, ticks=st.integers(1, 4))
    def do_not_a_tuple(self, index, value, ticks):
        self.issue(index, "garbage", value)
        self.run(ticks)

    @rule(index=st.integers(0, TASKS - 1), spin=st.integers(1, 20), ticks=st.integers(1, 12))
    def do_spin(self, index, spin, ticks):
        self.issue(index, "spin", (A.SYS_SPIN, spin))
        self.run(ticks)

    @rule(
        index=st.integers(0, TASKS - 1),
        kind=st.sampled_from(["configure", "bind", "unbind", "consumed"]),
        budget=st.integers(0, 8),
        extra=st.integers(0, 12),
        refills=st.integers(1, 5),
        ticks=st.integers(1, 12),
    )
    def do_sched_context(self, index, kind, budget, extra, refills, ticks):
        # Slot 5: SchedControl, slot 6: the neighbour's SC, slot 3: the neighbour's TCB.
        if kind == "configure":
            request = (A.SYS_SC_CONFIGURE, 5, 6, budget, budget + extra, refills)
        elif kind == "bind":
            request = (A.SYS_SC_BIND, 6, 3)
        elif kind == "unbind":
            request = (A.SYS_SC_UNBIND, 6)
        else:
            request = (A.SYS_SC_CONSUMED, 6)
        self.issue(index, "sc", request)
        self.run(ticks)

    @rule(ticks=st.integers(1, 30))
    def do_run(self, ticks):
        self.run(ticks)

    # --- invariants (the checkers are shared with the explorer: tools/verify/invariants.py) --

    def objects(self):
        return [ref.obj for ref in self.system.refs]

    @invariant()
    def kernel_invariants(self):
        # Includes: current is the highest-priority runnable thread, queue/state agreement,
        # bitmap, release order, refill sums, cnode back links, rights monotonic.
        invariants.kernel_structures(self.kernel, self.objects())

    @invariant()
    def rights_never_grow(self):
        invariants.rights_never_grow([puppet.task.obj.cspace for puppet in self.puppets])

    @invariant()
    def blocked_threads_in_exactly_one_queue(self):
        kernel = self.kernel
        tcbs = [puppet.task.obj for puppet in self.puppets]
        invariants.one_queue_per_thread(
            kernel, tcbs, invariants.all_queues(kernel, self.objects())
        )

    @invariant()
    def running_thread_has_budget(self):
        invariants.running_has_budget(self.kernel)

    @invariant()
    def released_on_time(self):
        # (Holds after each kernel step; before the first, the builder has queued threads.)
        if self.kernel.traps > 0:
            invariants.released_on_time(self.kernel)

    @invariant()
    def no_orphaned_waiter(self):
        invariants.no_orphaned_waiter([puppet.task.obj for puppet in self.puppets])

    @invariant()
    def no_message_lost_or_duplicated(self):
        # Kernel side: every transfer of a test message, in order.
        transferred = [
            word
            for _, label, word in self.kernel.delivery_log
            if label in (SEND_LABEL, REPLY_LABEL)
        ]
        assert len(transferred) == len(set(transferred)), "message delivered twice"
        for ident in transferred:
            assert ident in self.sent, "delivered a message nobody sent"
        seen = set(transferred)
        for ident, status in self.sent.items():
            if status == "ok":
                assert ident in seen, "message %d lost" % ident
        # Task side: what the tasks read is a subset, each message at most once (a task that
        # is restarted before it reads its message never sees it).
        delivered = self.delivered
        assert len(delivered) == len(set(delivered)), "message read twice"
        assert set(delivered) <= seen, "a task read a message that was never transferred"

    @invariant()
    def budget_per_period(self):
        log = self.kernel.usage_log
        by_sc = {}
        for sc, start, end, _ in log:
            interval = (ticks_diff(start, START), ticks_diff(end, START))
            by_sc.setdefault(sc.oid, (sc, []))[1].append(interval)
        for oid, (sc, intervals) in by_sc.items():
            if sc.is_round_robin():
                continue
            # Reconfiguring resets the refills: only check what ran since then.
            configured = ticks_diff(sc.configured_at, START)
            intervals = [(s, e) for s, e in intervals if s >= configured]
            since = self.checked_until.get(oid, 0)
            invariants.budget_in_window(sc, intervals, since)
            if intervals:
                self.checked_until[oid] = max(0, intervals[-1][0] - sc.period)


KernelMachine.TestCase.settings = settings(
    max_examples=MAX_EXAMPLES, stateful_step_count=STEPS, deadline=None
)
TestKernelMachine = KernelMachine.TestCase
