"""The root task's builder: `System` on the device, a front end over SYS_BUILD."""

# The REPL is the root task: it holds capabilities, never kernel objects. Every builder call
# here is one SYS_BUILD syscall that the root service (k5/rootsrv.py) performs on the kernel's
# thread; what comes back is a handle naming a slot of the root task's CSpace. The names and
# arguments are those of the kernel-side builder (k5/builder.py), so a script builds a system the
# same way on the host and on the board. Differences: start() starts tasks at once (they run
# beside the REPL), run(ticks) sleeps the REPL for `ticks` while they run, run() waits until
# none of the system's tasks can run, and close() destroys the system's tasks and objects.

from k5.abi import (
    ERR_RANGE,
    OK,
    RIGHTS_ALL,
    RIGHTS_RW,
    SYS_BUILD,
    SYS_SLEEP,
    TYPE_ENDPOINT,
    TYPE_IRQ_HANDLER,
    TYPE_NOTIFICATION,
    TYPE_REPLY,
    TYPE_SCHED_CONTEXT,
    TYPE_SCHED_CONTROL,
    TYPE_TCB,
    TYPE_UNTYPED,
    TYPE_WINDOW,
)
from k5.arch import DEVICE, read_answer, trap
from k5.building import RUN_IDLE, RUN_TIME_UP, BuildError
from k5.ticks import ticks_add, ticks_diff

# How often run() looks whether the system's tasks are done, in ticks (1 ms on the device).
RUN_POLL = 20
# Bytes of the buffer an answer is first asked into: most fit (a slot, a task's handles).
ANSWER_ROOM = 124
_HEAD = 4  # the answer's length, before it (k5/wire.py)


def call(op, *args):
    """One builder operation through SYS_BUILD; raises BuildError with the kernel's reason.

    The kernel writes its answer, (OK, value) or (error, message), into a buffer of ours as
    bytes (k5/wire.py); an answer that does not fit waits in the kernel for the operation
    "answer" with a buffer that big. The objects are made here, from those bytes."""
    buffer = bytearray(_HEAD + ANSWER_ROOM)
    err = trap((SYS_BUILD, op, args, buffer))
    if err == ERR_RANGE:
        buffer = bytearray(_HEAD + int.from_bytes(buffer[:_HEAD], "little"))
        err = trap((SYS_BUILD, "answer", (), buffer))
    if err != OK:
        raise OSError("K5: SYS_BUILD refused (error " + str(err) + "): only the root builds")
    status, value = read_answer(buffer)
    if status != OK:
        raise BuildError(value)
    return value


class Ref:
    """A handle of an object the root task built: the slot of its original cap."""

    __slots__ = ("slot", "obj_type", "name")

    def __init__(self, slot, obj_type, name):
        self.slot = slot
        self.obj_type = obj_type
        self.name = name

    def __repr__(self):
        return "<K5 " + self.name + " in root slot " + str(self.slot) + ">"


class Task(Ref):
    """A handle of a task: its TCB's slot, its SC's handle and its thread id."""

    __slots__ = ("sc", "tid")

    # The same for every task: a class attribute, which costs no room in each handle's
    # attribute table on the device (Ref's obj_type slot stays unused).
    obj_type = TYPE_TCB

    def __init__(self, slot, name, sc, tid):
        self.slot = slot
        self.name = name
        self.sc = sc
        self.tid = tid


def ps(show_caps=True, out=print):
    """Print every thread of the kernel (the root task included)."""
    for line in call("ps", 0, show_caps):
        out(line)


def tasks():
    """Every thread of the kernel as a dict (the root task included)."""
    return call("tasks", 0)


class System:
    """A system built from the root task (same API as k5.builder.Builder)."""

    __slots__ = ("gid", "refs", "tasks", "closed", "_control")

    def __init__(self, trace=None, debug=False, **options):
        # trace: the kernel prints its events (on the console: `trace` itself stays in the REPL)
        # while this system lives; debug: it checks its invariants after every trap. The host
        # builder's other options (console, syscall_cost, ...) concern a simulated kernel.
        self.gid = call("new", trace is not None, bool(debug))
        self.refs = []
        self.tasks = []
        self.closed = False
        self._control = None

    def _add(self, ref):
        self.refs.append(ref)
        return ref

    def endpoint(self, name="", owner=None):
        slot = call("endpoint", self.gid, name, owner.slot if owner is not None else -1)
        return self._add(Ref(slot, TYPE_ENDPOINT, name))

    def notification(self, name=""):
        return self._add(Ref(call("notification", self.gid, name), TYPE_NOTIFICATION, name))

    def window(self, name, base, size, rights=RIGHTS_RW):
        """A device window given to tasks with give() (see k5.builder.Builder.window)."""
        slot = call("window", self.gid, name, base, size, rights)
        return self._add(Ref(slot, TYPE_WINDOW, name))

    def irq(self, name, line, ntfn=None, badge=1):
        """An IRQHandler for `line` delivered to `ntfn` (see k5.builder.Builder.irq)."""
        slot = call("irq", self.gid, name, line, ntfn.slot if ntfn is not None else -1, badge)
        return self._add(Ref(slot, TYPE_IRQ_HANDLER, name))

    def untyped(self, name, quota):
        return self._add(Ref(call("untyped", self.gid, name, quota), TYPE_UNTYPED, name))

    def sched_control(self):
        if self._control is None:
            self._control = Ref(
                call("sched_control", self.gid), TYPE_SCHED_CONTROL, "sched_control"
            )
        return self._control

    def sched_context(self, name, budget, period, refills=4):
        slot = call("sched_context", self.gid, name, budget, period, refills)
        return self._add(Ref(slot, TYPE_SCHED_CONTEXT, name))

    def task(self, name, body, **options):
        """Create a task (options as k5.builder.Builder.task: priority, budget, stack, ...)."""
        # (The SC's name comes back too: the kernel's string, not another copy of it.)
        kind = type(body).__name__
        if kind != "function" and kind != "closure":
            raise BuildError("K5: a task's body must be a function, not a " + kind)
        # On the device body and arg cross as the task's image, packed here, in the REPL's own
        # time (k5/image.py): the kernel copies the bytes into the task and reads none of them.
        # (The host has no such boundary: its builder takes the function.)
        if DEVICE:
            from k5 import image

            try:
                body = image.pack(body, options.pop("arg", None))
            except image.ImageError as exc:
                raise BuildError(name + ": " + str(exc))
        slot, sc_slot, tid, sc_name = call("task", self.gid, name, body, options)
        task = Task(slot, name, Ref(sc_slot, TYPE_SCHED_CONTEXT, sc_name), tid)
        self.tasks.append(task)
        self.refs.append(task)
        return task

    def give(self, task, slot, ref, rights=RIGHTS_ALL, badge=0):
        call("give", self.gid, task.slot, slot, ref.slot, rights, badge)

    def fault_handler(self, task, ref, badge=0):
        call("fault_handler", self.gid, task.slot, ref.slot, badge)

    def timeout_handler(self, task, ref, badge=0):
        call("timeout_handler", self.gid, task.slot, ref.slot, badge)

    def bind_notification(self, task, ref):
        call("bind_notification", self.gid, task.slot, ref.slot)

    def start(self, task=None):
        call("start", self.gid, task.slot if task is not None else -1)

    def set_owner(self, endpoint, task):
        call("set_owner", self.gid, endpoint.slot, task.slot)

    def copy_cap(self, src, src_slot, dst, dst_slot, rights=RIGHTS_ALL, badge=0):
        call("copy_cap", self.gid, src.slot, src_slot, dst.slot, dst_slot, rights, badge)

    def info(self, ref):
        return call("info", ref.slot)

    def record_usage(self):
        call("record_usage", self.gid)

    def usage(self):
        return call("usage", self.gid)

    def traps(self):
        return call("traps")

    def fast_path(self, mode):
        """Which code takes call and reply_recv, kernel-wide: "native" (the device's C fast
        path), "python" (k5/fastpath.py) or "general" (k5/ipc.py). Returns the mode before."""
        return call("fast_path", mode)

    def threads(self):
        return call("threads")

    def unbind_sc(self, task):
        call("unbind_sc", self.gid, task.slot)

    def reply(self, name=""):
        return self._add(Ref(call("reply", self.gid, name), TYPE_REPLY, name))

    def signal(self, ref, badge=1):
        call("signal", self.gid, ref.slot, badge)

    def revoke(self, ref):
        call("revoke", self.gid, ref.slot)

    def run(self, ticks=-1, max_traps=-1):
        """Let the tasks run: `ticks` ms, or (no ticks) until none of them can run."""
        # As on the host, run(ticks) ends early when none of the tasks can run any more.
        end = ticks_add(call("now"), ticks) if ticks >= 0 else -1
        while call("busy", self.gid):
            pause = RUN_POLL
            if end >= 0:
                left = ticks_diff(end, call("now"))
                if left <= 0:
                    return RUN_TIME_UP
                if left < pause:
                    pause = left
            trap((SYS_SLEEP, pause))
        return RUN_IDLE

    def close(self):
        """Destroy the system's tasks and objects (their stacks return to the arena)."""
        if not self.closed:
            self.closed = True
            call("close", self.gid)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        self.close()
        return False

    def now(self):
        return call("now")

    def ps(self, out=print, show_caps=True):
        for line in call("ps", self.gid, show_caps):
            out(line)

    def task_dicts(self):
        return call("tasks", self.gid)

    def stats(self, task):
        """(stack size, stack used, CPU ticks, traps, stack base, heap size, words naming the
        kernel's heap, words naming another task's block) of a task's context (the last three
        for a task with an interpreter of its own: native/k5arch, the walker)."""
        return call("stats", task.slot)

    def lookup(self, name):
        for ref in self.refs:
            if ref.name == name:
                return ref
        return None


def arena():
    """(free bytes, size in bytes) of the task-stack arena, and the bytes of the kernel's main
    stack ever used since boot (its high-water mark)."""
    return call("arena")


def heap():
    """(free bytes, size in bytes) of the kernel's heap, after a collection of it: the objects
    of the kernel and of the tasks in its interpreter (the REPL's are in a heap of its own:
    gc.mem_free())."""
    return call("heap")
