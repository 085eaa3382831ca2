"""In-process coverage of the less common kernel paths and their errors."""

import k5
from k5 import abi as A
from k5 import introspect
from k5.system import System


def test_delete_wakes_sender_receiver_and_waiter_with_revoked():
    log = []

    def sender(ipc, arg):
        log.append(("send", k5.send(1, 0, (1,), bytearray(b"x"))))

    def waiter(ipc, arg):
        log.append(("wait", k5.wait(2)))

    def owner(ipc, arg):
        k5.spin(3)
        log.append(("revoke", k5.revoke(1)))
        log.append(("revoke", k5.revoke(2)))

    system = System(debug=True)
    ep = system.endpoint("ep")
    n = system.notification("n")
    o = system.task("owner", owner, priority=5)
    master_ep = system.give(o, 1, ep)
    master_n = system.give(o, 2, n)
    s = system.task("sender", sender, priority=10)
    w = system.task("waiter", waiter, priority=10)
    from k5 import cdt

    cdt.derive(master_ep, A.RIGHTS_ALL, 0, s.obj.cspace, 1)
    cdt.derive(master_n, A.RIGHTS_ALL, 0, w.obj.cspace, 2)
    system.run(100)
    assert ("send", A.ERR_REVOKED) in log and ("wait", A.ERR_REVOKED) in log


def test_debug_puts_and_trace_and_ps():
    lines = []

    def talker(ipc, arg):
        assert k5.puts("hello") == A.OK
        assert k5.puts(b"bytes") == A.OK
        assert k5.puts("x" * 129) == A.ERR_INVALID_ARGUMENT
        assert k5.puts(b"\xff") == A.ERR_INVALID_ARGUMENT
        assert k5.puts(5) == A.ERR_INVALID_ARGUMENT
        k5.spin(20)
        raise ValueError("bad")

    system = System(trace=lines.append, console=lines.append, debug=True)
    t = system.task("talker", talker, priority=3, budget=2, period=10)
    ep = system.endpoint("ep")
    system.give(t, 1, ep, A.RIGHT_READ | A.RIGHT_WRITE, 0)
    system.run(300)
    text = "\n".join(lines)
    assert "[1] talker: hello" in text and "talker: bytes" in text
    assert "exhausted talker until" in text and "fault talker ValueError: bad" in text
    out = []
    introspect.ps(system.kernel, out.append)
    table = "\n".join(out)
    assert "faulted" in table and "exception ValueError: bad" in table and "RW--" in table
    info = introspect.tasks(system.kernel)[0]
    assert info.state == "faulted" and info.budget == 2 and info.period == 10


def test_reply_recv_argument_errors():
    log = []

    def body(ipc, arg):
        log.append(k5.trap((A.SYS_REPLY_RECV, 1)))
        log.append(k5.trap((A.SYS_REPLY_RECV, 9, 0, (), None, -1, -1)))
        log.append(k5.trap((A.SYS_REPLY_RECV, 1, 0, (), None, -1, 77)))
        log.append(k5.trap((A.SYS_REPLY_RECV, 1, -4, (), None, -1, -1)))
        log.append(k5.trap((A.SYS_REPLY, 0, 0, (), None)))
        log.append(k5.trap((A.SYS_RECV, 1)))
        log.append(k5.trap((A.SYS_RECV, 1, "x")))
        log.append(k5.trap((A.SYS_SIGNAL,)))
        log.append(k5.trap((A.SYS_WAIT, 1, 2)))
        log.append(k5.trap((A.SYS_CNODE_DELETE,)))
        log.append(k5.trap((A.SYS_CNODE_IDENTIFY,)))
        log.append(k5.trap((A.SYS_CNODE_MOVE, 1)))
        log.append(k5.trap((A.SYS_CNODE_MUTATE, 1, 3, 99, 0)))
        log.append(k5.trap((A.SYS_CNODE_MUTATE, 1, 3, 1, -1)))
        log.append(k5.trap((A.SYS_CNODE_MINT, 1, 3, 1, 2**30)))
        log.append(k5.trap((A.SYS_TCB_INFO,)))
        log.append(k5.trap((A.SYS_TCB_INFO, 2, 3)))
        log.append(k5.trap((A.SYS_TCB_SET_PRIORITY, 2)))
        log.append(k5.trap((A.SYS_TCB_RESUME, 2, 1)))
        log.append(k5.trap((A.SYS_SC_CONFIGURE, 1)))
        log.append(k5.trap((A.SYS_SC_BIND, 1)))
        log.append(k5.trap((A.SYS_DEBUG_PUTS,)))
        log.append(k5.trap((A.SYS_CALL, 1, 0, (), None, -1, "x")))

    system = System(debug=True)
    ep = system.endpoint("ep")
    t = system.task("t", body, priority=1, slots=4)
    system.give(t, 1, ep)
    system.give(t, 2, t)
    system.run(100)
    bad = A.ERR_INVALID_ARGUMENT
    assert log == [
        bad,
        A.ERR_RANGE,
        A.ERR_RANGE,
        bad,
        bad,
        bad,
        bad,
        bad,
        bad,
        bad,
        bad,
        bad,
        bad,
        bad,
        bad,
        bad,
        bad,
        bad,
        bad,
        bad,
        bad,
        bad,
        bad,
    ]


def test_bound_notification_already_active_and_nbrecv():
    log = []

    def server(ipc, arg):
        k5.spin(5)
        log.append((k5.nbrecv(1), ipc.source, ipc.badge))
        log.append(k5.nbrecv(1))

    def signaller(ipc, arg):
        k5.signal(2)
        k5.signal(3)

    system = System(debug=True)
    ep = system.endpoint("ep")
    n = system.notification("n")
    s = system.task("server", server, priority=5)
    g = system.task("signaller", signaller, priority=10)
    system.give(s, 1, ep)
    system.give(g, 2, n, A.RIGHT_WRITE, 1)
    system.give(g, 3, n, A.RIGHT_WRITE, 2)
    system.bind_notification(s, n)
    system.run(100)
    assert log == [(A.OK, A.SOURCE_NOTIFICATION, 3), A.ERR_WOULD_BLOCK]


def test_wait_on_notification_bound_elsewhere():
    log = []

    def other(ipc, arg):
        log.append(k5.wait(1))

    system = System(debug=True)
    n = system.notification("n")
    bound = system.task("bound", lambda ipc, arg: None, priority=1, start=False)
    o = system.task("other", other, priority=2)
    system.bind_notification(bound, n)
    system.give(o, 1, n)
    system.run(10)
    assert log == [A.ERR_ILLEGAL_OPERATION]


def test_generation_badge_check_in_process():
    log = []

    def client(ipc, arg):
        log.append(k5.nbsend(1, 0, ()))
        k5.wait(2)
        log.append(k5.nbsend(1, 0, ()))

    def owner(ipc, arg):
        k5.spin(100)

    def sup(ipc, arg):
        k5.tcb_restart(1)
        k5.signal(2)

    system = System(debug=True)
    ep = system.endpoint("ep")
    n = system.notification("n")
    o = system.task("owner", owner, priority=1)
    ep.obj.owner = o.obj
    c = system.task("client", client, priority=15)
    s = system.task("sup", sup, priority=10)
    system.give(c, 1, ep, A.RIGHT_WRITE, A.BADGE_GEN_FLAG | 3)
    system.give(c, 2, n)
    system.give(s, 1, o)
    system.give(s, 2, n)
    system.run(50)
    # The first nbsend is dropped silently (nobody waits); the second is stale.
    assert log == [A.OK, A.ERR_STALE]


def test_sched_context_reconfigure_running_and_priority_of_ready_thread():
    log = []

    def root(ipc, arg):
        log.append(k5.sc_configure(1, 2, 3, 6, 2))  # its own SC, while running
        log.append(k5.tcb_set_priority(3, 7))  # a ready thread
        log.append(k5.tcb_set_mcp(3, 7))
        log.append(k5.tcb_info(3))
        log.append(ipc.word_tuple()[1:3])
        log.append(k5.sc_consumed(2))

    system = System(debug=True)
    r = system.task("root", root, priority=20, mcp=20)
    other = system.task("other", lambda ipc, arg: None, priority=3)
    system.give(r, 1, system.sched_control())
    system.give(r, 2, r.sc)
    system.give(r, 3, other)
    system.run(50)
    assert log[:4] == [A.OK, A.OK, A.OK, A.OK]
    assert log[4] == (7, 7)
    assert r.sc.obj.budget == 3 and r.sc.obj.period == 6


def test_timeout_without_handler_waits_for_refill():
    def worker(ipc, arg):
        k5.spin(10)

    system = System(debug=True)
    w = system.task("w", worker, priority=5, budget=2, period=5)
    ep = system.endpoint("t")
    system.timeout_handler(w, ep)
    # Remove the handler cap again: exhaustion falls back to waiting for the refill.
    system.revoke(ep)
    system.run(100)
    assert w.obj.state == A.STATE_EXITED


def test_kernel_modules_do_not_shadow_the_user_api():
    # k5/<name>.py would replace the function k5.<name> once imported (it happened to reply).
    import types

    from k5 import kernel, user  # noqa: F401 (imports every kernel module)

    for name in dir(user):
        if "__mutmut_" in name:
            continue  # make mutate: mutmut's copies of each function, beside the trampoline
        value = getattr(user, name)
        if type(value) is types.FunctionType and value.__module__ == "k5.user":
            assert getattr(k5, name) is value, name


def test_console_protocol_bytes_from_a_task_become_text():
    # A task's k5.puts text and the names of the TCBs it configures go out on the console: their
    # control bytes (mpremote's raw-REPL markers, a log frame's START, ESC) must not.
    lines = []
    results = []

    def child(ipc, arg):
        pass

    def talker(ipc, arg):
        results.append(k5.puts("raw-repl \x01\x02\x04\x1b[2J\x7f\tend"))
        results.append(k5.untyped_retype(1, A.TYPE_TCB, 2))
        results.append(k5.tcb_configure(2, child, None, 3, 4, "ev\x04il"))
        results.append(k5.tcb_configure(2, child, None, 3, 4, "fine\tname"))

    system = System(console=lines.append)
    t = system.task("talker", talker, priority=3)
    system.give(t, 1, system.untyped("u", 8))
    system.run(50)
    assert results == [A.OK, A.OK, A.ERR_INVALID_ARGUMENT, A.OK], results
    assert len(lines) == 1 and lines[0].endswith("] talker: raw-repl ????[2J?\tend"), lines
    try:
        System().task("ev\x04il", child)
        raise AssertionError("a control byte in a task's name was accepted")
    except k5.system.BuildError as exc:
        assert "without control characters" in str(exc)
