"""Device windows and IRQ caps on the host: MPU views follow the caps, lines follow acks."""

import pytest

import k5
from k5 import abi
from k5.arch_host import HostArch
from k5.system import BuildError, System

A = abi
GPIO = 0x40020000
TIMER = 0x50000000


class RecordingArch(HostArch):
    """The host arch, remembering every MPU view it was asked to program."""

    __slots__ = ("views",)

    def __init__(self):
        HostArch.__init__(self)
        self.views = []

    def memory_view(self, ctx, regions):
        self.views.append((ctx, list(regions)))
        HostArch.memory_view(self, ctx, regions)


def _view(task):
    return list(task.obj.context.regions or ())


def test_window_given_is_mapped_and_revoke_unmaps():
    system = System(debug=True)
    gpio = system.window("gpio", GPIO, 0x400)
    rcc = system.window("rcc", GPIO + 0x400, 0x400, A.RIGHT_READ)
    task = system.task("t", lambda ipc, arg: None, start=False)
    system.give(task, 0, gpio)
    assert _view(task) == [(GPIO, GPIO + 0x400, A.RIGHTS_RW, True)]
    system.give(task, 1, rcc)
    # Adjacent windows with different rights: two regions, each with its own rights.
    assert _view(task) == [
        (GPIO, GPIO + 0x400, A.RIGHTS_RW, True),
        (GPIO + 0x400, GPIO + 0x800, A.RIGHT_READ, True),
    ]
    system.revoke(gpio)
    assert _view(task) == [(GPIO + 0x400, GPIO + 0x800, A.RIGHT_READ, True)]
    system.close()


def test_adjacent_windows_of_equal_rights_share_a_region():
    system = System()
    a = system.window("a", GPIO, 0x100)
    b = system.window("b", GPIO + 0x100, 0x100)
    task = system.task("t", lambda ipc, arg: None, start=False)
    system.give(task, 0, a)
    system.give(task, 1, b)
    assert _view(task) == [(GPIO, GPIO + 0x200, A.RIGHTS_RW, True)]
    system.close()


def test_windows_refused_when_they_cannot_be_mapped():
    system = System()
    task = system.task("t", lambda ipc, arg: None, start=False, slots=16)
    windows = [system.window("w%d" % i, GPIO + 0x1000 * i, 0x400) for i in range(6)]
    for i in range(5):
        system.give(task, i, windows[i])
    with pytest.raises(BuildError, match="already holds 5 windows"):
        system.give(task, 5, windows[5])
    inner = system.window("inner", GPIO + 0x100, 0x20)
    with pytest.raises(BuildError, match="overlaps a window"):
        system.give(task, 6, inner)
    # A second cap to a window it holds needs no region of its own.
    system.give(task, 7, windows[0], A.RIGHT_READ)
    assert len(_view(task)) == 5
    system.close()


def test_window_must_lie_in_device_memory():
    system = System()
    for base, size in ((0x20000000, 0x400), (GPIO + 8, 0x400), (GPIO, 0), (0x5FFFFC00, 0x800)):
        with pytest.raises(BuildError, match="window"):
            system.window("bad", base, size)
    system.close()


def test_window_caps_move_by_syscall_and_follow_the_mpu_view():
    arch = RecordingArch()
    system = System(debug=True, arch=arch)
    gpio = system.window("gpio", GPIO, 0x400)
    log = []

    def other(ipc, arg):
        k5.recv(0, recv_slot=1)
        log.append(("got", ipc.cap, k5.window_info(1, ipc)))
        log.append(("delete", k5.delete(1)))

    def body(ipc, arg):
        log.append(("info", k5.window_info(2, ipc)))
        # A read-only copy for itself: the same window, so no new region.
        log.append(("copy", k5.copy(2, 3, A.RIGHT_READ)))
        log.append(("send", k5.send(0, 1, (), cap=3)))
        # Without its read/write cap the sender's view drops to read-only.
        log.append(("delete", k5.delete(2)))

    receiver = system.task("rx", other, priority=20, slots=4)
    sender = system.task("tx", body, priority=10, slots=8)
    ep = system.endpoint("ep")
    system.give(receiver, 0, ep, A.RIGHT_READ)
    system.give(sender, 0, ep, A.RIGHT_WRITE | A.RIGHT_GRANT)
    system.give(sender, 2, gpio)
    arch.views = []
    system.run(1000)
    views = [(ctx is receiver.obj.context, regions) for ctx, regions in arch.views]
    ro = [(GPIO, GPIO + 0x400, A.RIGHT_READ, True)]
    assert log == [
        ("info", (A.OK, GPIO, 0x400, A.RIGHTS_RW)),
        ("copy", A.OK),
        ("got", 1, (A.OK, GPIO, 0x400, A.RIGHT_READ)),
        ("delete", A.OK),
        ("send", A.OK),
        ("delete", A.OK),
    ]
    # The receiver's view came and went; the sender's dropped to read-only.
    assert views == [(True, ro), (True, []), (False, ro)]
    system.close()


def test_ipc_does_not_transfer_a_window_the_receiver_cannot_map():
    system = System()
    log = []

    def rx(ipc, arg):
        k5.recv(0, recv_slot=7)
        log.append(ipc.cap)

    def tx(ipc, arg):
        k5.send(0, 1, (), cap=1)

    receiver = system.task("rx", rx, priority=20, slots=8)
    sender = system.task("tx", tx, priority=10, slots=4)
    ep = system.endpoint("ep")
    system.give(receiver, 0, ep, A.RIGHT_READ)
    system.give(sender, 0, ep, A.RIGHT_WRITE | A.RIGHT_GRANT)
    for i in range(5):
        system.give(receiver, 1 + i, system.window("w%d" % i, GPIO + 0x1000 * i, 0x400))
    system.give(sender, 1, system.window("sixth", GPIO + 0x8000, 0x400))
    system.run(1000)
    assert log == [A.NO_SLOT]
    assert len(_view(receiver)) == 5
    system.close()


def test_irq_is_masked_after_delivery_until_ack():
    system = System(debug=True)
    ntfn = system.notification("irq")
    log = []

    def driver(ipc, arg):
        for _ in range(3):
            err = k5.wait(0)
            log.append(("wake", err, ipc.badge))
            log.append(("ack", k5.irq_ack(1)))

    task = system.task("drv", driver, priority=10)
    system.give(task, 0, ntfn, A.RIGHT_READ)
    handler = system.irq("timer", 3, ntfn, badge=4)
    system.give(task, 1, handler)
    arch = system.kernel.arch
    system.run(10)
    assert log == []
    arch.raise_hw_irq(3)
    arch.raise_hw_irq(3)  # latched while masked: delivered after the ack
    system.run(10)
    assert log == [("wake", A.OK, 4), ("ack", A.OK), ("wake", A.OK, 4), ("ack", A.OK)]
    assert handler.obj.count == 2
    arch.raise_hw_irq(5)  # a line with no handler: never enabled, never delivered
    system.run(10)
    assert len(log) == 4
    arch.raise_hw_irq(3)
    system.run(10)
    assert log[4] == ("wake", A.OK, 4)
    system.close()


def test_irq_control_get_by_syscall_and_revoke():
    system = System(debug=True)
    ntfn = system.notification("irq")
    control = system.irq_control()
    log = []

    def supervisor(ipc, arg):
        log.append(k5.irq_control_get(1, 3, 2))
        log.append(k5.irq_control_get(1, 3, 3))  # the line has a handler already
        log.append(k5.irq_control_get(1, 99, 3))  # no such line
        log.append(k5.irq_control_get(0, 4, 3))  # not an IRQControl cap
        log.append(k5.irq_ack(2))  # no notification yet
        log.append(k5.irq_set_notification(2, 0))
        log.append(k5.wait(0))
        log.append(k5.irq_clear(2))
        log.append(k5.irq_ack(2))
        log.append(k5.delete(2))
        log.append(k5.irq_control_get(1, 3, 2))  # free again

    task = system.task("sup", supervisor, priority=10)
    system.give(task, 0, ntfn)
    system.give(task, 1, control)
    arch = system.kernel.arch
    system.run(10)
    arch.raise_hw_irq(3)
    system.run(10)
    assert log == [
        A.OK,
        A.ERR_ILLEGAL_OPERATION,
        A.ERR_RANGE,
        A.ERR_WRONG_TYPE,
        A.ERR_ILLEGAL_OPERATION,
        A.OK,
        A.OK,
        A.OK,
        A.ERR_ILLEGAL_OPERATION,
        A.OK,
        A.OK,
    ]
    table = system.kernel.irq_handlers
    assert table[3] is not None
    # Revoking the IRQControl takes every handler made from it: the line is masked and free.
    system.revoke(control)
    assert table[3] is None
    assert not arch.irq_on & (1 << 3)
    system.close()


def test_destroying_the_notification_unbinds_the_line():
    system = System()
    ntfn = system.notification("irq")
    handler = system.irq("timer", 3, ntfn)
    arch = system.kernel.arch
    assert arch.irq_on & (1 << 3)
    system.revoke(ntfn)
    system.kernel.delete(ntfn.original)
    assert handler.obj.ntfn is None
    assert not arch.irq_on & (1 << 3)
    arch.raise_hw_irq(3)
    system.run(10)
    assert handler.obj.count == 0
    system.close()


def test_a_view_that_cannot_be_solved_for_lack_of_memory_maps_nothing(monkeypatch):
    from k5 import device

    system = System()
    task = system.task("t", lambda ipc, arg: None, start=False)
    gpio = system.window("gpio", GPIO, 0x400)
    system.give(task, 0, gpio)
    assert _view(task) == [(GPIO, GPIO + 0x400, A.RIGHTS_RW, True)]

    def no_memory(tcb):
        raise MemoryError()

    monkeypatch.setattr(device, "view", no_memory)
    system.revoke(gpio)  # the delete happens; the view falls back to no window at all
    assert _view(task) == []
    system.close()
