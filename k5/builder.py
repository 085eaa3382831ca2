"""The kernel-side builder: create a K5 system (scripts import it as k5.system.System)."""

# Two ways to build a system, both kernel-side (tasks never see these objects):
#   dynamic: sys = System(); ep = sys.endpoint("ep"); t = sys.task("t", body, priority=10)
#            sys.give(t, 1, ep, RIGHTS_RW); sys.run(1000)
#   static:  sys = build({"endpoints": [...], "notifications": [...], "tasks": [...]})
# When done with a system, close() it (or use `with System() as sys:`): on the host every task
# runs on a thread of its own, and close() unwinds the threads of tasks that never finished.
# The builder keeps the original cap of every object in a private root CNode; caps given to
# tasks are derived from it, so revoke works as in seL4's root task.
# On the device there is one kernel, booted by k5/boot.py with the REPL as its root task, and the
# REPL holds capabilities, never kernel objects: there k5.system.System is the front end of
# k5/front.py, and the root service (k5/rootsrv.py) builds each of its systems here, on the
# kernel's thread, as a group of objects in that one kernel (Builder(kernel=..., root=the root
# task's CSpace)). Only the kernel imports this module on the device.

from k5 import cdt, cnode, device, introspect, thread
from k5.abi import (
    CSPACE_MAX,
    ERR_ILLEGAL_OPERATION,
    ERR_RANGE,
    OK,
    RIGHTS_RW,
    TYPE_IRQ_CONTROL,
    TYPE_IRQ_HANDLER,
    TYPE_WINDOW,
    PRIORITY_MAX,
    ROOT_SLOTS,
    RIGHT_WRITE,
    RIGHTS_ALL,
    TYPE_ENDPOINT,
    TYPE_NOTIFICATION,
    TYPE_REPLY,
    TYPE_SCHED_CONTEXT,
    TYPE_SCHED_CONTROL,
    TYPE_TCB,
    TYPE_UNTYPED,
)
from k5 import arch as arch_module
from k5.arch import new as new_arch
from k5.building import BuildError
from k5.decode import printable
from k5.kernel import Kernel
from k5.objects import Endpoint, Notification, Reply, SchedControl, Untyped, handlers_of
from k5.ticks import TIME_MAX

DEFAULT_TIMESLICE = 5
# The usage log's default bound: 12 bytes an entry on the device, all taken when logging starts.
USAGE_MAX = 1000


class UsageLog:
    """A usage log (Kernel.usage_log) of at most `limit` entries (sc, start, end, tcb), of which
    it keeps start, end and tcb. Its room is taken at once, in three tables: entries made one
    by one as the kernel runs, between its other allocations, would leave the kernel's heap in
    pieces too small for the next big allocation (the budget scenario's usage() found no
    1 KB of room in a heap with 45 KB free)."""

    __slots__ = ("tcbs", "starts", "ends", "count")

    def __init__(self, limit):
        self.tcbs = [None] * limit
        self.starts = [0] * limit
        self.ends = [0] * limit
        self.count = 0

    def append(self, entry):
        i = self.count
        if i < len(self.tcbs):
            self.starts[i] = entry[1]
            self.ends[i] = entry[2]
            self.tcbs[i] = entry[3]
            self.count = i + 1


class Ref:
    """Builder-side handle of a kernel object and its original cap."""

    __slots__ = ("obj", "obj_type", "original", "name")

    def __init__(self, obj, obj_type, original, name):
        self.obj = obj
        self.obj_type = obj_type
        self.original = original
        self.name = name


class Task(Ref):
    """Builder-side handle of a task (its TCB and its SC)."""

    __slots__ = ("sc",)

    def __init__(self, obj, original, name, sc):
        Ref.__init__(self, obj, TYPE_TCB, original, name)
        self.sc = sc

    @property
    def tcb(self):
        return self.obj


class System:
    """A kernel plus the builder's root CNode of original caps.

    **Invariants:**
    - every object created here has exactly one original cap in the root CNode;
    - caps installed in tasks are descendants of an original cap.
    """

    __slots__ = ("arch", "kernel", "root", "refs", "tasks", "_control", "closed", "shared")

    def __init__(
        self,
        trace=None,
        console=None,
        arch=None,
        min_budget=1,
        debug=False,
        syscall_cost=1,
        start_time=0,
        kernel=None,
        root=None,
    ):
        # kernel, root: build a group of objects in an existing kernel, with the original caps
        # in CNode `root` (the device's root service); close() then destroys only the group.
        self.shared = kernel is not None
        if kernel is None:
            if arch is None:
                arch = new_arch(syscall_cost=syscall_cost, start=start_time)
            kernel = Kernel(arch, trace=trace, console=console, min_budget=min_budget, debug=debug)
        self.arch = kernel.arch
        self.kernel = kernel
        self.root = root if root is not None else cdt.CNode(0, "root")
        self.refs = []
        self.tasks = []
        self._control = None
        self.closed = False

    def _original(self, obj, obj_type, name):
        cap = cdt.Cap(obj, obj_type, RIGHTS_ALL, 0)
        slots = self.root.slots
        # A free slot above the reserved ones (ROOT_SLOTS: the root task's own), else a new one.
        index = len(slots)
        for i in range(ROOT_SLOTS, len(slots)):
            if slots[i] is None:
                index = i
                break
        if index == len(slots):
            slots.append(None)
        cdt.insert(self.root, index, cap, None)
        return cap

    def endpoint(self, name="", owner=None):
        endpoint = Endpoint(name, self.kernel._new_id())
        if owner is not None:
            endpoint.owner = owner.obj
        ref = Ref(endpoint, TYPE_ENDPOINT, self._original(endpoint, TYPE_ENDPOINT, name), name)
        self.refs.append(ref)
        return ref

    def notification(self, name=""):
        ntfn = Notification(name, self.kernel._new_id())
        ref = Ref(ntfn, TYPE_NOTIFICATION, self._original(ntfn, TYPE_NOTIFICATION, name), name)
        self.refs.append(ref)
        return ref

    def reply(self, name=""):
        """A Reply object (MCS): a server names its cap in recv/reply_recv to hold callers."""
        reply = Reply()
        ref = Ref(reply, TYPE_REPLY, self._original(reply, TYPE_REPLY, name), name)
        self.refs.append(ref)
        return ref

    def window(self, name, base, size, rights=RIGHTS_RW):
        """A device window: [base, base + size) of device memory, mapped into the MPU view of
        every task given a cap to it (rights: RIGHT_READ or RIGHTS_RW; see k5/device.py)."""
        if type(rights) is not int:
            raise BuildError(name + ": rights must be an int (RIGHT_READ or RIGHTS_RW)")
        try:
            window = device.new_window(self.kernel, base, size, name)
        except ValueError as exc:
            raise BuildError(name + ": " + str(exc))
        cap = self._original(window, TYPE_WINDOW, name)
        cap.rights = rights & RIGHTS_RW
        ref = Ref(window, TYPE_WINDOW, cap, name)
        self.refs.append(ref)
        return ref

    def irq_control(self):
        """The IRQControl: authority to make a handler for any free interrupt line."""
        control = device.irq_control()
        ref = Ref(
            control,
            TYPE_IRQ_CONTROL,
            self._original(control, TYPE_IRQ_CONTROL, control.name),
            control.name,
        )
        self.refs.append(ref)
        return ref

    def irq(self, name, line, ntfn=None, badge=1):
        """An IRQHandler for interrupt `line`, delivered to notification `ntfn` (if given) with
        `badge`; the line is unmasked once bound and masked again after each delivery until
        the holder acks it (k5.irq_ack)."""
        err = device.check_line(self.kernel, line)
        if err != OK:
            raise BuildError(name + ": interrupt line " + str(line) + " is not free")
        # Checked before the line is taken: a refused irq() leaves it free.
        if ntfn is not None and ntfn.obj_type != TYPE_NOTIFICATION:
            raise BuildError(name + ": an interrupt is delivered to a notification")
        if type(badge) is not int or badge < 0 or badge >= 0x40000000:
            raise BuildError(name + ": badge must be 0 <= badge < 2**30")
        handler = device.new_handler(self.kernel, line, name)
        ref = Ref(handler, TYPE_IRQ_HANDLER, self._original(handler, TYPE_IRQ_HANDLER, name), name)
        self.refs.append(ref)
        if ntfn is not None:
            # Through the notification's original cap: revoking it unbinds the line.
            device.bind(self.kernel, handler, ntfn.original, badge)
        return ref

    def _derive(self, task, parent, rights, badge, slot):
        # device.derive, its refusal (only a window can be refused) as a BuildError.
        cap = device.derive(self.kernel, task.obj, parent, rights, badge, slot)
        if type(cap) is int:
            reason = "it overlaps a window the task holds"
            if cap != ERR_ILLEGAL_OPERATION:
                reason = "the task already holds " + str(device.WINDOW_REGIONS) + " windows"
            raise BuildError(task.name + ": cannot map window " + parent.obj.name + ": " + reason)
        return cap

    def untyped(self, name, quota):
        """A quota of `quota` objects a task may create with untyped_retype."""
        untyped = Untyped(quota, name, self.kernel._new_id())
        ref = Ref(untyped, TYPE_UNTYPED, self._original(untyped, TYPE_UNTYPED, name), name)
        self.refs.append(ref)
        return ref

    def sched_control(self):
        if self._control is None:
            control = SchedControl()
            self._control = Ref(
                control,
                TYPE_SCHED_CONTROL,
                self._original(control, TYPE_SCHED_CONTROL, control.name),
                control.name,
            )
        return self._control

    def sched_context(self, name, budget, period, refills=4):
        self._check_sched(name, budget, period, refills)
        sc = self.kernel.create_sched_context(name, budget, period, refills)
        ref = Ref(sc, TYPE_SCHED_CONTEXT, self._original(sc, TYPE_SCHED_CONTEXT, name), name)
        self.refs.append(ref)
        return ref

    def _check_sched(self, name, budget, period, refills):
        if type(budget) is not int or type(period) is not int or type(refills) is not int:
            raise BuildError(name + ": budget, period and refills must be ints")
        if period < 0 or period > TIME_MAX:
            # k5/ticks.py's time-range rule: a longer period wraps the refills' tick arithmetic.
            raise BuildError(name + ": need period <= TIME_MAX (" + str(TIME_MAX) + ")", ERR_RANGE)
        if budget < self.kernel.min_budget or budget > period:
            raise BuildError(name + ": need min_budget <= budget <= period")
        if refills < 2 or refills > 16:
            raise BuildError(name + ": refills must be 2..16")

    def task(
        self,
        name,
        body,
        priority=100,
        mcp=None,
        budget=None,
        period=None,
        refills=4,
        slots=16,
        arg=None,
        start=True,
        passive=False,
        stack=None,
        heap=None,
    ):
        """Create a task; by default it has a round-robin SC of DEFAULT_TIMESLICE ticks.

        stack: the task's stack in bytes (device; None: the arch's default).
        heap: None, the task runs in the kernel's interpreter; else bytes of a heap of its own
        for an interpreter of its own (k5/image.py: body and arg travel as its image).
        """
        if type(name) is not str or printable(name) != name:
            raise BuildError("K5: a task's name must be text without control characters")
        if type(priority) is not int or priority < 0 or priority > PRIORITY_MAX:
            raise BuildError(name + ": priority must be 0..255")
        if mcp is None:
            mcp = priority
        if type(mcp) is not int or mcp < 0 or mcp > PRIORITY_MAX:
            raise BuildError(name + ": mcp must be 0..255")
        if type(slots) is not int or slots < 1 or slots > CSPACE_MAX:
            raise BuildError(name + ": slots must be 1.." + str(CSPACE_MAX))
        if stack is not None and type(stack) is not int:
            raise BuildError(name + ": stack must be an int (bytes) or None")
        if heap is not None and type(heap) is not int:
            raise BuildError(name + ": heap must be an int (bytes) or None")
        if type(body) is not bytes and (heap is not None or arch_module.DEVICE):
            # The kernel's own body (an app's task or the supervisor: a function of a frozen
            # module, packed by name) or, on the host, a test's function, as an image. No task's
            # function reaches here on the device (the wire carries none: the REPL packs its
            # bodies, k5/front.py). The one body that starts as a function is the root's, the
            # REPL in C in an interpreter of its own (a function without globals: the arch
            # refuses any other).
            if not arch_module.DEVICE or getattr(body, "__globals__", None) is not None:
                from k5 import image

                try:
                    body = image.pack(
                        body, arg, None if arch_module.DEVICE else image.host_code_names
                    )
                except image.ImageError as exc:
                    raise BuildError(name + ": " + str(exc))
        if type(body) is bytes:
            arg = None  # an image holds its arg
        kernel = self.kernel
        if budget is None:
            budget = DEFAULT_TIMESLICE if period is None else period
        if period is None:
            period = budget
        # Checked before the TCB exists: on the device it takes a stack from the arena.
        self._check_sched(name, budget, period, refills)
        # The arch may refuse the context (contexts or arena used up, a body or stack it cannot
        # start): nothing was made then. What follows needs only memory; without it the TCB
        # and SC made so far are destroyed again, so that no half-made task is left behind.
        tcb = kernel.create_tcb(name, body, arg, slots, priority, mcp, stack=stack, heap=heap)
        sc_ref = None
        task = None
        try:
            sc_ref = self.sched_context(name + ".sc", budget, period, refills)
            task = Task(tcb, None, name, sc_ref)
            self.tasks.append(task)
            self.refs.append(task)
            task.original = self._original(tcb, TYPE_TCB, name)
        except MemoryError:
            self._undo_task(tcb, sc_ref, task)
            raise
        kernel.bind_sc(sc_ref.obj, tcb)
        # A passive task initialises on its own SC and gives it up when it first waits in recv.
        tcb.passive_on_recv = passive
        if start:
            kernel.start(tcb)
        return task

    def _undo_task(self, tcb, sc_ref, task):
        # A task() that ran out of memory half way: its TCB (with its context) and SC go.
        kernel = self.kernel
        for refs in (self.tasks, self.refs):
            if task is not None and task in refs:
                refs.remove(task)
        if sc_ref is not None:
            if sc_ref in self.refs:
                self.refs.remove(sc_ref)
            kernel.delete(sc_ref.original)
        if task is not None and task.original is not None:
            kernel.delete(task.original)  # the TCB's only cap: destroys it
        else:
            thread.destroy(kernel, tcb, cnode.delete)

    def give(self, task, slot, ref, rights=RIGHTS_ALL, badge=0):
        """Install a cap to `ref` (derived from its original) in task's CSpace slot."""
        slots = task.obj.cspace.slots
        if type(slot) is not int or slot < 0 or slot >= len(slots):
            raise BuildError(task.name + ": slot " + str(slot) + " out of range")
        if slots[slot] is not None:
            raise BuildError(task.name + ": slot " + str(slot) + " is occupied")
        if type(badge) is not int or badge < 0 or badge >= 0x40000000:
            raise BuildError(task.name + ": badge must be 0 <= badge < 2**30")
        if badge and ref.obj_type != TYPE_ENDPOINT and ref.obj_type != TYPE_NOTIFICATION:
            raise BuildError(task.name + ": only endpoint and notification caps carry badges")
        return self._derive(task, ref.original, rights & ref.original.rights, badge, slot)

    def _handler(self, task, index, ref, badge):
        if ref.obj_type != TYPE_ENDPOINT:
            raise BuildError(task.name + ": a fault handler must be an endpoint")
        handlers = handlers_of(task.obj)
        if handlers.slots[index] is not None:
            cdt.unlink(handlers.slots[index])
        cdt.derive(ref.original, RIGHT_WRITE, badge, handlers, index)

    def fault_handler(self, task, ref, badge=0):
        """Faults of `task` become messages on endpoint `ref`, with `badge`."""
        self._handler(task, 0, ref, badge)

    def timeout_handler(self, task, ref, badge=0):
        """Budget exhaustion of `task` becomes a timeout fault message on `ref`."""
        self._handler(task, 1, ref, badge)

    def bind_notification(self, task, ref):
        tcb = task.obj
        ntfn = ref.obj
        if tcb.bound_ntfn is not None or ntfn.bound_tcb is not None:
            raise BuildError(task.name + ": notification already bound")
        tcb.bound_ntfn = ntfn
        ntfn.bound_tcb = tcb

    def start(self, task=None):
        """Start one task, or (no argument) every task not yet started.

        On the host, run(ticks) then runs them; on the device they run at once, beside the REPL.
        """
        if task is not None:
            self.kernel.start(task.obj)
            return
        for each in self.tasks:
            self.kernel.start(each.obj)

    def task_dicts(self):
        """Every task as a dict (see k5.introspect.task_dicts)."""
        return introspect.task_dicts(self.kernel, self._tcbs())

    def _tcbs(self):
        if self.shared:
            return [task.obj for task in self.tasks if task.obj in self.kernel.tcbs]
        return None

    def set_owner(self, endpoint, task):
        """Generation badges (BADGE_GEN_FLAG) on `endpoint` check `task`'s generation."""
        if endpoint.obj_type != TYPE_ENDPOINT or not isinstance(task, Task):
            raise BuildError("set_owner: an endpoint and a task")
        endpoint.obj.owner = task.obj
        # Generation badges given out already name the owner's generation from now on.
        for cap in cdt.descendants(endpoint.original):
            cdt.bind_generation(cap)

    def copy_cap(self, src, src_slot, dst, dst_slot, rights=RIGHTS_ALL, badge=0):
        """Derive a cap from the one in src's CSpace slot into dst's (as a cap transfer would)."""
        slots = src.obj.cspace.slots
        if type(src_slot) is not int or src_slot < 0 or src_slot >= len(slots):
            raise BuildError(src.name + ": slot " + str(src_slot) + " out of range")
        parent = slots[src_slot]
        if parent is None:
            raise BuildError(src.name + ": slot " + str(src_slot) + " is empty")
        dst_slots = dst.obj.cspace.slots
        if type(dst_slot) is not int or dst_slot < 0 or dst_slot >= len(dst_slots):
            raise BuildError(dst.name + ": slot " + str(dst_slot) + " out of range")
        if dst_slots[dst_slot] is not None:
            raise BuildError(dst.name + ": slot " + str(dst_slot) + " is occupied")
        self._derive(dst, parent, parent.rights & rights, badge or parent.badge, dst_slot)

    def info(self, ref):
        """The observable state of one object as a dict (see k5.introspect.object_info)."""
        return introspect.object_info(ref.obj)

    def record_usage(self, max_entries=USAGE_MAX):
        """Start logging every stretch of CPU time, up to `max_entries` (see usage())."""
        self.kernel.usage_log = UsageLog(max_entries)

    def usage(self):
        """(task name, start, end) of every stretch of CPU time since record_usage()."""
        log = self.kernel.usage_log
        if log is None:
            return []
        mine = self._tcbs()
        result = []
        for i in range(log.count):
            tcb = log.tcbs[i]
            if mine is None or tcb in mine:
                result.append((tcb.name, log.starts[i], log.ends[i]))
        return result

    def fast_path(self, mode):
        """Which code takes call and reply_recv, kernel-wide: "native" (the device's C fast
        path; the host has none, so the mode stays), "python" (k5/fastpath.py) or "general"
        (k5/ipc.py). Returns the mode before."""
        return self.kernel.set_fast_path(mode)

    def traps(self):
        """Traps the kernel has taken (all tasks)."""
        return self.kernel.traps

    def threads(self):
        """Names of every thread of the kernel but the root task's, in creation order."""
        root = self.kernel.root
        return [tcb.name for tcb in self.kernel.tcbs if tcb is not root]

    def unbind_sc(self, task):
        """Take the SC away from `task` (it keeps the SC's cap; sc_bind gives it back)."""
        sc = task.obj.sc
        if sc is None:
            raise BuildError(task.name + ": has no SC")
        self.kernel.unbind_sc(sc)

    def signal(self, ref, badge=1):
        """Signal a notification from outside any task (e.g. a simulated interrupt)."""
        self.kernel.signal(ref.obj, badge)

    def revoke(self, ref):
        self.kernel.revoke(ref.original)

    def run(self, ticks=-1, max_traps=-1):
        try:
            return self.kernel.run(ticks, max_traps)
        finally:
            if self.kernel.halted:
                self.close()  # a halted kernel never runs a task again

    def close(self):
        """Stop every task for good: unwinds their contexts (host: ends their threads).

        A group in a shared kernel (the device) destroys its tasks and its caps, nothing else.
        """
        if self.closed:
            return
        self.closed = True
        if self.shared:
            # The original caps are the group's whole authority: revoking and deleting them
            # destroys every object it made (threads stop, their stacks go back to the arena).
            kernel = self.kernel
            refs = list(self.refs)
            if self._control is not None:
                refs.append(self._control)
            for ref in refs:
                if ref.original.cnode is not None:
                    kernel.revoke(ref.original)
                    kernel.delete(ref.original)
            return
        close = getattr(self.arch, "close", None)
        if close is not None:
            close()

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        self.close()
        return False

    def now(self):
        return self.arch.now()

    def ps(self, out=print, show_caps=True):
        introspect.ps(self.kernel, out, show_caps, self._tcbs())

    def lookup(self, name):
        for ref in self.refs:
            if ref.name == name:
                return ref
        return None


def _get(config, key, default):
    if key in config:
        return config[key]
    return default


def build(config, trace=None, console=None, debug=False):
    """Build a System from a static description (dicts and lists; see docs/kernel.md)."""
    system = System(trace=trace, console=console, debug=debug)
    for item in _get(config, "endpoints", []):
        if type(item) is str:
            system.endpoint(item)
        else:
            system.endpoint(item[0])
    for name in _get(config, "notifications", []):
        system.notification(name)
    specs = _get(config, "tasks", [])
    for spec in specs:
        system.task(
            spec["name"],
            spec["entry"],
            priority=_get(spec, "priority", 100),
            mcp=_get(spec, "mcp", None),
            budget=_get(spec, "budget", None),
            period=_get(spec, "period", None),
            refills=_get(spec, "refills", 4),
            slots=_get(spec, "slots", 16),
            arg=_get(spec, "arg", None),
            start=False,
            passive=_get(spec, "passive", False),
        )
    for item in _get(config, "endpoints", []):
        if type(item) is not str and len(item) > 1:
            owner = system.lookup(item[1])
            if owner is None:
                raise BuildError("endpoint " + item[0] + ": unknown owner " + item[1])
            system.lookup(item[0]).obj.owner = owner.obj
    for spec in specs:
        task = system.lookup(spec["name"])
        for cap in _get(spec, "caps", []):
            if cap[1] == "sched_control":
                ref = system.sched_control()
            else:
                ref = system.lookup(cap[1])
            if ref is None:
                raise BuildError(task.name + ": unknown object " + str(cap[1]))
            rights = cap[2] if len(cap) > 2 else RIGHTS_ALL
            badge = cap[3] if len(cap) > 3 else 0
            system.give(task, cap[0], ref, rights, badge)
        handler = _get(spec, "fault_handler", None)
        if handler is not None:
            system.fault_handler(task, system.lookup(handler[0]), handler[1])
        handler = _get(spec, "timeout_handler", None)
        if handler is not None:
            system.timeout_handler(task, system.lookup(handler[0]), handler[1])
        bound = _get(spec, "bind", None)
        if bound is not None:
            system.bind_notification(task, system.lookup(bound))
    for spec in specs:
        if _get(spec, "start", True):
            system.start(system.lookup(spec["name"]))
    return system


# The kernel-side builder under the name the kernel uses (k5.system.System is the front end on
# the device).
Builder = System
