"""The one time-range rule (k5.ticks.TIME_MAX): sleeps, timers, budgets and periods, both sides."""

# Ticks count modulo 2**30 and ticks_diff orders two times only while they are less than 2**29
# apart. Two attacks a task could make with ordinary syscalls before the rule: a far timer and a
# "past" sleep that wedged the sleep queue for every other task (six days at 1 kHz), and a
# budget of 1 per period >= 2**29 whose refill wrapped into the past (100% of the CPU).

import pytest

import k5
from k5 import abi, boot, front
from k5.abi import ERR_INVALID_ARGUMENT, ERR_RANGE, OK, STATE_BLOCKED_SLEEP, SYS_BUILD
from k5.objects import TCB
from k5.ipcbuf import IpcBuffer
from k5.kernel import RUN_IDLE, RUN_STOPPED
from k5.wire import read_answer
from k5.sched import Scheduler
from k5.system import BuildError, System
from k5.ticks import AGE_STEP, TICKS_HALF, TICKS_PERIOD, TIME_MAX, ticks_add, ticks_diff
from tools import app

HALF = TICKS_HALF  # 2**29
VICTIM_SLEEP = 10


def _victim(system, log, rounds=5):
    def body(ipc, arg):
        for _ in range(rounds):
            start = system.now()
            err = k5.sleep(VICTIM_SLEEP)
            log.append(("woke", err, ticks_diff(system.now(), start)))

    return body


def test_a_far_timer_and_a_past_sleep_do_not_wedge_the_sleep_queue():
    # The attack: a timer 2**29 - 1 ahead (the "future" half's end), then a sleep 2**30 - 8
    # ahead, a few ticks "in the past" and 2**29 or more before the timer, so ticks_diff put it
    # behind the far timer, and every later sleeper behind it: nobody woke for 2**29 ticks
    # (the neighbour-only check passed it).
    log = []
    with System(debug=True) as system:

        def hostile(ipc, arg):
            log.append(("timer", k5.set_timer(0, HALF - 1)))
            log.append(("sleep", k5.sleep(TICKS_PERIOD - 8)))

        h = system.task("hostile", hostile, priority=20)
        system.give(h, 0, system.notification("n"))
        system.task("victim", _victim(system, log), priority=10)
        system.run(200)
    woke = [entry for entry in log if entry[0] == "woke"]
    assert len(woke) == 5, log
    assert ("timer", ERR_RANGE) in log and ("sleep", ERR_RANGE) in log
    woke = [entry for entry in log if entry[0] == "woke"]
    assert len(woke) == 5, log
    assert all(err == OK and VICTIM_SLEEP <= took <= VICTIM_SLEEP + 2 for _, err, took in woke)


def test_the_farthest_timer_and_sleep_allowed_leave_other_sleepers_on_time():
    # The other side of the limit: TIME_MAX is accepted for a timer and a sleep, both queue
    # ahead of no one, and the victim's sleeps (inserted behind, before and between) wake on time.
    log = []
    with System(debug=True) as system:

        def hostile(ipc, arg):
            log.append(("timer", k5.set_timer(0, TIME_MAX)))
            log.append(("sleep", k5.sleep(TIME_MAX)))

        h = system.task("hostile", hostile, priority=20)
        system.give(h, 0, system.notification("n"))
        system.task("victim", _victim(system, log), priority=10)
        system.run(200)
        assert h.tcb.state == STATE_BLOCKED_SLEEP
        assert ticks_diff(h.tcb.wake_time, system.now()) <= TIME_MAX
        system.kernel.check_invariants()
    assert log[0] == ("timer", OK)
    woke = [entry for entry in log if entry[0] == "woke"]
    assert len(woke) == 5, log
    assert all(err == OK and VICTIM_SLEEP <= took <= VICTIM_SLEEP + 2 for _, err, took in woke)


@pytest.mark.parametrize("clock", (0, TICKS_PERIOD - 7, HALF - 3))
def test_the_sleep_queue_orders_any_in_range_mix(clock):
    # Not only appends at the tail: deadlines at both ends of the range, inserted in an order
    # that makes each land at the head, the middle and the tail, across the 2**30 wrap.
    sched = Scheduler()
    delays = (TIME_MAX, 1, TIME_MAX - 1, 5, 0, TIME_MAX, 2, HALF // 4, 3)
    tcbs = []
    for i, delay in enumerate(delays):
        tcb = TCB(i + 1, "s%d" % i, 4, IpcBuffer())
        sched.sleep_insert(tcb, ticks_add(clock, delay), clock)
        tcbs.append((delay, i, tcb))
    expected = [tcb for _, _, tcb in sorted(tcbs, key=lambda entry: (entry[0], entry[1]))]
    assert list(sched.sleep.members()) == expected
    assert sched.check_invariants()


def _wedged_queue():
    # The state the old sleep_insert built from the attack: a far deadline at the head, one
    # "in the past" behind it, and an ordinary sleeper behind both.
    sched = Scheduler()
    now = 1000
    for i, delay in enumerate((HALF - 1, TICKS_PERIOD - 1, VICTIM_SLEEP)):
        tcb = TCB(i + 1, "s%d" % i, 4, IpcBuffer())
        tcb.wake_time = ticks_add(now, delay)
        sched.sleep.append(tcb)
    return sched, now


def test_the_scheduler_check_catches_a_wedged_sleep_queue():
    # Each neighbour pair is ordered by ticks_diff (the old check passed it); the whole queue is
    # not: the victim's deadline comes before the head's.
    sched, _ = _wedged_queue()
    members = list(sched.sleep.members())
    for first, second in zip(members, members[1:]):
        assert ticks_diff(first.wake_time, second.wake_time) <= 0
    with pytest.raises(AssertionError, match="sleep out of order"):
        sched.check_invariants()


def test_the_kernels_check_catches_a_deadline_beyond_time_max():
    with System(debug=True) as system:
        t = system.task("far", lambda ipc, arg: k5.sleep(TIME_MAX), priority=10)
        system.run(5)
        kernel = system.kernel
        assert kernel.check_invariants() and t.tcb.state == STATE_BLOCKED_SLEEP
        assert kernel.sched.check_invariants()
        now = system.now()
        t.tcb.wake_time = ticks_add(now, TIME_MAX + 1)
        assert kernel.sched.check_invariants()  # alone it is ordered; seen from now, too far
        with pytest.raises(AssertionError, match="beyond TIME_MAX"):
            kernel.check_invariants()
        t.tcb.wake_time = ticks_add(now, TIME_MAX)
        assert kernel.check_invariants()


def test_the_kernels_check_catches_a_wedged_release_queue():
    # The release queue has the same shape: head refill times, compared as a whole.
    with System(debug=True) as system:
        for name in ("a", "b", "c"):
            system.task(name, lambda ipc, arg: k5.spin(1000), priority=10, budget=1, period=50)
        system.run(5)
        kernel = system.kernel
        queued = list(kernel.sched.release.members())
        assert len(queued) == 3
        assert kernel.check_invariants()
        now = system.now()
        for tcb, delay in zip(queued, (HALF - 1, TICKS_PERIOD - 1, 20)):
            tcb.sc.r_time[tcb.sc.head] = ticks_add(now, delay)
        with pytest.raises(AssertionError, match="release"):
            kernel.check_invariants()


SC_PERIODS = (
    (TIME_MAX, OK),
    (TIME_MAX + 1, ERR_RANGE),
    (HALF - 1, ERR_RANGE),
    (HALF, ERR_RANGE),
    (HALF + 1, ERR_RANGE),
    (TICKS_PERIOD - 1, ERR_RANGE),
    (TICKS_PERIOD, ERR_RANGE),
    (2**31, ERR_RANGE),
    (2**64, ERR_RANGE),
    (-1, ERR_INVALID_ARGUMENT),
    (True, ERR_INVALID_ARGUMENT),
)


@pytest.mark.parametrize("period, expected", SC_PERIODS)
def test_a_budget_of_one_per_period_gets_at_most_its_share(period, expected):
    # The attack: a task reconfigures its own SC to 1 tick per 2**29 or more ticks; the refill
    # came back "in the past" and the task took 100% of the CPU from a lower priority.
    window = 2000
    log = []
    with System(debug=True) as system:

        def hog(ipc, arg):
            log.append(k5.sc_configure(0, 1, 1, period))
            while True:
                k5.spin(1)

        def other(ipc, arg):
            while True:
                k5.spin(1)

        h = system.task("hog", hog, priority=20, budget=1, period=10)
        system.give(h, 0, system.sched_control())
        system.give(h, 1, h.sc)
        o = system.task("other", other, priority=10)
        system.run(window)
        sc = h.sc.obj
        used = sc.total
    # At most the budget in every period of the window (plus the period the window began in).
    assert used <= sc.budget * (window // sc.period + 2), (used, sc.budget, sc.period)
    assert log == [expected]
    assert o.sc.obj.total >= window - used - 5


@pytest.mark.parametrize(
    "ticks, expected",
    (
        (TIME_MAX, OK),
        (TIME_MAX + 1, ERR_RANGE),
        (HALF - 1, ERR_RANGE),
        (HALF + 1, ERR_RANGE),
        (TICKS_PERIOD - 1, ERR_RANGE),
        (TICKS_PERIOD, ERR_RANGE),
        (TICKS_PERIOD + 1, ERR_RANGE),
        (2**31, ERR_RANGE),
        (1, OK),
        (0, ERR_INVALID_ARGUMENT),
        (-2, ERR_INVALID_ARGUMENT),
        (True, ERR_INVALID_ARGUMENT),
    ),
)
def test_set_timer_takes_delays_up_to_time_max(ticks, expected):
    log = []
    with System(debug=True) as system:

        def body(ipc, arg):
            log.append(k5.set_timer(0, ticks))
            k5.sleep(100)  # alive while counted: a task's timer goes when it exits

        t = system.task("t", body, priority=10)
        system.give(t, 0, system.notification("n"))
        system.run(20)
        timers = len(system.kernel.timers)
    assert log == [expected]
    assert timers == (1 if expected == OK and ticks > 20 else 0)


@pytest.mark.parametrize(
    "ticks, expected",
    (
        (TIME_MAX, None),  # accepted: still asleep
        (TIME_MAX + 1, ERR_RANGE),
        (HALF, ERR_RANGE),
        (TICKS_PERIOD - 1, ERR_RANGE),
        (2**31, ERR_RANGE),
        (-1, ERR_INVALID_ARGUMENT),
        (False, ERR_INVALID_ARGUMENT),
    ),
)
def test_sleep_takes_up_to_time_max(ticks, expected):
    log = []
    with System(debug=True) as system:

        def body(ipc, arg):
            log.append(k5.sleep(ticks))

        t = system.task("t", body, priority=10)
        system.run(20)
        state = t.tcb.state
    if expected is None:
        assert log == [] and state == STATE_BLOCKED_SLEEP
    else:
        assert log == [expected]


def test_the_builder_takes_periods_up_to_time_max():
    with System() as system:
        system.sched_context("edge", 1, TIME_MAX)
        system.task("edge", lambda ipc, arg: None, priority=1, budget=1, period=TIME_MAX)
        for period in (TIME_MAX + 1, HALF, TICKS_PERIOD - 1, 2**31):
            with pytest.raises(BuildError) as info:
                system.sched_context("far", 1, period)
            assert info.value.args[1] == ERR_RANGE and "TIME_MAX" in info.value.args[0]
            with pytest.raises(BuildError) as info:
                system.task("far", lambda ipc, arg: None, priority=1, budget=1, period=period)
            assert info.value.args[1] == ERR_RANGE
        with pytest.raises(BuildError):
            system.sched_context("neg", 1, -1)


def test_the_roots_builder_answers_err_range():
    seen = []

    def root_body(ipc, arg):
        system = front.System()
        system.sched_context("edge", 1, TIME_MAX)
        try:
            system.sched_context("far", 1, TIME_MAX + 1)
            seen.append("no error")
        except BuildError as exc:
            seen.append(str(exc))
        answer = bytearray(64)
        seen.append(k5.trap((SYS_BUILD, "sched_context", (system.gid, "raw", 1, HALF, 4), answer)))
        seen.append(read_answer(answer))

    kernel_system, root = boot.build(root_body, console=lambda line: None)
    assert kernel_system.run(100) == RUN_STOPPED
    kernel_system.close()
    assert "TIME_MAX" in seen[0]
    assert seen[1] == OK and seen[2][0] == ERR_RANGE


BASE = """\
name = "t"

[tasks.t]
module = "m"
entry = "body"
priority = 10
"""


@pytest.mark.parametrize("field", ("budget", "period"))
def test_k5_gen_takes_budgets_and_periods_up_to_time_max(tmp_path, field):
    path = tmp_path / "app.toml"
    path.write_text(BASE + "budget = 1\nperiod = %d\n" % TIME_MAX)
    assert app.load(path)["tasks"][0]["period"] == TIME_MAX
    for value in (TIME_MAX + 1, HALF, TICKS_PERIOD - 1):
        values = {"budget": 1, "period": TIME_MAX}
        values[field] = value
        path.write_text(BASE + "budget = %(budget)d\nperiod = %(period)d\n" % values)
        with pytest.raises(app.AppError) as info:
            app.load(path)
        line = 7 if field == "budget" else 8
        expected = "%s:%d: tasks.t.%s: %d is above TIME_MAX" % (path, line, field, value)
        assert any(text.startswith(expected) for text in str(info.value).splitlines()), info.value


def test_time_max_keeps_two_live_times_within_half_the_range():
    # The rule's arithmetic: a deadline TIME_MAX ahead and one TIME_MAX behind (released late by
    # as much as TIME_MAX) are still less than 2**29 apart, so ticks_diff orders them.
    assert 2 * TIME_MAX < HALF
    assert ticks_diff(ticks_add(0, TIME_MAX), ticks_add(0, -TIME_MAX)) == 2 * TIME_MAX
    assert TIME_MAX <= abi.WORD_MAX and AGE_STEP + TIME_MAX < HALF


def test_a_round_robin_task_wakes_on_time_after_any_uptime():
    # A round-robin SC's refill time moved only when it exhausted a timeslice: a task that
    # sleeps and runs briefly kept its boot-time refill time, which 2**29 ticks later looked like
    # a future one, and each wake-up waited in the release queue for up to 2**29 ticks more.
    seen = []
    with System(debug=True) as system:

        def ticker(ipc, arg):
            for ticks in (TIME_MAX, TIME_MAX, TIME_MAX, 10, TIME_MAX, 10):
                start = system.now()
                k5.sleep(ticks)
                seen.append((ticks, ticks_diff(system.now(), start)))

        system.task("ticker", ticker, priority=10)
        system.run()
    assert seen == [(ticks, ticks + 1) for ticks, _ in seen] and len(seen) == 6, seen


def test_a_sporadic_server_idle_for_half_the_range_wakes_on_time():
    # Its head refill time is refreshed when it wakes from a sleep (at most TIME_MAX), but was
    # not while it waited in recv or on a notification: after 2**29 ticks the time looked
    # future and the server waited up to 2**29 ticks more. The kernel dates idle SCs now.
    woke = []
    with System() as system:

        def server(ipc, arg):
            while True:
                k5.wait(0)
                woke.append(system.now())

        def clock(ipc, arg):
            for ticks in (TIME_MAX, TIME_MAX, 1000):
                k5.sleep(ticks)

        s = system.task("server", server, priority=10, budget=2, period=10)
        n = system.notification("n")
        system.give(s, 0, n)
        system.task("clock", clock, priority=5)
        system.run()
        start = system.now()
        system.signal(n)
        system.run(50)
    assert len(woke) == 1 and ticks_diff(woke[0], start) <= 2


def _device_idle(system, steps):
    # What k5/boot.py does when no task can run: idle until an interrupt or AGE_STEP ticks.
    for _ in range(steps):
        assert system.run() == RUN_IDLE
        system.arch.idle(ticks_add(system.now(), AGE_STEP))


@pytest.mark.parametrize("budget, period", ((2, 10), (5, 5)))
def test_an_sc_idle_for_days_keeps_its_budget_and_its_time(budget, period):
    # Nothing queued at all (the board waiting for a key): the kernel still looks at the clock
    # every AGE_STEP ticks, so SCs idle for 5 * 2**27 ticks (more than 2**29), one bound to no
    # thread, keep their budget; and the idle time is charged to no one (the first thread to
    # run after an idle was charged for all of it, and its refills pushed back accordingly).
    woke = []
    with System(debug=True) as system:

        def server(ipc, arg):
            while True:
                k5.wait(0)
                woke.append(system.now())
                k5.spin(1)

        s = system.task("server", server, priority=10, budget=budget, period=period)
        spare = system.sched_context("spare", 1, 10)
        n = system.notification("n")
        system.give(s, 0, n)
        _device_idle(system, 5)
        for _ in range(3):
            start = system.now()
            system.signal(n)
            system.run(period)
            assert len(woke) and ticks_diff(woke[-1], start) <= 1, (woke, start)
            now = system.now()
            times = [ticks_diff(time, now) for time, _ in s.sc.obj.refill_list()]
            assert all(-period <= time <= period for time in times), times
            _device_idle(system, 2)
        assert s.sc.obj.total <= 1 + 3 * 2  # its first wait, then a wait and a spin each time
        kernel = system.kernel
        kernel.bind_sc(spare.obj, system.task("late", server, priority=10, start=False).tcb)
        assert ticks_diff(spare.obj.head_time(), system.now()) <= 0
        assert kernel.check_invariants()
