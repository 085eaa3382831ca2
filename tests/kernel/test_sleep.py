"""SYS_SLEEP: a sleeping thread blocks in the kernel and wakes at its time; others run."""

import k5
from k5.abi import ERR_INVALID_ARGUMENT, OK, SYS_SLEEP
from k5.system import System


def test_sleep_blocks_until_its_time_while_others_run():
    log = []
    with System(debug=True) as system:

        def sleeper(ipc, arg):
            start = system.now()
            err = k5.trap((SYS_SLEEP, 30))
            log.append(("woke", err, system.now() - start))
            log.append(("bad", k5.trap((SYS_SLEEP, -1)), k5.trap((SYS_SLEEP, "x"))))

        def worker(ipc, arg):
            while True:
                k5.spin(1)
                log.append(("work", system.now()))

        system.task("sleeper", sleeper, priority=20)
        system.task("worker", worker, priority=10)
        system.run(100)
    woke = [entry for entry in log if entry[0] == "woke"]
    assert woke == [("woke", OK, 30 + 1)]  # 30 ticks asleep plus the syscall's own tick
    assert ("bad", ERR_INVALID_ARGUMENT, ERR_INVALID_ARGUMENT) in log
    # The worker ran while the sleeper slept, and not before its own wake-up was due.
    work_times = [entry[1] for entry in log if entry[0] == "work"]
    assert len([t for t in work_times if t <= 30]) >= 25


def test_sleepers_wake_in_time_order():
    order = []
    with System(debug=True) as system:

        def body(ipc, ticks):
            k5.trap((SYS_SLEEP, ticks))
            order.append(ticks)

        for ticks in (40, 10, 25, 10):
            system.task("s%d" % ticks, body, priority=10, arg=ticks)
        system.run(100)
    assert order == [10, 10, 25, 40]


def test_sleepers_one_tick_apart_and_equal_wake_in_order():
    # Wake-ups 1 tick apart and a tie (found by make mutate: the sleep queue's comparison was
    # never tested at the boundary): earliest first, and FIFO among equal wake-up times.
    order = []
    with System(debug=True) as system:

        def body(ipc, ticks):
            k5.trap((SYS_SLEEP, ticks))
            order.append((system.now(), ticks))

        # Each starts one tick after the previous: wake-ups at 1+5, 2+3 and 3+3.
        for name, ticks in (("a", 5), ("b", 3), ("c", 3)):
            system.task(name, body, priority=10, arg=ticks)
        system.run(50)
    assert [ticks for _, ticks in order] == [3, 5, 3]
    assert [t for t, _ in order][0] < [t for t, _ in order][1]
