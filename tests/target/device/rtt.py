"""On the board: k5.log frames over RTT (a probe's channel), then back on the console."""

from k5 import log
from k5.system import System

log.rtt(True)


def body(ipc, arg):
    from k5 import log

    for i in range(3):
        log.info("rtt %d of %d", i, 3)


system = System()
system.task("rttlog", body, priority=20)
system.run(50)
log.warn("from the root %d", 7)
log.rtt(False)
log.info("console again %d", 1)
print("done")
