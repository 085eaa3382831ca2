"""Scenario: a notification as a stand-in interrupt, bound to a server's TCB."""

import sys

try:
    sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../.." if "/" in __file__ else "../..")
except NameError:
    pass  # run on a board (mpremote run): k5 is frozen into the firmware

import k5  # noqa: E402
from k5.abi import SOURCE_NOTIFICATION, RIGHT_READ, RIGHT_WRITE, RIGHT_GRANT  # noqa: E402
from k5.system import System  # noqa: E402

EP = 1
IRQ = 2


def driver(ipc, arg):
    # Waits on its endpoint; the bound notification (the "IRQ") wakes the same recv.
    handled = 0
    while handled < 5:
        k5.recv(EP)
        if ipc.source == SOURCE_NOTIFICATION:
            handled += 1
            k5.puts("irq bits=%d" % ipc.badge)
        else:
            k5.puts("request %s" % (ipc.word_tuple(),))
    k5.puts("driver done")


def device(ipc, arg):
    # Simulated hardware: raises the interrupt line every 7 ticks.
    for i in range(5):
        k5.spin(7)
        k5.signal(IRQ)


def client(ipc, arg):
    k5.spin(10)
    k5.send(EP, 0, (42,))


system = System(trace=print, debug=True)
ep = system.endpoint("ep")
irq = system.notification("irq")
drv = system.task("driver", driver, priority=100)
dev = system.task("device", device, priority=20)
cli = system.task("client", client, priority=20)
system.give(drv, EP, ep, RIGHT_READ)
system.give(dev, IRQ, irq, RIGHT_WRITE, badge=1)
system.give(cli, EP, ep, RIGHT_WRITE | RIGHT_GRANT)
system.bind_notification(drv, irq)
print("result", system.run(200))
system.signal(irq, 8)
state = system.info(irq)
print("after external signal, irq word is", state["word"], "active", state["active"])
