"""On the board: k5.log records from a task, the REPL and the kernel, and forged ones."""

import _k5attack as x
from k5 import log
from k5.abi import SVC_LOG
from k5.system import System

K5KERNEL = 0  # an address inside .k5kernel (the test substitutes it)


def body(ipc, arg):
    log.info("round %d: err %d", 3, -4)  # in the image's table (tasks/pingpong)
    log.debug("typed %s %f %s", "text", 1.5, None)  # not in it: the format travels as text
    log.warn("long %s", "y" * 100)  # a str argument is cut at 64 bytes
    log.error("object %s", (1, 2))
    body = bytearray(b"\x01\x02\x00")
    print("forged", x.svc(SVC_LOG, K5KERNEL, 8), x.svc(SVC_LOG, id(body), 400))
    raise ValueError("on purpose")


log.kernel_events(True)
system = System()
system.task("logger", body, priority=10)
system.run(200)
log.info("from the root %d", 1)
log.kernel_events(False)
print("done")
