"""The REPL's K5: a default system to spawn tasks into, and live ps() and tasks()."""

# `import k5; k5.spawn(body, arg, name="t", priority=10)` adds a task to the REPL's default
# system, created on first use. On the device the REPL is the kernel's root task and the tasks
# run beside it at once: spawn() returns at once and k5.ps() shows them (and every other thread,
# the root task "repl" included) live. Time is in kernel ticks: 1 ms on the device.

from k5 import arch
from k5.abi import RIGHTS_ALL
from k5.system import System

# The one default system of this REPL (a list, not a bare global: replaced in place).
_default = [None]


def system():
    """The REPL's default System (created and started on first use)."""
    current = _default[0]
    if current is None or current.closed:
        current = System()
        current.start()
        _default[0] = current
    return current


def reset():
    """Stop every task of the default system and forget it."""
    current = _default[0]
    _default[0] = None
    if current is not None:
        current.close()


def spawn(
    body,
    arg=None,
    *,
    name=None,
    priority=100,
    budget=None,
    period=None,
    caps=(),
    stack=None,
    heap=None,
    passive=False,
):
    """Start body(ipc, arg) as a task of the default system; returns its builder handle.

    caps: (slot, ref[, rights[, badge]]) items, ref made by k5.endpoint() or notification() here.
    heap: bytes of a heap of the task's own, for an interpreter of its own (None: it runs in the
    kernel's interpreter); its body and arg then travel as an image (k5/image.py).
    budget/period in ticks (both None: round robin at DEFAULT_TIMESLICE ticks).
    """
    target = system()
    if name is None:
        name = body.__name__
    task = target.task(
        name,
        body,
        priority=priority,
        budget=budget,
        period=period,
        arg=arg,
        start=False,
        passive=passive,
        stack=stack,
        heap=heap,
    )
    for item in caps:
        rights = item[2] if len(item) > 2 else RIGHTS_ALL
        badge = item[3] if len(item) > 3 else 0
        target.give(task, item[0], item[1], rights, badge)
    target.start(task)
    return task


def endpoint(name=""):
    """A new endpoint in the default system (give it to tasks with spawn's caps)."""
    return system().endpoint(name)


def notification(name=""):
    return system().notification(name)


def ps(show_caps=True):
    """Print every task (device: of the kernel; host: of the default system)."""
    if arch.DEVICE:
        from k5 import front

        front.ps(show_caps)
    else:
        system().ps(show_caps=show_caps)


def tasks():
    """Every task as a dict (device: of the kernel; host: of the default system).

    Times in ticks (1 tick = 1 ms on the device); stack sizes in bytes.
    """
    if arch.DEVICE:
        from k5 import front

        return front.tasks()
    return system().task_dicts()
