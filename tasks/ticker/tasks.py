"""The ticker app's driver: CMSDK Timer0 through a device window, its interrupt as a signal."""

import machine

import k5

NTFN, WINDOW, IRQ = 0, 1, 2  # slots (app.toml)
CTRL, VALUE, RELOAD, INTCLEAR = 0x0, 0x4, 0x8, 0xC


def driver(ipc, base, period, ticks):
    machine.mem32[base + CTRL] = 0
    machine.mem32[base + RELOAD] = period
    machine.mem32[base + VALUE] = period
    machine.mem32[base + CTRL] = 0b1001  # enable, interrupt enable
    for n in range(1, ticks + 1):
        k5.wait(NTFN)
        machine.mem32[base + INTCLEAR] = 1
        k5.irq_ack(IRQ)
        if n % 10 == 0:
            print("tick %d at %d ms" % (n, k5.now(ipc)))
    machine.mem32[base + CTRL] = 0
    print("ticker done")
