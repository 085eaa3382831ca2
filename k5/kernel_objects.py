"""The kernel's own operations for the builder and the root task: making objects, starting,
signalling, deleting and restarting from outside any task (k5/system.py, k5/rootsrv.py)."""

# Kernel inherits these (class Kernel(KernelObjects), k5/kernel.py): they are kernel-side and
# reachable from no task, and none is on the trap path, so they live apart from the trap loop
# and the scheduler. Each is a perform: its caller has checked its arguments.

from k5 import abi, cnode, notification, thread
from k5.objects import SchedContext, TCB


class KernelObjects:
    __slots__ = ()

    def _new_id(self):
        oid = self.next_id
        self.next_id = oid + 1
        return oid

    def create_tcb(
        self, name, entry, arg, cspace_size, priority, mcp, regions=(), stack=None, heap=None
    ):
        if heap is None:
            context = self.arch.context_new(entry, arg, stack, name)
        else:
            context = self.arch.context_new(entry, arg, stack, name, heap)
        try:
            # The context's IPC buffer (raw memory of the task's on the device) and the task's
            # device windows and other regions of its memory view (MPU on the device).
            tcb = TCB(self._new_id(), name, cspace_size, self.arch.ipc_buffer(context))
            self.arch.memory_view(context, regions)
            self.tcbs.append(tcb)
        except Exception:
            # Out of memory (or a view the arch refuses): the context goes back, unused.
            self.arch.context_free(context)
            raise
        tcb.context = context
        tcb.priority = priority
        tcb.mcp = mcp
        tcb.entry = entry
        tcb.arg = arg
        return tcb

    def create_sched_context(self, name, budget, period, refills):
        sc = SchedContext(self.min_budget, name, self._new_id())
        sc.configure(budget, period, refills, self.arch.now())
        self.objects.append(sc)
        return sc

    def bind_sc(self, sc, tcb):
        """Bind an unbound SC to a TCB without one (builder and sc_bind perform)."""
        sc.tcb = tcb
        sc.home = tcb
        tcb.sc = sc
        tcb.home_sc = sc
        if tcb.state == abi.STATE_RUNNING and tcb is not self.current and tcb.queue is None:
            self.schedule_runnable(tcb)

    def start(self, tcb):
        """Make an inactive thread runnable (TCB resume)."""
        if tcb.state == abi.STATE_INACTIVE:
            tcb.state = abi.STATE_RUNNING
            self.schedule_runnable(tcb)

    # Kernel-side entry points for the builder (k5/system.py) and the root task's tools.

    def signal(self, ntfn, badge):
        """An interrupt from outside any task: signal ntfn with badge (perform)."""
        notification.do_signal(self, ntfn, badge)

    def delete(self, cap):
        cnode.delete(self, cap)

    def revoke(self, cap):
        cnode.revoke(self, cap)

    def restart(self, tcb):
        thread.restart(self, tcb)

    def _break_root(self):
        """Ctrl-C: the root task leaves whatever it waits in (IPC, a notification, a sleep)
        with ERR_STALE, and so gets to its pending KeyboardInterrupt (perform)."""
        root = self.root
        if root is None:
            return
        state = root.state
        if (
            state == abi.STATE_BLOCKED_SEND
            or state == abi.STATE_BLOCKED_RECV
            or state == abi.STATE_BLOCKED_REPLY
            or state == abi.STATE_BLOCKED_NOTIFICATION
            or state == abi.STATE_BLOCKED_SLEEP
        ):
            thread.cancel(self, root, abi.ERR_STALE)
            self.set_result(root.context, abi.ERR_STALE)
            root.state = abi.STATE_RUNNING
            self.schedule_runnable(root)

    def bind_irq(self, line, ntfn, badge):
        """Soft interrupt `line` (IRQ_CONSOLE) signals `ntfn` with `badge` (boot; hardware lines
        reach tasks through IRQ caps, k5/device.py)."""
        if type(line) is not int or line < 0 or line >= abi.IRQ_LINES:
            raise ValueError("interrupt line out of range")
        self.irq_table[line] = (ntfn, badge)

    def suspend(self, tcb):
        thread.suspend(self, tcb)

    def tcb_by_name(self, name):
        for tcb in self.tcbs:
            if tcb.name == name:
                return tcb
        return None
