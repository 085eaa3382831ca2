"""Behaviour that `make mutate` showed no test pinned down (docs/verify.md, "Mutation testing").

Each test names the mutants of k5/ it was written against: a change to the kernel that kept
every other test green.
"""

import pytest

import k5
from k5 import abi as A
from k5 import cnode, thread
from k5.objects import QUEUE_ENDPOINT
from k5.system import System


def _root_with(body, priority=20):
    system = System(debug=True)
    log = []
    root = system.task("root", lambda ipc, arg: body(log, ipc), priority=priority, slots=8)
    return system, root, log


def test_sc_bind_refuses_an_sc_or_notification_already_bound():
    # schedcontext.sys_sc mutants 46 and 52: an SC bound to a thread bound again elsewhere;
    # a notification given a second SC.
    def body(log, ipc):
        log.append(k5.sc_bind(2, 4))  # sc bound to worker a: not to b as well
        log.append(k5.sc_bind(3, 5))  # spare SC to the notification: OK
        log.append(k5.sc_bind(6, 5))  # a second SC for that notification: refused
        log.append(k5.sc_consumed(3))
        log.append(ipc.count)

    system, root, log = _root_with(body)
    a = system.task("a", lambda ipc, arg: None, priority=5, start=False)
    b = system.task("b", lambda ipc, arg: None, priority=5, start=False, passive=True)
    system.kernel.unbind_sc(b.sc.obj)
    system.give(root, 2, a.sc)
    system.give(root, 3, system.sched_context("spare", 2, 10))
    system.give(root, 4, b)
    system.give(root, 5, system.notification("n"))
    system.give(root, 6, system.sched_context("spare2", 2, 10))
    system.run(50)
    assert log == [A.ERR_ILLEGAL_OPERATION, A.OK, A.ERR_ILLEGAL_OPERATION, A.OK, 1]
    assert b.obj.sc is None and a.obj.sc is a.sc.obj
    system.close()


def test_an_sc_destroyed_under_a_blocked_thread_leaves_it_blocked():
    # schedcontext.destroy mutant 16: the thread was taken out of its endpoint queue.
    system = System(debug=True)
    ep = system.endpoint("ep")
    got = []

    def server(ipc, arg):
        got.append(k5.recv(0))

    srv = system.task("srv", server, priority=10)
    system.give(srv, 0, ep)
    system.run(20)
    tcb = srv.obj
    assert tcb.state == A.STATE_BLOCKED_RECV
    cnode.delete(system.kernel, srv.sc.original)  # its last cap: the SC is destroyed
    assert tcb.sc is None
    assert tcb.state == A.STATE_BLOCKED_RECV and tcb.queue_kind == QUEUE_ENDPOINT
    assert tcb in list(ep.obj.queue.members())
    system.kernel.check_invariants()
    system.close()


def test_nbsend_recv_sends_then_waits():
    # ipc.sys_nbsend_recv mutant 46: its send went wrong and nothing saw it.
    log = []

    def client(ipc, arg):
        log.append(k5.nbsend_recv(0, label=5, words=(7,), recv_ep=1))
        log.append(("client got", ipc.label, ipc.word_tuple()))

    def server(ipc, arg):
        log.append(("server got", k5.recv(0), ipc.label, ipc.word_tuple()))
        k5.send(1, label=6, words=(8,))

    system = System(debug=True)
    request, answer = system.endpoint("request"), system.endpoint("answer")
    srv = system.task("srv", server, priority=20)
    cli = system.task("cli", client, priority=10)
    for task in (srv, cli):
        system.give(task, 0, request)
        system.give(task, 1, answer)
    system.run(50)
    assert log == [("server got", A.OK, 5, (7,)), A.OK, ("client got", 6, (8,))]
    system.close()


def test_set_priority_reorders_an_endpoint_queue():
    # kernel.set_priority mutant 6: a sender queued on an endpoint kept its old place.
    order = []

    def sender(ipc, arg):
        k5.send(0, words=(arg,))

    def receiver(ipc, arg):
        k5.sleep(5)  # the senders queue up: low (5) first, then high (6)
        log.append(k5.tcb_set_priority(2, 15))  # low now outranks high
        for _ in range(2):
            k5.recv(0)
            order.append(ipc.words[0])

    log = []
    system = System(debug=True)
    ep = system.endpoint("ep")
    rcv = system.task("rcv", receiver, priority=20, mcp=20)
    low = system.task("low", sender, arg=1, priority=5)
    high = system.task("high", sender, arg=2, priority=6)
    system.give(rcv, 0, ep)
    system.give(rcv, 2, low)
    for task in (low, high):
        system.give(task, 0, ep)
    system.run(50)
    assert log == [A.OK] and order == [1, 2]
    system.close()


def test_a_new_timer_replaces_the_old_one_and_unbadged_caps_signal_badge_1():
    # timer.sys_set_timer mutants 33 (the old timer kept), 44 and 45 (the default badge).
    log = []

    def body(ipc, arg):
        k5.set_timer(0, 30)
        k5.set_timer(0, 5)  # replaces the 30
        log.append((k5.wait(0), ipc.badge))
        k5.sleep(40)  # past the 30: nothing more
        log.append(k5.poll(0))

    system = System(debug=True)
    task = system.task("t", body, priority=10)
    system.give(task, 0, system.notification("tick"))
    system.run(100)
    assert log == [(A.OK, 1), A.ERR_WOULD_BLOCK]
    system.close()


def test_retyped_objects_are_named_and_usable():
    # untyped.create_object mutants 5 and 25: names and the SC's minimum budget.
    names = []

    def body(log, ipc):
        log.append(k5.untyped_retype(1, A.TYPE_ENDPOINT, 2))
        log.append(k5.untyped_retype(1, A.TYPE_SCHED_CONTEXT, 3))
        log.append(k5.sc_configure(4, 3, 2, 10, 2))

    system, root, log = _root_with(body)
    system.give(root, 1, system.untyped("ut", 2))
    system.give(root, 4, system.sched_control())
    system.run(20)
    assert log == [A.OK, A.OK, A.OK]
    slots = root.obj.cspace.slots
    ep, sc = slots[2].obj, slots[3].obj
    names = [ep.name, sc.name]
    assert names == ["ep%d" % ep.oid, "sc%d" % sc.oid]
    assert sc.min_budget == system.kernel.min_budget
    system.close()


def test_window_info_of_a_bad_slot_is_all_zero():
    # user.window_info mutants 3, 4, 5.
    def body(log, ipc):
        log.append(k5.window_info(0, ipc))
        log.append(k5.window_info(1, ipc))

    system, root, log = _root_with(body)
    system.give(root, 1, system.endpoint("ep"))
    system.run(20)
    assert log == [(A.ERR_EMPTY_SLOT, 0, 0, 0), (A.ERR_WRONG_TYPE, 0, 0, 0)]
    system.close()


def test_a_soft_interrupt_out_of_range_names_the_problem():
    # kernel_objects.bind_irq mutant 10 (the message).
    system = System(debug=True)
    ntfn = system.notification("n").obj
    for line in (-1, A.IRQ_LINES, "0"):
        with pytest.raises(ValueError, match="^interrupt line out of range$"):
            system.kernel.bind_irq(line, ntfn, 1)
    system.close()


def test_an_irq_handler_is_named_after_its_line():
    # device.new_handler mutant 16.
    system = System(debug=True)
    handler = system.irq("", 3).obj
    assert handler.name == "irq3"
    system.close()


def test_a_fault_whose_text_cannot_be_recorded_keeps_the_history_before_it():
    # thread.fault mutant 14: the history recorded before a fault that had no memory is lost.
    system = System(debug=True)
    task = system.task("t", lambda ipc, arg: k5.sleep(1000), priority=10)
    system.run(5)
    tcb = task.obj
    thread.fault(system.kernel, tcb, A.FAULT_EXCEPTION, "first")
    thread.fault(system.kernel, tcb, A.FAULT_EXCEPTION, "\ud800")  # does not encode
    texts = [entry[2] for entry in tcb.fault_history]
    assert texts[0] == "first" and len(texts) == 2 and "MemoryError" in texts[1]
    system.close()


FULL_APP = """
name = "wired"
board = "MPS2_AN505"

[endpoints.faults]
[notifications.tick]
[windows.timer]
peripheral = "timer0"
rights = ["read"]
[irqs.timer_irq]
peripheral = "timer0"
notification = "tick"
badge = 4

[tasks.worker]
module = "m"
entry = "e"
priority = 10
budget = 3
period = 17
notification = "tick"
fault_handler = { endpoint = "faults", badge = 5 }
timeout_handler = { endpoint = "faults", badge = 6 }
caps = [{ slot = 0, object = "timer" }]

[tasks.handler]
module = "m"
entry = "e"
priority = 20
caps = [{ slot = 0, object = "faults", rights = ["read"] }]
"""


def test_an_app_is_built_exactly_as_described(tmp_path):
    # app.build mutants 26, 36, 77, 120, 147: a window's rights, an IRQ's notification, a
    # task's period, its fault handler and its bound notification, each dropped.
    from k5 import app as k5app
    from tools import app

    path = tmp_path / "app.toml"
    path.write_text(FULL_APP)
    described = app.load(path)
    system = System(debug=True)
    refs = k5app.build(system, described)
    for name, _, _, rights in described["windows"]:
        assert refs[name].original.rights == rights
    for name, _, notification, badge in described["irqs"]:
        handler = refs[name].obj
        assert handler.ntfn is refs[notification].obj and handler.badge == badge
    for task in described["tasks"]:
        tcb = refs[task["name"]].obj
        if task["budget"] is not None:
            assert (tcb.sc.budget, tcb.sc.period) == (task["budget"], task["period"])
        for which, key in ((0, "fault_handler"), (1, "timeout_handler")):
            cap = tcb.handlers.slots[which]
            if task[key] is None:
                assert cap is None
            else:
                assert cap.obj is refs[task[key][0]].obj and cap.badge == task[key][1]
        bound = task["notification"]
        assert tcb.bound_ntfn is (None if bound is None else refs[bound].obj)
    system.close()


def _child(ipc, arg):
    pass


def test_a_task_argument_with_a_bad_item_is_refused():
    # tcb._valid_arg mutant 27: a tuple holding a value that is not one was accepted.
    def body(log, ipc):
        k5.untyped_retype(1, A.TYPE_TCB, 2)
        log.append(k5.tcb_configure(2, _child, arg=(1, [2]), priority=5))
        log.append(k5.tcb_configure(2, _child, arg=(1, (2, (3,))), priority=5))
        log.append(k5.tcb_configure(2, _child, arg=(1, (2, 3)), priority=5))

    system, root, log = _root_with(body)
    system.give(root, 1, system.untyped("ut", 1))
    system.run(20)
    assert log == [A.ERR_INVALID_ARGUMENT, A.ERR_INVALID_ARGUMENT, A.OK]
    system.close()


def test_tcb_copy_cap_reports_a_window_the_view_cannot_take():
    # tcb.sys_copy_cap mutant 67: device.derive's error came back as OK.
    def body(log, ipc):
        log.append(k5.tcb_copy_cap(1, 2, 1))
        log.append(k5.tcb_copy_cap(1, 2, 1))
        log.append(k5.tcb_copy_cap(1, 3, 2))  # overlaps the window the task holds

    system, root, log = _root_with(body)
    other = system.task("other", lambda ipc, arg: None, priority=5, start=False)
    system.give(root, 1, other)
    system.give(other, 0, system.window("w1", 0x40000000, 64))
    system.give(root, 2, system.endpoint("ep"))
    system.give(root, 3, system.window("w2", 0x40000020, 64))
    system.run(20)
    assert log == [A.OK, A.ERR_SLOT_OCCUPIED, A.ERR_ILLEGAL_OPERATION]
    assert other.obj.cspace.slots[2] is None
    system.close()


def test_trace_lines_carry_the_time():
    # kernel.emit mutant 8.
    system = System(debug=True)
    lines = []
    system.kernel.trace = lines.append
    system.task("t", lambda ipc, arg: k5.sleep(3), priority=10)
    system.run(10)
    assert lines and all(line.startswith("t=") for line in lines), lines
    assert lines[-1].startswith("t=%d " % system.now()), lines
    system.close()


def test_a_notifications_sc_runs_its_passive_waiter_until_taken_back():
    # notification.lend_sc mutant 5 (the SC never lent), return_sc mutant 8 (never lent again),
    # unbind_sc mutants 3 and 5 (an SC lent to nobody), kernel.unbind_sc mutant 14 (an unbound
    # SC's home left set, so that taking it from the notification missed its holder).
    log = []

    def worker(ipc, arg):
        while True:
            k5.wait(0)
            log.append(("woken", ipc.badge))
            k5.spin(6)  # on the notification's SC
            log.append("spun")

    def body(_, ipc):
        k5.sleep(2)  # the worker waits on the notification
        log.append(k5.sc_unbind(1))  # the worker's own SC: it is passive now
        log.append(k5.sc_bind(1, 2))  # the SC goes to the notification
        k5.signal(2)
        k5.sleep(10)  # the worker wakes on the SC, spins, waits again: the SC goes back
        k5.signal(2)
        k5.sleep(3)  # it wakes again and spins
        log.append(k5.sc_unbind(1))  # taken back from the worker mid-spin
        k5.sleep(20)
        log.append(k5.sc_bind(1, 2))
        log.append(k5.sc_unbind(1))  # lent to nobody
        log.append("end")

    system = System(debug=True)
    n = system.notification("n")
    w = system.task("worker", worker, priority=20, budget=10, period=50)
    system.give(w, 0, n)
    root = system.task("root", lambda ipc, arg: body(None, ipc), priority=30)
    system.give(root, 1, w.sc)
    system.give(root, 2, n, badge=3)
    system.run(80)
    assert log == [A.OK, A.OK, ("woken", 3), "spun", ("woken", 3), A.OK, A.OK, A.OK, "end"]
    assert w.obj.sc is None and w.sc.obj.tcb is None and n.obj.sc is None
    system.close()


def test_a_cap_sent_through_its_own_endpoint_is_unwrapped():
    # message.transfer mutant 41: seL4's unwrapping (the receiver gets the badge, not a cap).
    log = []

    def sender(ipc, arg):
        k5.send(0, words=(1,), cap=1)

    def receiver(ipc, arg):
        log.append((k5.recv(0, 2), ipc.unwrapped))

    system = System(debug=True)
    ep = system.endpoint("ep")
    s = system.task("s", sender, priority=10)
    r = system.task("r", receiver, priority=20)
    system.give(s, 0, ep, A.RIGHT_WRITE | A.RIGHT_GRANT)
    system.give(s, 1, ep, badge=9)
    system.give(r, 0, ep, A.RIGHT_READ)
    system.run(20)
    assert log == [(A.OK, 9)] and r.obj.cspace.slots[2] is None
    system.close()


def test_the_scheduler_check_looks_past_unused_priorities():
    # sched.Scheduler.check_invariants mutant 29: it stopped at the first unused priority.
    from k5.sched import Scheduler
    from k5.objects import TCB
    from k5.ipcbuf import IpcBuffer

    sched = Scheduler()
    tcb = TCB(1, "t", 4, IpcBuffer())
    tcb.priority = 100  # queues 0..99 never used
    sched.append(tcb)
    assert sched.check_invariants()
    tcb.priority = 101  # corrupt: in the queue of 100
    with pytest.raises(AssertionError, match="wrong ready queue"):
        sched.check_invariants()


def test_badges_and_words_reach_word_max():
    # decode.is_small mutant 6: the largest word was refused.
    def body(log, ipc):
        log.append(k5.mint(1, 2, A.RIGHTS_ALL, A.WORD_MAX))
        log.append(k5.mint(1, 3, A.RIGHTS_ALL, A.WORD_MAX + 1))

    system, root, log = _root_with(body)
    system.give(root, 1, system.endpoint("ep"))
    system.run(20)
    assert log == [A.OK, A.ERR_INVALID_ARGUMENT]
    assert root.obj.cspace.slots[2].badge == A.WORD_MAX
    system.close()


def test_reply_caps_and_tcb_info_need_no_more_rights_than_documented():
    # reply_object.decode_reply_slot mutant 12 (a reply cap without Read refused) and
    # tcb.sys_tcb mutant 4 (tcb_info asked for Write).
    log = []

    def client(ipc, arg):
        log.append(("call", k5.call(0, 1, (5,))))

    def server(ipc, arg):
        log.append(("recv", k5.recv(0, reply=1)))
        log.append(("reply", k5.reply(2, (6,), reply=1)))
        log.append(("info", k5.tcb_info(2)))

    system = System(debug=True)
    ep = system.endpoint("ep")
    srv = system.task("srv", server, priority=20)
    cli = system.task("cli", client, priority=10)
    system.give(srv, 0, ep, A.RIGHT_READ)
    system.give(srv, 1, system.reply("r"), A.RIGHT_WRITE)
    system.give(srv, 2, cli, A.RIGHT_READ)
    system.give(cli, 0, ep, A.RIGHT_WRITE | A.RIGHT_GRANT)
    system.run(30)
    assert log == [("recv", A.OK), ("reply", A.OK), ("info", A.OK), ("call", A.OK)]
    system.close()


def test_an_endpoint_owner_in_a_static_description_is_set():
    # system.build mutant 132: the owners were never read.
    from k5.system import build

    def body(ipc, arg):
        pass

    system = build(
        {
            "endpoints": [("ep", "srv"), "plain"],
            "tasks": [{"name": "srv", "entry": body}],
        }
    )
    assert system.lookup("ep").obj.owner is system.lookup("srv").obj
    assert system.lookup("plain").obj.owner is None
    system.close()


def test_a_one_byte_window_is_refused_for_its_size_not_its_sign():
    # regions._validate mutant 43.
    from k5.regions import RegionError, solve

    with pytest.raises(RegionError, match="size is not positive"):
        solve([(0x40000000, 0, 1, True)], 4)
    with pytest.raises(RegionError, match="size is not a multiple of 32 bytes"):
        solve([(0x40000000, 1, 1, True)], 4)


def test_host_log_lines_name_the_level_and_keep_bad_arguments(capsys):
    # log._host mutant 7 and log.warn mutant 1.
    from k5 import log

    log.warn("%d items", 3)
    log.info("%d items", "three")  # does not format: the arguments are shown as they are
    assert capsys.readouterr().out.splitlines() == ["WARN 3 items", "INFO %d items ('three',)"]


def _answer(service, op, args):
    """The root service's answer to one operation, as the root reads it (k5/front.py)."""
    from k5.wire import read_answer

    buffer = bytearray(4096)
    assert service.call(op, args, memoryview(buffer)) == A.OK
    return read_answer(buffer)


def test_the_root_service_answers_an_operation_that_is_not_a_name():
    # rootsrv.RootService.call mutant 3: a non-string operation raised instead of answering.
    from k5.rootsrv import RootService

    system = System(debug=True)
    service = RootService(system.kernel, None)
    assert _answer(service, 42, ()) == (A.ERR_INVALID_ARGUMENT, "K5: no builder operation 42")
    assert _answer(service, "nothing", ())[0] == A.ERR_INVALID_ARGUMENT
    system.close()


def test_the_root_service_never_runs_a_method_of_the_roots_objects():
    # The root service runs on the kernel's privileged thread: an object of the REPL's must not
    # be printed, hashed, compared or iterated there (on the board, an operation named by such
    # an object had its __repr__ read MPU_CTRL, which the root itself cannot).
    from k5.rootsrv import RootService

    calls = []

    class Hostile:
        def __repr__(self):
            calls.append("repr")
            return "hostile"

        def __hash__(self):
            calls.append("hash")
            return 1

        def __eq__(self, other):
            calls.append("eq")
            return False

        def __ge__(self, other):
            calls.append("ge")
            return True

        def __lt__(self, other):
            calls.append("lt")
            return False

        def __iter__(self):
            calls.append("iter")
            return iter(())

    system = System(debug=True)
    service = RootService(system.kernel, None)
    hostile = Hostile()
    answers = [
        _answer(service, hostile, ()),
        _answer(service, "info", (hostile,)),
        _answer(service, "endpoint", (1, "e", hostile)),
        _answer(service, "now", ((1, hostile),)),
        _answer(service, "task", (1, "t", lambda ipc, arg: None, {"priority": hostile})),
        _answer(service, "task", (1, "t", lambda ipc, arg: None, hostile)),
    ]
    assert calls == []
    assert [answer[0] for answer in answers] == [A.ERR_INVALID_ARGUMENT] * len(answers)
    assert _answer(service, "now", ())[0] == A.OK
    system.close()


def test_the_repl_api_spawns_wired_tasks_on_the_host(capsys):
    # k5/__init__.py and k5/root.py (the REPL's k5.spawn, k5.endpoint, k5.ps, k5.tasks and
    # k5.root.notification): no kernel test called them on the host. (Writing this found that
    # k5.notification, the module the kernel imports, hid a function of that name.)
    from k5 import root

    root.reset()
    ep = k5.endpoint("ep")
    bell = root.notification("bell")
    log = []

    def server(ipc, arg):
        k5.recv(0)
        log.append(("server", ipc.badge, ipc.word_tuple(), arg))
        k5.signal(1)

    def client(ipc, arg):
        log.append(("client", k5.send(0, words=(arg,))))

    srv = k5.spawn(server, priority=20, caps=((0, ep, A.RIGHT_READ), (1, bell)))
    cli = k5.spawn(client, 7, name="cli", budget=3, period=10, caps=((0, ep, A.RIGHT_WRITE, 5),))
    root.system().run(50)
    # The client (priority 100, the default) outranks the server: it goes on first.
    assert log == [("client", A.OK), ("server", 5, (7,), None)]
    assert bell.obj.active  # signalled
    tasks = {t["name"]: t for t in k5.tasks()}
    assert set(tasks) == {"server", "cli"}
    assert (tasks["server"]["priority"], tasks["cli"]["priority"]) == (20, 100)
    assert (tasks["cli"]["budget"], tasks["cli"]["period"]) == (3, 10)
    assert srv.obj.cspace.slots[1].rights == A.RIGHTS_ALL and srv.obj.cspace.slots[1].badge == 0
    assert cli.obj.cspace.slots[0].rights == A.RIGHT_WRITE
    assert ep.name == "ep" and bell.name == "bell" and k5.endpoint().name == ""
    capsys.readouterr()
    k5.ps()
    with_caps = capsys.readouterr().out
    k5.ps(show_caps=False)
    without = capsys.readouterr().out
    assert "server" in with_caps and "cli" in with_caps and len(without) < len(with_caps)
    root.reset()
    assert root._default[0] is None


def test_checks_of_small_objects_bite_and_pass_at_their_bounds():
    # ipcbuf.IpcBuffer.check_invariants mutants 4 and 5 (its message) and
    # objects.Untyped.check_invariants mutant 1 (an exhausted Untyped is valid).
    from k5.ipcbuf import IpcBuffer
    from k5.objects import Untyped

    buffer = IpcBuffer()
    buffer.count = A.MSG_MAX_WORDS + 1
    with pytest.raises(AssertionError, match="^word count out of range$"):
        buffer.check_invariants()
    untyped = Untyped(1, "ut", 1)
    untyped.remaining = 0
    assert untyped.check_invariants()


def test_kernel_suspend_and_the_fast_path_modes():
    # kernel_objects.suspend mutant 2; syscalls.fast_path_of mutant 7.
    system = System(debug=True)
    task = system.task("t", lambda ipc, arg: k5.sleep(100), priority=10)
    system.run(5)
    system.kernel.suspend(task.obj)
    assert task.obj.state == A.STATE_INACTIVE
    assert system.fast_path("general") == "python"
    assert system.fast_path("python") == "general"
    system.close()


def test_a_thread_that_unbinds_the_sc_it_runs_on_stops():
    # notification.unbind_sc mutant 15: the kernel's current thread was left a bad value.
    log = []

    def worker(ipc, arg):
        k5.wait(0)
        log.append("woken")
        log.append(k5.sc_unbind(1))  # the notification's SC, which it runs on: no answer
        log.append("never")

    def body(_, ipc):
        k5.sleep(2)
        log.append(k5.sc_unbind(1))
        log.append(k5.sc_bind(1, 2))
        k5.signal(2)
        k5.sleep(10)
        log.append("end")

    system = System(debug=True)
    n = system.notification("n")
    w = system.task("worker", worker, priority=20, budget=10, period=50)
    system.give(w, 0, n)
    system.give(w, 1, w.sc)
    root = system.task("root", lambda ipc, arg: body(None, ipc), priority=30)
    system.give(root, 1, w.sc)
    system.give(root, 2, n, badge=3)
    system.run(40)
    assert log == [A.OK, A.OK, "woken", "end"]
    assert w.obj.sc is None and n.obj.sc is None
    system.close()


def _corruptible():
    """A system stopped with: a caller waiting for a reply, two sleepers, two threads waiting
    for refills, and a runnable thread in a ready queue (no debug: the test corrupts it)."""
    system = System()

    def caller(ipc, arg):
        k5.call(0, 1, (1,))

    def silent(ipc, arg):
        k5.recv(0)
        k5.sleep(1000)

    def sleeper(ipc, arg):
        k5.sleep(arg)

    def hog(ipc, arg):
        k5.spin(10)

    ep = system.endpoint("ep")
    srv = system.task("srv", silent, priority=30)
    cli = system.task("cli", caller, priority=25)
    system.give(srv, 0, ep)
    system.give(cli, 0, ep)
    system.task("s1", sleeper, arg=500, priority=20)
    system.task("s2", sleeper, arg=501, priority=20)
    system.task("h1", hog, priority=15, budget=1, period=400)
    system.task("h2", hog, priority=15, budget=1, period=401)
    system.task("r1", hog, priority=5)
    system.task("r2", hog, priority=5)
    system.run(20)
    return system, system.kernel


def test_the_kernels_checks_pass_a_sound_state_and_name_each_broken_rule():
    # k5.invariants.check mutants 51, 58, 65 and Scheduler.check_invariants mutants 32, 41,
    # 61, 65: the messages, the release queue's order of two, the sleep queue's by one tick.
    from k5 import invariants

    system, kernel = _corruptible()
    by_name = {tcb.name: tcb for tcb in kernel.tcbs}
    assert [t.name for t in kernel.sched.release.members()] == ["h1", "h2"]
    assert invariants.check(kernel) is True and kernel.sched.check_invariants() is True
    cli, s1, s2 = by_name["cli"], by_name["s1"], by_name["s2"]
    ready = [t for t in (by_name["r1"], by_name["r2"]) if t is not kernel.current][0]

    def expect(message, corrupt, restore):
        corrupt()
        with pytest.raises(AssertionError, match="^" + message + "$"):
            invariants.check(kernel)
        restore()
        assert invariants.check(kernel)

    queue = ready.queue
    expect(
        "blocked on reply but queued",
        lambda: setattr(cli, "queue", queue),
        lambda: setattr(cli, "queue", None),
    )
    reply = cli.blocked_on
    expect(
        "blocked without a reply",
        lambda: setattr(cli, "blocked_on", None),
        lambda: setattr(cli, "blocked_on", reply),
    )
    sc = ready.sc
    expect(
        "thread without SC is queued",
        lambda: setattr(ready, "sc", None),
        lambda: setattr(ready, "sc", sc),
    )
    h1, h2 = by_name["h1"].sc, by_name["h2"].sc
    refill = h1.r_time[h1.head]

    def late_refill():
        h1.r_time[h1.head] = h2.r_time[h2.head] + 1

    def restore_refill():
        h1.r_time[h1.head] = refill

    expect("release out of order", late_refill, restore_refill)
    wake = s1.wake_time
    expect(
        "sleep out of order",
        lambda: setattr(s1, "wake_time", s2.wake_time + 1),
        lambda: setattr(s1, "wake_time", wake),
    )
    bits = list(kernel.sched.group_bits)

    def clear_bits():
        for i in range(len(kernel.sched.group_bits)):
            kernel.sched.group_bits[i] = 0

    def restore_bits():
        for i in range(len(bits)):
            kernel.sched.group_bits[i] = bits[i]

    expect("ready bitmap out of sync", clear_bits, restore_bits)
    system.close()


def test_give_names_a_slot_out_of_range():
    # system.System.give mutants 14 and 18.
    from k5.system import BuildError

    system = System()
    task = system.task("t", lambda ipc, arg: None, priority=5, start=False, slots=4)
    with pytest.raises(BuildError, match="^t: slot 4 out of range$"):
        system.give(task, 4, system.endpoint("ep"))
    system.close()


def test_fresh_objects_start_empty():
    # IpcBuffer.__init__, Cap.__init__ and Refills.__init__ mutants: what a task reads from
    # its buffer before any message, a cap in no slot, an SC not configured yet.
    from k5.cdt import Cap
    from k5.ipcbuf import IpcBuffer
    from k5.refill import Refills

    ipc = IpcBuffer()
    assert (ipc.label, ipc.badge, ipc.count, ipc.length, ipc.cap) == (0, 0, 0, 0, A.NO_SLOT)
    assert ipc.words == [0] * A.MSG_MAX_WORDS and ipc.data == bytearray(A.MSG_MAX_BYTES)
    assert ipc.unwrapped == -1 and ipc.check_invariants()
    cap = Cap(None, A.TYPE_ENDPOINT, A.RIGHTS_ALL, 0)
    assert (cap.cnode, cap.index, cap.parent, cap.children) == (None, -1, None, None)
    refills = Refills(min_budget=1)
    assert (refills.budget, refills.period) == (0, 0) and not refills.is_configured()


def test_an_unknown_fast_path_is_refused_by_name():
    # syscalls.set_fast_path mutants 36 and 37 (the message).
    system = System(debug=True)
    with pytest.raises(ValueError, match=r"^fast path: one of native, python, general, not 'x'$"):
        system.fast_path("x")
    system.close()
