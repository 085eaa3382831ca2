"""On the board: a driver task owns CMSDK Timer0 through a device window and an IRQ cap."""

# The driver maps the timer's registers (window), programs it for a periodic interrupt and
# waits on a notification the timer's line (IRQ 3) is bound to; it acks each interrupt after
# clearing it in the timer. Latency: the timer reloads when it interrupts, so RELOAD - VALUE
# read at wake-up is the time from the interrupt to the task running, in timer ticks (20 MHz:
# under -icount shift=0 one tick is 50 instructions). A second task without the window is
# refused by the raw-memory gate, and after the root revokes the window the driver is too.

import machine

import k5
from k5.abi import RIGHT_READ
from k5.system import System

TIMER = 0x50000000
CTRL, VALUE, RELOAD, INTCLEAR = 0x0, 0x4, 0x8, 0xC
LINE = 3
NTFN, WINDOW, IRQ, DONE = 0, 1, 2, 3
ROUNDS = 0
PERIOD = 20000  # timer ticks: 1 ms
SPIN = 0  # 1: a low-priority task spins meanwhile (the interrupt preempts it)


def driver(ipc, arg):
    machine.mem32[TIMER + CTRL] = 0
    machine.mem32[TIMER + RELOAD] = PERIOD
    machine.mem32[TIMER + VALUE] = PERIOD
    machine.mem32[TIMER + CTRL] = 0b1001  # enable, interrupt enable
    latencies = []
    spurious = 0
    for _ in range(ROUNDS):
        err = k5.wait(NTFN)
        value = machine.mem32[TIMER + VALUE]
        latencies.append(PERIOD - value)
        # INTSTATUS (read at INTCLEAR): the timer really asks for service at each wake.
        if not machine.mem32[TIMER + INTCLEAR] & 1:
            spurious += 1
        machine.mem32[TIMER + INTCLEAR] = 1
        if err or ipc.badge != 4 or k5.irq_ack(IRQ):
            print("bad wake", err, ipc.badge)
    machine.mem32[TIMER + CTRL] = 0
    latencies.sort()
    print("latency", latencies[0], latencies[len(latencies) // 2], latencies[-1])
    print("spurious", spurious)
    print("info", k5.window_info(WINDOW, ipc))
    try:
        machine.mem32[TIMER + 0x1000] = 1  # Timer1: outside the window
    except OSError as exc:
        print("outside", exc)
    k5.signal(DONE)
    k5.wait(NTFN)  # the root revokes the window meanwhile and signals
    try:
        print("after revoke", machine.mem32[TIMER + VALUE])
    except OSError as exc:
        print("revoked", exc)
    k5.signal(DONE)


def stranger(ipc, arg):
    try:
        print("stranger read", machine.mem32[TIMER + VALUE])
    except OSError as exc:
        print("stranger", exc)
    try:
        machine.mem32[0x38000000] = 0  # the VM's RAM: mapped for every task, but not raw
    except OSError as exc:
        print("stranger heap", exc)


def spinner(ipc, arg):
    while True:
        pass


system = System()
ntfn = system.notification("timer")
window = system.window("timer0", TIMER, 0x1000)
irq = system.irq("timer0", LINE, ntfn, badge=4)
d = system.task("driver", driver, priority=50)
system.give(d, NTFN, ntfn, RIGHT_READ)
system.give(d, WINDOW, window)
system.give(d, IRQ, irq)
done = system.notification("done")
system.give(d, DONE, done)
system.task("stranger", stranger, priority=40)
if SPIN:
    system.task("spinner", spinner, priority=10)
k5.wait(done.slot)
print("irq", system.info(irq))
system.revoke(window)
system.signal(ntfn, 1)
k5.wait(done.slot)
system.close()
print("done")
