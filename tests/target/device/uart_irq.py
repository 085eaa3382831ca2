"""On the board: a driver task owns UART1 through a device window and its receive interrupt."""

# CMSDK UART1 (Secure alias 0x50201000; its receive interrupt is IRQ 34). The test writes
# bytes into the emulator's second serial port; the driver wakes on each interrupt, drains the
# receive register, clears the interrupt and acks the line, until COUNT bytes came.

import machine

import k5
from k5.abi import RIGHT_READ
from k5.system import System

UART = 0x50201000
DATA, STATE, CTRL, INTCLEAR, BAUDDIV = 0x0, 0x4, 0x8, 0xC, 0x10
LINE = 34
NTFN, WINDOW, IRQ, DONE = 0, 1, 2, 3
COUNT = 0


def driver(ipc, count):
    mem = machine.mem32
    mem[UART + BAUDDIV] = 173  # 115200 baud at 20 MHz
    mem[UART + CTRL] = 0b1010  # receive, receive interrupt
    print("ready")
    got = bytearray()
    wakes = 0
    while len(got) < count:
        k5.wait(NTFN)
        wakes += 1
        while mem[UART + STATE] & 2:
            got.append(mem[UART + DATA] & 0xFF)
        mem[UART + INTCLEAR] = 2
        k5.irq_ack(IRQ)
    mem[UART + CTRL] = 0
    print("received", bytes(got), "wakes", wakes > 0)
    k5.signal(DONE)


system = System()
ntfn = system.notification("rx")
done = system.notification("done")
d = system.task("uart", driver, priority=50, arg=COUNT)
system.give(d, NTFN, ntfn, RIGHT_READ)
system.give(d, WINDOW, system.window("uart1", UART, 0x1000))
system.give(d, IRQ, system.irq("uart1.rx", LINE, ntfn))
system.give(d, DONE, done)
k5.wait(done.slot)
system.close()
print("done")
