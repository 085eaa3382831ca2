"""Scenario: seL4 semantics of issue 8, each checked by what the tasks observe."""

# Every part builds a small system driven by syscalls alone (no spins, no timeslices), so the
# outcome is the same on CPython, the MicroPython unix port and the board. Each check prints
# "check NAME: ok" or "check NAME: FAIL ..."; tests/kernel/test_scenarios.py requires all of
# them to pass on both interpreters and tests/target compares the board's trace with CPython's.

import sys

try:
    sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../.." if "/" in __file__ else "../..")
except NameError:
    pass  # run on a board (mpremote run): k5 is frozen into the firmware

import k5  # noqa: E402
from k5 import abi as A  # noqa: E402
from k5.system import System  # noqa: E402

results = [0, 0]


def note(value):
    """A task's observation, for the expect() that follows. Tasks share no object with this
    script (on the board each has its own namespace), so it goes to the console, where the tests
    pair it with the expectation (tests/conftest.py: expectations). print(), not k5.puts(): a
    syscall would spend the budget some parts measure (the board prefixes the task's name)."""
    print("log %r" % (value,))


def expect(name, expected):
    """The next len(expected) observations of the tasks must be `expected`."""
    print("expect %s %r" % (name, expected))


def check(name, got, expected):
    if got == expected:
        results[0] += 1
        print("check %s: ok" % name)
    else:
        results[1] += 1
        print("check %s: FAIL got %r expected %r" % (name, got, expected))


# Systems that ran, closed once their part has checked them (on the board closing a system
# destroys its objects, so the checks come first).
_ran = []


def run(system):
    system.run(2000)
    _ran.append(system)


# --- yield: checks its arguments and never raises a timeout fault -----------------------------


def part_yield():

    def sporadic(ipc, arg):
        note(k5.trap((A.SYS_YIELD, 1)))
        note(k5.trap((A.SYS_YIELD, None, None)))
        for _ in range(3):
            note(k5.yield_())  # each gives up the head refill: it waits for the next
        k5.signal(2)

    def observer(ipc, arg):
        k5.wait(3)
        note(k5.nbrecv(1))  # a timeout fault would be waiting here
        k5.tcb_info(2)
        note((ipc.words[0], ipc.words[4]))  # state, faults

    system = System()
    handler = system.endpoint("timeouts")
    done = system.notification("done")
    s = system.task("sporadic", sporadic, priority=20, budget=3, period=20)
    o = system.task("observer", observer, priority=5)
    system.timeout_handler(s, handler)
    system.give(s, 2, done)
    system.give(o, 1, handler)
    system.give(o, 2, s)
    system.give(o, 3, done)
    run(system)
    expect("yield_argument_count", [A.ERR_INVALID_ARGUMENT, A.ERR_INVALID_ARGUMENT])
    expect("yield_ok", [A.OK, A.OK, A.OK])
    expect("yield_no_timeout_fault", [A.ERR_WOULD_BLOCK, (A.STATE_EXITED, 0)])


# --- argument counts of the other thread syscalls ------------------------------------------------


def part_argument_counts():

    def body(ipc, arg):
        note(k5.trap((A.SYS_EXIT, 1, 2)))
        note(k5.trap((A.SYS_EXIT, "x")))
        note(k5.trap((A.SYS_SLEEP,)))
        note(k5.trap((A.SYS_NBSEND_RECV, 1)))
        note(k5.trap((A.SYS_CNODE_CANCEL_BADGED_SENDS,)))
        note(k5.trap((A.SYS_RECV, 1, -1, -1, 0)))
        note(k5.trap((A.SYS_REPLY_RECV, 1, 0, (), None, -1, -1, -1, 0)))

    system = System()
    ep = system.endpoint("ep")
    t = system.task("t", body, priority=1)
    system.give(t, 1, ep)
    run(system)
    expect("argument_counts", [A.ERR_INVALID_ARGUMENT] * 7)


# --- nbsend drops silently -----------------------------------------------------------------------


def part_nbsend():

    def sender(ipc, arg):
        note(k5.nbsend(1, 3, (1,)))

    def receiver(ipc, arg):
        note(k5.nbrecv(1))
        note(k5.nbsend(1, 4, (2,)))  # itself: still nobody waiting

    system = System()
    ep = system.endpoint("ep")
    s = system.task("s", sender, priority=20)
    r = system.task("r", receiver, priority=10)
    system.give(s, 1, ep)
    system.give(r, 1, ep)
    run(system)
    expect("nbsend_dropped_silently", [A.OK, A.ERR_WOULD_BLOCK, A.OK])


# --- endpoint queues ordered by priority, FIFO among equals, reordered on a priority change ------


def part_priority_queue():

    def client(ipc, arg):
        k5.send(1, 0, (arg,))

    def server(ipc, arg):
        # Lowest priority: each client it resumes runs at once and blocks in send, lowest
        # priorities first (a FIFO queue would keep this order).
        for slot in range(2, 8):
            k5.tcb_resume(slot)
        note(k5.tcb_set_priority(5, 25))  # c10b moves to the head
        for _ in range(6):
            k5.recv(1)
            note(ipc.words[0])

    system = System()
    ep = system.endpoint("ep")
    s = system.task("server", server, priority=1, mcp=30)
    system.give(s, 1, ep)
    slot = 2
    for name, priority, arg in (
        ("c5", 5, 3),
        ("c10a", 10, 1),
        ("c15", 15, 2),
        ("c10b", 10, 4),
        ("c20", 20, 5),
        ("c10c", 10, 6),
    ):
        c = system.task(name, client, priority=priority, arg=arg, start=False)
        system.give(c, 1, ep)
        system.give(s, slot, c)
        slot += 1
    run(system)
    expect("priority_ordered_queue", [A.OK, 4, 5, 2, 1, 6, 3])


# --- MCS Reply objects: a server holds two callers and replies out of order ---------------------


def part_reply_objects():

    def client(ipc, arg):
        err = k5.call(1, 0, (arg,))
        note(("reply", arg, err, ipc.word_tuple()))

    def server(ipc, arg):
        k5.recv(1, reply=2)
        first = ipc.words[0]
        k5.recv(1, reply=3)
        second = ipc.words[0]
        note(("held", first, second))
        note(("wrong type", k5.reply(0, (0,), reply=1)))
        note(("second first", k5.reply(0, (second + 1,), reply=3)))
        note(("first", k5.reply(0, (first + 1,), reply=2)))
        note(("used", k5.reply(0, (0,), reply=2)))
        note(("implicit none", k5.reply(0, (0,))))

    system = System()
    ep = system.endpoint("ep")
    r1 = system.reply("r1")
    r2 = system.reply("r2")
    a = system.task("a", client, priority=20, arg=100)
    b = system.task("b", client, priority=19, arg=200)
    s = system.task("server", server, priority=10)
    system.give(a, 1, ep)
    system.give(b, 1, ep)
    system.give(s, 1, ep)
    system.give(s, 2, r1)
    system.give(s, 3, r2)
    run(system)
    expect(
        "reply_objects_out_of_order",
        [
            ("held", 100, 200),
            ("wrong type", A.ERR_WRONG_TYPE),
            ("reply", 200, A.OK, (201,)),
            ("second first", A.OK),
            ("reply", 100, A.OK, (101,)),
            ("first", A.OK),
            ("used", A.ERR_NO_REPLY),
            ("implicit none", A.ERR_NO_REPLY),
        ],
    )


def part_passive_reply_objects():
    # A passive server runs on each caller's SC; reply_recv through one reply object.

    def client(ipc, arg):
        for i in range(2):
            err = k5.call(1, 0, (arg + i,))
            note((arg, err, ipc.word_tuple()))

    def server(ipc, arg):
        k5.recv(1, reply=2)
        while True:
            k5.reply_recv(1, 0, (ipc.words[0] * 2,), reply=2)

    system = System()
    ep = system.endpoint("ep")
    r = system.reply("r")
    a = system.task("a", client, priority=10, arg=10)
    s = system.task("server", server, priority=20, passive=True)
    system.give(a, 1, ep)
    system.give(s, 1, ep)
    system.give(s, 2, r)
    run(system)
    expect("passive_server_reply_object", [(10, A.OK, (20,)), (10, A.OK, (22,))])
    check(
        "passive_server_has_no_sc",
        not system.info(s)["has_sc"] and system.info(a)["has_sc"],
        True,
    )


# --- object destruction and Untyped refunds ------------------------------------------------------

UNTYPED = 1
CONTROL = 2
EP = 3
WORKER = 4
WORKER_SC = 5
NTFN = 6
REPLY = 7


def part_destruction():

    def worker(ipc, arg):
        note(("worker recv", k5.recv(1)))
        note(("worker after", ipc.words[0]))

    def sender(ipc, arg):
        note(("sender", k5.send(1, 0, (1,))))

    def root(ipc, arg):
        for kind, slot in (
            (A.TYPE_ENDPOINT, EP),
            (A.TYPE_TCB, WORKER),
            (A.TYPE_SCHED_CONTEXT, WORKER_SC),
            (A.TYPE_NOTIFICATION, NTFN),
        ):
            note(("retype", k5.untyped_retype(UNTYPED, kind, slot)))
        note(("full", k5.untyped_retype(UNTYPED, A.TYPE_ENDPOINT, 9)))
        k5.tcb_configure(WORKER, worker, None, 15, 4, "worker")
        k5.tcb_copy_cap(WORKER, EP, 1, A.RIGHT_READ)
        k5.sc_configure(CONTROL, WORKER_SC, 5, 5, 2)
        k5.sc_bind(WORKER_SC, WORKER)
        k5.tcb_resume(WORKER)  # runs (priority 15) and blocks in recv on EP
        # Deleting the root's endpoint cap is not the last: the worker still waits.
        k5.delete(EP)
        note(("worker state", k5.tcb_info(WORKER), ipc.words[0]))
        # Deleting the worker's last cap destroys it: it leaves the endpoint's queue.
        k5.delete(WORKER)
        note(("worker gone", k5.tcb_info(WORKER)))
        # The worker's CSpace went with it, so did the endpoint (its last cap): refunds.
        note(("refund", k5.untyped_retype(UNTYPED, A.TYPE_ENDPOINT, EP)))
        note(("refund", k5.untyped_retype(UNTYPED, A.TYPE_TCB, WORKER)))
        note(("no more", k5.untyped_retype(UNTYPED, A.TYPE_TCB, 10)))
        # Revoking the Untyped destroys everything made from it and refunds the whole quota.
        note(("revoke", k5.revoke(UNTYPED)))
        for slot in (EP, WORKER, WORKER_SC, NTFN):
            note(("empty", k5.identify(slot)))
        for slot in (EP, WORKER, WORKER_SC, NTFN):
            note(("again", k5.untyped_retype(UNTYPED, A.TYPE_ENDPOINT, slot)))

    system = System()
    untyped = system.untyped("ut", 4)
    r = system.task("root", root, priority=10, mcp=20, slots=12)
    system.give(r, UNTYPED, untyped)
    system.give(r, CONTROL, system.sched_control())
    run(system)
    alive = system.threads()
    expect(
        "destroy_and_refund",
        [("retype", A.OK)] * 4
        + [
            ("full", A.ERR_NOT_ENOUGH_MEMORY),
            ("worker state", A.OK, A.STATE_BLOCKED_RECV),
            ("worker gone", A.ERR_EMPTY_SLOT),
            ("refund", A.OK),
            ("refund", A.OK),
            ("no more", A.ERR_NOT_ENOUGH_MEMORY),
            ("revoke", A.OK),
        ]
        + [("empty", A.ERR_EMPTY_SLOT)] * 4
        + [("again", A.OK)] * 4,
    )
    check("destroyed_thread_gone", alive, ["root"])
    check("quota_all_used_again", system.info(untyped)["remaining"], 0)


def part_destroy_wakes_queued():
    # The last cap of an endpoint and of a reply go while threads wait on them.

    def waiter(ipc, arg):
        note(("waiter", k5.recv(1)))

    def caller(ipc, arg):
        note(("caller", k5.call(1, 0, (5,))))

    def server(ipc, arg):
        k5.untyped_retype(1, A.TYPE_REPLY, 3)
        k5.recv(2, reply=3)
        note(("server got", ipc.words[0]))
        k5.delete(3)  # the reply's last cap: the caller learns no reply will come
        note(("server", "deleted reply"))

    def root(ipc, arg):
        k5.untyped_retype(1, A.TYPE_ENDPOINT, 2)
        k5.tcb_copy_cap(3, 2, 1, A.RIGHT_READ)
        k5.tcb_resume(3)  # the waiter blocks in recv through its copy
        k5.tcb_copy_cap(3, 2, 2, A.RIGHT_READ)
        note(("root", k5.revoke(2)))  # both copies go, the waiter's with them
        note(("root", k5.delete(2)))  # the last cap: the endpoint is destroyed

    system = System()
    untyped = system.untyped("ut", 2)
    r = system.task("root", root, priority=10)
    w = system.task("waiter", waiter, priority=20, start=False)
    system.give(r, 1, untyped)
    system.give(r, 3, w)
    run(system)
    expect(
        "endpoint_revoked_wakes_receiver",
        [("waiter", A.ERR_REVOKED), ("root", A.OK), ("root", A.OK)],
    )
    check("endpoint_refunded", system.info(untyped)["remaining"], 2)

    system = System()
    untyped = system.untyped("ut", 1)
    ep = system.endpoint("ep")
    s = system.task("server", server, priority=5)
    c = system.task("caller", caller, priority=10)
    system.give(s, 1, untyped)
    system.give(s, 2, ep)
    system.give(c, 1, ep)
    run(system)
    expect(
        "reply_destroyed_wakes_caller",
        [("server got", 5), ("caller", A.ERR_NO_REPLY), ("server", "deleted reply")],
    )
    check("reply_refunded", system.info(untyped)["remaining"], 1)


def part_sc_destroyed():

    def worker(ipc, arg):
        while True:
            note(("worker", k5.wait(1)))

    def root(ipc, arg):
        k5.untyped_retype(1, A.TYPE_SCHED_CONTEXT, 3)
        k5.sc_configure(2, 3, 5, 5, 2)
        note(("bind", k5.sc_bind(3, 4)))
        k5.tcb_resume(4)
        k5.signal(5)
        note(("delete sc", k5.delete(3)))
        k5.signal(5)  # the worker is woken but has no SC: it cannot run
        note(("root", "done"))

    system = System()
    untyped = system.untyped("ut", 1)
    n = system.notification("n")
    r = system.task("root", root, priority=10)
    w = system.task("worker", worker, priority=20, start=False)
    system.unbind_sc(w)
    system.give(r, 1, untyped)
    system.give(r, 2, system.sched_control())
    system.give(r, 4, w)
    system.give(r, 5, n)
    system.give(w, 1, n)
    run(system)
    expect(
        "sc_destroyed_unbinds",
        [("bind", A.OK), ("worker", A.OK), ("delete sc", A.OK), ("root", "done")],
    )
    check("sc_refunded", (system.info(untyped)["remaining"], system.info(w)["has_sc"]), (1, False))


# --- CancelBadgedSends ---------------------------------------------------------------------------


def part_cancel_badged_sends():

    def sender(ipc, arg):
        note(("sender", arg, k5.send(1, 0, (arg,))))

    def canceller(ipc, arg):
        note(("unbadged", k5.cancel_badged_sends(1)))
        note(("mint", k5.mint(1, 2, A.RIGHTS_ALL, 7)))
        note(("no rights", k5.cancel_badged_sends(3)))
        note(("cancel", k5.cancel_badged_sends(2)))
        note(("recv", k5.nbrecv(1), ipc.badge, ipc.words[0]))
        note(("none left", k5.nbrecv(1)))

    system = System()
    ep = system.endpoint("ep")
    s7 = system.task("s7", sender, priority=20, arg=7)
    s8 = system.task("s8", sender, priority=20, arg=8)
    c = system.task("canceller", canceller, priority=10)
    system.give(s7, 1, ep, A.RIGHT_WRITE, 7)
    system.give(s8, 1, ep, A.RIGHT_WRITE, 8)
    system.give(c, 1, ep)
    system.give(c, 3, ep, A.RIGHT_WRITE, 7)
    run(system)
    expect(
        "cancel_badged_sends",
        [
            ("unbadged", A.OK),
            ("mint", A.OK),
            ("no rights", A.ERR_RIGHTS),
            ("sender", 7, A.ERR_REVOKED),
            ("cancel", A.OK),
            ("sender", 8, A.OK),
            ("recv", A.OK, 8, 8),
            ("none left", A.ERR_WOULD_BLOCK),
        ],
    )


# --- an SC bound to a notification runs the passive thread it wakes ------------------------------


def part_sc_on_notification():

    def passive(ipc, arg):
        while True:
            err = k5.wait(1)
            note(("woken", err, ipc.badge))

    def root(ipc, arg):
        # The passive thread waits already (it ran first); take its SC and give it to the
        # notification.
        note(("unbind", k5.sc_unbind(3)))
        note(("bind", k5.sc_bind(3, 2)))
        note(("bind twice", k5.sc_bind(3, 2)))
        k5.signal(2)
        note(("root", "signalled"))
        k5.signal(2)
        note(("root", "again"))

    system = System()
    n = system.notification("n")
    p = system.task("passive", passive, priority=20)
    r = system.task("root", root, priority=10)
    system.give(p, 1, n, A.RIGHT_READ)
    system.give(r, 2, n, A.RIGHT_WRITE, 4)
    system.give(r, 3, p.sc)
    run(system)
    expect(
        "sc_bound_to_notification",
        [
            ("unbind", A.OK),
            ("bind", A.OK),
            ("bind twice", A.ERR_ILLEGAL_OPERATION),
            ("woken", A.OK, 4),
            ("root", "signalled"),
            ("woken", A.OK, 4),
            ("root", "again"),
        ],
    )
    check(
        "sc_returned_to_notification",
        (system.info(p)["has_sc"], system.info(p.sc)["bound"]),
        (False, False),
    )


# --- badge unwrapping and NBSendRecv -------------------------------------------------------------


def part_unwrap_and_nbsend_recv():

    def client(ipc, arg):
        k5.mint(1, 3, A.RIGHT_WRITE, 9)
        k5.send(1, 0, (1,), None, 3)  # a cap of the receiver's own endpoint: unwrapped
        k5.send(1, 0, (2,), None, 2)  # another endpoint's cap: transferred

    def server(ipc, arg):
        k5.recv(1, 5)
        note(("unwrapped", ipc.words[0], ipc.unwrapped, ipc.cap))
        k5.recv(1, 5)
        note(("transferred", ipc.words[0], ipc.unwrapped, ipc.cap))
        # nbsend to the listener (waiting on endpoint 2), then wait on endpoint 1.
        err = k5.nbsend_recv(5, 0, (3,), None, -1, 1, -1, -1)
        note(("nbsend_recv", err, ipc.badge, ipc.words[0]))

    def listener(ipc, arg):
        k5.recv(1)
        note(("listener", ipc.words[0]))
        k5.send(2, 0, (4,))

    system = System()
    ep = system.endpoint("ep")
    other = system.endpoint("other")
    c = system.task("client", client, priority=10)
    s = system.task("server", server, priority=20, slots=8)
    li = system.task("listener", listener, priority=30)
    system.give(c, 1, ep, A.RIGHT_WRITE | A.RIGHT_GRANT)
    system.give(c, 2, other, A.RIGHT_WRITE)
    system.give(s, 1, ep, A.RIGHT_READ)
    system.give(li, 1, other, A.RIGHT_READ)
    system.give(li, 2, ep, A.RIGHT_WRITE, 11)
    run(system)
    expect(
        "unwrap_and_nbsend_recv",
        [
            ("unwrapped", 1, 9, A.NO_SLOT),
            ("transferred", 2, -1, 5),
            ("listener", 3),
            ("nbsend_recv", A.OK, 11, 4),
        ],
    )


# --- leases: a caller lends a buffer for one call ------------------------------------------------


def part_leases():
    def pattern():
        data = bytearray(4096)
        for i in range(4096):
            data[i] = i * 7 & 255
        return data

    def client(ipc, arg):
        sensor = pattern()  # the client's own buffer, lent to the server for one call
        err = k5.call(1, 1, (), None, -1, -1, sensor)  # read and write
        note(("call", err, ipc.words[0], bytes(sensor[10:12]), sensor[12], sensor[9]))
        readonly = bytearray(b"abc")
        err = k5.call(1, 2, (), None, -1, -1, readonly, A.RIGHT_READ)
        note(("readonly", err, ipc.words[0], bytes(readonly)))
        note(("bad lease", k5.call(1, 3, (), None, -1, -1, b"bytes")))
        note(("bad rights", k5.call(1, 3, (), None, -1, -1, readonly, 4)))

    def server(ipc, arg):
        mine = bytearray(4096)
        k5.recv(1, reply=2)
        note(("info", k5.borrow_info(2), ipc.words[0], ipc.words[1]))
        err = k5.borrow_read(0, mine, 2)
        total = 0
        for byte in mine:
            total += byte
        note(("read", err, ipc.words[0], total == sum(pattern())))
        note(("write", k5.borrow_write(10, b"OK", 2)))
        note(("beyond", k5.borrow_write(4095, b"no", 2)))
        note(("offset", k5.borrow_read(5000, mine, 2)))
        note(("implicit none", k5.borrow_info()))
        k5.reply(0, (1,), reply=2)
        note(("after reply", k5.borrow_info(2)))
        k5.recv(1)  # the implicit reply this time
        small = bytearray(2)
        note(("read ro", k5.borrow_read(1, small), ipc.words[0], bytes(small)))
        note(("write ro", k5.borrow_write(0, b"z")))
        k5.reply(0, (2,))

    system = System()
    ep = system.endpoint("ep")
    r = system.reply("r")
    c = system.task("client", client, priority=10)
    s = system.task("server", server, priority=20)
    system.give(c, 1, ep)
    system.give(s, 1, ep)
    system.give(s, 2, r)
    run(system)
    expect(
        "leases",
        [
            ("info", A.OK, 4096, A.RIGHTS_RW),
            ("read", A.OK, 4096, True),
            ("write", A.OK),
            ("beyond", A.ERR_RANGE),
            ("offset", A.ERR_RANGE),
            ("implicit none", A.ERR_NO_REPLY),
            ("after reply", A.ERR_NO_REPLY),
            ("call", A.OK, 1, b"OK", 12 * 7 & 255, 9 * 7 & 255),
            ("read ro", A.OK, 2, b"bc"),
            ("write ro", A.ERR_RIGHTS),
            ("readonly", A.OK, 2, b"abc"),
            ("bad lease", A.ERR_INVALID_ARGUMENT),
            ("bad rights", A.ERR_INVALID_ARGUMENT),
        ],
    )


for part in (
    part_leases,
    part_yield,
    part_argument_counts,
    part_nbsend,
    part_priority_queue,
    part_reply_objects,
    part_passive_reply_objects,
    part_destruction,
    part_destroy_wakes_queued,
    part_sc_destroyed,
    part_cancel_badged_sends,
    part_sc_on_notification,
    part_unwrap_and_nbsend_recv,
):
    part()
    while _ran:
        _ran.pop().close()
print("result %d ok %d failed" % (results[0], results[1]))
