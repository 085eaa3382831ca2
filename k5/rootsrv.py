"""The root service: the kernel's side of the root task's builder (SYS_BUILD; k5/front.py)."""

# On the device the REPL is the root task: it holds capabilities, never kernel objects. Its
# builder (k5/front.py) sends each operation here as (SYS_BUILD, op, args); this service runs it
# on the kernel's thread with the kernel-side builder (k5.builder.Builder), one group of objects
# per front-end System, and answers (OK, value) or (error, message). What it answers is plain
# data (slots of the root task's CSpace, where the original cap of every object built lands;
# thread ids, task dicts, text lines), and it crosses as bytes into a buffer of the root's
# (the arch's write_answer: on the device C that allocates nothing), never as an object.

import gc
import sys

from k5 import introspect
from k5.abi import ERR_INVALID_ARGUMENT, ERR_RANGE, OK, STATE_BLOCKED_SLEEP, STATE_RUNNING
from k5.image import unplain
from k5.builder import Builder, BuildError


# Imported here, never inside a function: code on the kernel's thread imports nothing at run
# time (what it imports binds into the package k5, which every task holds).
try:
    import _k5arch
except ImportError:
    _k5arch = None  # the host


def freeze_k5():
    """Freeze the package k5, every k5 module the kernel has loaded and their classes (device):
    no task, nor the REPL, can rebind a function or class the kernel uses. These are the modules
    the kernel lends every task (native/k5arch/namespace.c). Run at boot and at each SYS_BUILD
    (cheap when nothing new was loaded: a module already frozen is skipped)."""
    if _k5arch is None:
        return  # the host: tests patch freely
    modules = sys.modules
    for name in list(modules):
        if name == "k5" or name.startswith("k5."):
            module = modules[name]
            if _k5arch.freeze(module):
                continue
            for value in module.__dict__.values():
                if type(value) is type and getattr(value, "__module__", name) == name:
                    _k5arch.freeze(value)


# This runs on the kernel's privileged thread: an object of the root's (its __repr__, __hash__,
# __eq__, __ge__, __iter__ ...) must never be printed, hashed, compared or iterated here, or the
# REPL's code would run privileged (it could read or clear MPU_CTRL). So operations take plain
# values only, checked by exact type before anything else looks at them; a task's body goes on
# unlooked-at to the context it runs in (which takes a function only: native/k5arch).
_NOT_PLAIN = (
    "K5: builder operations take plain values (None, bool, int, float, str, bytes, tuples of "
    "these; a task's options a dict of them)"
)


def _unplain_arguments(op, args):
    index = 0
    for value in args:
        if op == "task" and index == 2:
            pass  # the body: only ever called in its own task
        elif op == "task" and index == 3:
            if type(value) is not dict:
                return type(value)
            for key in value:
                if type(key) is not str:
                    return type(key)
                inner = unplain(value[key])
                if inner is not None:
                    return inner
        else:
            inner = unplain(value)
            if inner is not None:
                return inner
        index += 1
    return None


class RootService:
    """Builder operations on behalf of the root task.

    **Invariants:**
    - refs maps a root CSpace slot to the builder Ref whose original cap is in that slot;
    - every group shares the one kernel and the root task's CSpace.
    """

    __slots__ = (
        "kernel",
        "cspace",
        "groups",
        "refs",
        "next_gid",
        "traced",
        "checked",
        "last_switch",
        "root_ran",
        "answer",
    )

    def __init__(self, kernel, cspace):
        self.kernel = kernel
        self.cspace = cspace
        self.groups = {}
        self.refs = {}
        self.next_gid = 1
        # Groups built with trace=True / debug=True: the kernel traces (prints) its events and
        # checks its invariants after every trap while any of them lives.
        self.traced = []
        self.checked = []
        self.last_switch = ""
        self.root_ran = False
        # The answer that did not fit the root's buffer, until the root takes it ("answer").
        self.answer = None

    def call(self, op, args, buffer):
        """SYS_BUILD: run one operation and write its answer, (OK, value) or (error, message),
        into the root's buffer as bytes after their length (k5/wire.py): the root makes objects
        of its own from them. OK; or ERR_RANGE, with only the length written, when the answer
        does not fit: it then waits here for the operation "answer" with a buffer that big.
        Never raises (the root's mistakes are answers)."""
        if type(op) is str and op == "answer" and self.answer is not None:
            value = self.answer
        else:
            value = self._perform(op, args)
        self.answer = None
        write = self.kernel.arch.write_answer
        size = write(buffer, value)
        if size < 0:  # a value no answer carries: the service's own bug, said as an answer
            value = (ERR_INVALID_ARGUMENT, "K5: the answer holds a value no answer carries")
            size = write(buffer, value)
        if size > len(buffer) - 4:
            self.answer = value
            return ERR_RANGE
        return OK

    def _perform(self, op, args):
        """One operation's answer; never raises (the caller's mistakes come back as errors)."""
        # Operations are the op_* methods (looked up per call: no table kept in the heap).
        freeze_k5()  # modules the root imported since (k5.front, k5.root, ...)
        # (A type's name is the class's own, read without running any of its code.)
        kind = unplain(op) if unplain(op) is not None else _unplain_arguments(op, args)
        if kind is not None:
            return (ERR_INVALID_ARGUMENT, _NOT_PLAIN + ", not a " + kind.__name__)
        handler = getattr(self, "op_" + op, None) if type(op) is str else None
        if handler is None:
            return (ERR_INVALID_ARGUMENT, "K5: no builder operation " + repr(op))
        try:
            return (OK, handler(*args))
        except BuildError as exc:
            detail = exc.args
            if len(detail) == 2:
                return (detail[1], detail[0])  # (ERR_RANGE, message)
            return (ERR_INVALID_ARGUMENT, str(exc))
        except (TypeError, ValueError, KeyError, IndexError, MemoryError, OSError) as exc:
            return (ERR_INVALID_ARGUMENT, type(exc).__name__ + ": " + str(exc))

    # --- lookups -------------------------------------------------------------------------------

    def _group(self, gid):
        group = self.groups.get(gid)
        if group is None:
            raise BuildError("K5: this system was closed")
        return group

    def _ref(self, slot):
        ref = self.refs.get(slot) if type(slot) is int else None
        if ref is None or ref.original.cnode is not self.cspace:
            raise BuildError("K5: root slot " + str(slot) + " holds no object of a live system")
        return ref

    def _task(self, slot):
        ref = self._ref(slot)
        if not hasattr(ref, "sc"):
            raise BuildError("K5: root slot " + str(slot) + " is not a task")
        return ref

    def _slot(self, ref):
        self.refs[ref.original.index] = ref
        return ref.original.index

    # --- operations ----------------------------------------------------------------------------

    def op_new(self, trace, debug):
        gid = self.next_gid
        self.next_gid = gid + 1
        self.groups[gid] = Builder(kernel=self.kernel, root=self.cspace)
        if trace:
            self.traced.append(gid)
            self.kernel.trace = self._trace
        if debug:
            self.checked.append(gid)
            self.kernel.debug = True
        return gid

    def _trace(self, line):
        # The root task's switches are left out, and so is the switch back to the task it
        # interrupted: a trace then reads as on the host, where the builder is no task.
        root = self.kernel.root
        event = line[line.find(" ") + 1 :]
        if event.startswith("switch "):
            if root is not None and event == "switch " + root.name:
                self.root_ran = True
                return
            if self.root_ran and event == self.last_switch:
                self.root_ran = False
                return
            self.last_switch = event
            self.root_ran = False
        print(line)

    def op_endpoint(self, gid, name, owner):
        owner_ref = self._task(owner) if owner >= 0 else None
        return self._slot(self._group(gid).endpoint(name, owner_ref))

    def op_notification(self, gid, name):
        return self._slot(self._group(gid).notification(name))

    def op_window(self, gid, name, base, size, rights):
        return self._slot(self._group(gid).window(name, base, size, rights))

    def op_irq(self, gid, name, line, ntfn, badge):
        ntfn_ref = self._ref(ntfn) if ntfn >= 0 else None
        return self._slot(self._group(gid).irq(name, line, ntfn_ref, badge))

    def op_untyped(self, gid, name, quota):
        return self._slot(self._group(gid).untyped(name, quota))

    def op_sched_control(self, gid):
        return self._slot(self._group(gid).sched_control())

    def op_sched_context(self, gid, name, budget, period, refills):
        return self._slot(self._group(gid).sched_context(name, budget, period, refills))

    def op_task(self, gid, name, body, options):
        if type(name) is not str:
            raise BuildError("K5: a task's name must be a str")
        # An image (bytes, k5/image.py): the REPL packs every body on the device, where the wire
        # carries no function; the host's front passes the function.
        if type(body) is not bytes and not callable(body):
            raise BuildError(name + ": the body must be a function body(ipc, arg)")
        task = self._group(gid).task(name, body, **options)
        return (self._slot(task), self._slot(task.sc), task.obj.tid, task.sc.name)

    def op_give(self, gid, task, slot, ref, rights, badge):
        self._group(gid).give(self._task(task), slot, self._ref(ref), rights, badge)

    def op_fault_handler(self, gid, task, ref, badge):
        self._group(gid).fault_handler(self._task(task), self._ref(ref), badge)

    def op_timeout_handler(self, gid, task, ref, badge):
        self._group(gid).timeout_handler(self._task(task), self._ref(ref), badge)

    def op_bind_notification(self, gid, task, ref):
        self._group(gid).bind_notification(self._task(task), self._ref(ref))

    def op_start(self, gid, task):
        group = self._group(gid)
        group.start(self._task(task) if task >= 0 else None)

    def op_set_owner(self, gid, endpoint, task):
        self._group(gid).set_owner(self._ref(endpoint), self._task(task))

    def op_copy_cap(self, gid, src, src_slot, dst, dst_slot, rights, badge):
        group = self._group(gid)
        group.copy_cap(self._task(src), src_slot, self._task(dst), dst_slot, rights, badge)

    def op_info(self, ref):
        return introspect.object_info(self._ref(ref).obj)

    def op_record_usage(self, gid):
        self._group(gid).record_usage()

    def op_usage(self, gid):
        return self._group(gid).usage()

    def op_fast_path(self, mode):
        return self.kernel.set_fast_path(mode)

    def op_traps(self):
        return self.kernel.traps

    def op_threads(self):
        return [tcb.name for tcb in self.kernel.tcbs if tcb is not self.kernel.root]

    def op_unbind_sc(self, gid, task):
        self._group(gid).unbind_sc(self._task(task))

    def op_reply(self, gid, name):
        return self._slot(self._group(gid).reply(name))

    def op_signal(self, gid, ref, badge):
        self._group(gid).signal(self._ref(ref), badge)

    def op_revoke(self, gid, ref):
        self._group(gid).revoke(self._ref(ref))

    def op_close(self, gid):
        group = self.groups.pop(gid, None)
        if group is None:
            return
        for task in group.tasks:
            self.refs.pop(task.sc.original.index, None)
        for ref in group.refs:
            self.refs.pop(ref.original.index, None)
        if group._control is not None:
            self.refs.pop(group._control.original.index, None)
        group.close()
        self.kernel.usage_log = None
        if gid in self.traced:
            self.traced.remove(gid)
            if not self.traced:
                self.kernel.trace = None
        if gid in self.checked:
            self.checked.remove(gid)
            if not self.checked:
                self.kernel.debug = False

    def op_busy(self, gid):
        """Whether a task of the system can still run (ready, running, waiting for budget or
        asleep): the front end's run() waits until none can."""
        for task in self._group(gid).tasks:
            state = task.obj.state
            if state == STATE_RUNNING or state == STATE_BLOCKED_SLEEP:
                return True
        return False

    def _tcbs(self, gid):
        if gid == 0:
            return None  # every thread of the kernel, the root task included
        return self._group(gid)._tcbs()

    def op_tasks(self, gid):
        return introspect.task_dicts(self.kernel, self._tcbs(gid))

    def op_ps(self, gid, show_caps):
        lines = []
        introspect.ps(self.kernel, lines.append, show_caps, self._tcbs(gid))
        return lines

    def op_stats(self, task):
        stats = getattr(self.kernel.arch, "context_stats", None)
        if stats is None:
            raise BuildError("K5: no context statistics on this arch")
        return stats(self._task(task).obj.context)

    def op_now(self):
        return self.kernel.arch.now()

    def op_arena(self):
        if _k5arch is None:
            raise BuildError("K5: no task-stack arena on this arch")
        return _k5arch.arena()

    def op_heap(self):
        if _k5arch is None:
            raise BuildError("K5: the host's kernel has no heap of its own")
        gc.collect()
        free = gc.mem_free()
        return (free, free + gc.mem_alloc())
