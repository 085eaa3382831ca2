"""On the board: no half-made thread, no window over what the kernel keeps (issue 22)."""

# The REPL's builder fills the task contexts (or the stack arena) until it is refused; the
# root then retypes a TCB and configures it, which the arch cannot give a context: the TCB
# must stay unconfigured, and resume and restart refuse it (before, restart reached the arch
# with no context: K5 PANIC). A body the arch cannot start (a bound method) is refused the
# same way. Once contexts are free the TCB configures, resumes and restarts. Then windows
# over the console (either alias) and the kernel's clock, and the console's interrupt lines,
# are refused by the builder, and the windows right beside them are not.

import k5
from k5.abi import ERR_ILLEGAL_OPERATION, ERR_INVALID_ARGUMENT, ERR_NOT_ENOUGH_MEMORY, OK
from k5.abi import TYPE_TCB
from k5.system import BuildError, System


def idle(ipc, arg):
    k5.sleep(1000)


class Holder:
    def body(self, ipc, arg):
        pass


def show(name, got, wanted):
    print(name, "ok" if got == wanted else "FAIL got %r wanted %r" % (got, wanted))


system = System()
ut = system.untyped("ut", 2)
spare = system.endpoint("spare")
k5.delete(spare.slot)  # an empty slot of the root's CSpace to retype into (at once: the
tcb = spare.slot  # builder would take it for its next object)
show("retype", k5.untyped_retype(ut.slot, TYPE_TCB, tcb), OK)

fill = System()
made = 0
try:
    while made < 40:
        fill.task("f%d" % made, idle, priority=10, start=False)
        made += 1
except (BuildError, MemoryError) as exc:
    print("builder refused after", made, "tasks:", str(exc)[:60])
show("filled", made < 40, True)
show(
    "configure without a context",
    k5.tcb_configure(tcb, idle, None, 10, 4, "late"),
    ERR_NOT_ENOUGH_MEMORY,
)
show("restart", k5.tcb_restart(tcb), ERR_ILLEGAL_OPERATION)
show("resume", k5.tcb_resume(tcb), ERR_ILLEGAL_OPERATION)
fill.close()
show(
    "bound method body",
    k5.tcb_configure(tcb, Holder().body, None, 10, 4, "late"),
    ERR_INVALID_ARGUMENT,
)
show("restart", k5.tcb_restart(tcb), ERR_ILLEGAL_OPERATION)
show("configure", k5.tcb_configure(tcb, idle, None, 10, 4, "late"), OK)
show("resume", k5.tcb_resume(tcb), OK)
show("restart", k5.tcb_restart(tcb), OK)

for base, size in (
    (0x50200000, 0x1000),
    (0x40200000, 0x1000),
    (0x501FFFE0, 0x40),
    (0x50302000, 0x20),
):
    try:
        system.window("w", base, size)
        print("window", hex(base), "FAIL accepted")
    except BuildError as exc:
        show("window " + hex(base), "keeps for itself" in str(exc), True)
for base in (0x501FF000, 0x50201000):
    show("window beside " + hex(base), system.window("b", base, 0x1000).slot > 0, True)
for line in (32, 33, 42):
    try:
        system.irq("console", line)
        print("irq", line, "FAIL accepted")
    except BuildError:
        print("irq", line, "ok")
show("irq beside", system.irq("uart1", 34).slot > 0, True)
system.close()
print("done")
