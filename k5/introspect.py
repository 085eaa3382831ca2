"""Inspection API for the REPL and tests: tasks, caps, scheduling, faults."""

from k5.abi import (
    FAULT_EXCEPTION,
    FAULT_TIMEOUT,
    RIGHT_GRANT,
    RIGHT_GRANT_REPLY,
    RIGHT_READ,
    RIGHT_WRITE,
    STATE_BLOCKED_REPLY,
    STATE_RUNNING,
)

from k5.objects import TCB, Endpoint, Notification, Reply, SchedContext, Untyped
from k5.device import DeviceWindow, IRQHandler

STATE_NAMES = (
    "inactive",
    "running",
    "send",
    "recv",
    "reply",
    "wait",
    "faulted",
    "exited",
    "sleep",
)
TYPE_NAMES = (
    "null",
    "endpoint",
    "notification",
    "tcb",
    "sched_context",
    "cnode",
    "reply",
    "sched_control",
    "untyped",
    "irq_control",
    "irq_handler",
    "window",
)


def _left(text, width):
    if len(text) < width:
        return text + " " * (width - len(text))
    return text


def _right(text, width):
    if len(text) < width:
        return " " * (width - len(text)) + text
    return text


def rights_text(rights):
    return (
        ("R" if rights & RIGHT_READ else "-")
        + ("W" if rights & RIGHT_WRITE else "-")
        + ("G" if rights & RIGHT_GRANT else "-")
        + ("g" if rights & RIGHT_GRANT_REPLY else "-")
    )


def _object_name(obj):
    name = getattr(obj, "name", "")
    if name:
        return name
    return "?"


def blocked_on(kernel, tcb):
    """Human-readable description of what a thread waits for ("" if nothing)."""
    obj = tcb.blocked_on
    if obj is None:
        if tcb.state == STATE_RUNNING and tcb.sc is None:
            return "no sched context"
        if tcb.queue is kernel.sched.release:
            return "refill at t=" + str(tcb.sc.r_time[tcb.sc.head])
        return ""
    if tcb.state == STATE_BLOCKED_REPLY:
        server = obj.server
        return "reply from " + (server.name if server is not None else "?")
    return _object_name(obj)


class TaskInfo:
    """A snapshot of one thread, for display."""

    __slots__ = (
        "tid",
        "name",
        "state",
        "priority",
        "mcp",
        "generation",
        "budget",
        "period",
        "consumed",
        "refills",
        "blocked_on",
        "caps",
        "faults",
        "sc_name",
        "tcb",
    )

    def __init__(self, kernel, tcb):
        self.tcb = tcb
        self.tid = tcb.tid
        self.name = tcb.name
        self.state = STATE_NAMES[tcb.state]
        self.priority = tcb.priority
        self.mcp = tcb.mcp
        self.generation = tcb.generation
        sc = tcb.sc
        if sc is None:
            self.budget = 0
            self.period = 0
            self.consumed = 0
            self.refills = []
            self.sc_name = "-"
        else:
            self.budget = sc.budget
            self.period = sc.period
            self.consumed = sc.total
            self.refills = sc.refill_list()
            self.sc_name = sc.name + ("" if sc.home is tcb else " (donated)")
        self.blocked_on = blocked_on(kernel, tcb)
        self.caps = caps(tcb)
        self.faults = list(tcb.fault_history)


def caps(tcb):
    """[(slot, type name, rights text, badge, object name)] of a thread's CSpace."""
    result = []
    slots = tcb.cspace.slots
    for slot in range(len(slots)):
        cap = slots[slot]
        if cap is not None:
            result.append(
                (
                    slot,
                    TYPE_NAMES[cap.obj_type],
                    rights_text(cap.rights),
                    cap.badge,
                    _object_name(cap.obj),
                )
            )
    return result


def tasks(kernel, tcbs=None):
    """Snapshots of every thread (or of `tcbs`), in creation order."""
    if tcbs is None:
        tcbs = kernel.tcbs
    return [TaskInfo(kernel, tcb) for tcb in tcbs]


def task_dicts(kernel, tcbs=None):
    """Every thread as a dict, in creation order (times in kernel ticks: 1 ms on the device).

    Keys: tid, name, state, priority, mcp, generation, budget, period, consumed, blocked_on,
    faults (the number), last_fault (its text or ""); on the device also stack (bytes),
    stack_used (bytes ever used), cpu (ticks sampled while it ran) and traps.
    """
    stats = getattr(kernel.arch, "context_stats", None)
    result = []
    if tcbs is None:
        tcbs = kernel.tcbs
    for tcb in tcbs:
        info = TaskInfo(kernel, tcb)
        entry = {
            "tid": info.tid,
            "name": info.name,
            "state": info.state,
            "priority": info.priority,
            "mcp": info.mcp,
            "generation": info.generation,
            "budget": info.budget,
            "period": info.period,
            "consumed": info.consumed,
            "blocked_on": info.blocked_on,
            "faults": tcb.faults,
            "last_fault": info.faults[-1][2] if info.faults else "",
        }
        if stats is not None:
            row = stats(tcb.context)
            entry["stack"] = row[0]
            entry["stack_used"] = row[1]
            entry["cpu"] = row[2]
            entry["traps"] = row[3]
            entry["heap"] = row[5]  # 0: it runs in the kernel's interpreter
        result.append(entry)
    return result


def fault_kind_name(kind):
    if kind == FAULT_EXCEPTION:
        return "exception"
    if kind == FAULT_TIMEOUT:
        return "timeout"
    return str(kind)


def ps(kernel, out=print, show_caps=True, tcbs=None):
    """Print a table of threads: state, priority, SC, what each waits for, caps, faults."""
    out("t=" + str(kernel.arch.now()))
    out(" tid name             state    pri mcp gen  budget/period consumed  waiting on")
    for info in tasks(kernel, tcbs):
        sched = "-"
        if info.period:
            sched = str(info.budget) + "/" + str(info.period)
        out(
            " "
            + _right(str(info.tid), 3)
            + " "
            + _left(info.name[:16], 16)
            + " "
            + _left(info.state, 8)
            + " "
            + _right(str(info.priority), 3)
            + " "
            + _right(str(info.mcp), 3)
            + " "
            + _right(str(info.generation), 3)
            + "  "
            + _right(sched, 13)
            + " "
            + _right(str(info.consumed), 8)
            + "  "
            + info.blocked_on
        )
        if show_caps and info.tcb is kernel.root:
            # The root holds the original cap of everything built: a count, not a list.
            out("       caps: " + str(len(info.caps)) + " (the root task's authority)")
        elif show_caps:
            for slot, type_name, rights, badge, name in info.caps:
                out(
                    "       cap "
                    + _right(str(slot), 2)
                    + " "
                    + _left(type_name, 13)
                    + " "
                    + rights
                    + " badge="
                    + str(badge)
                    + " "
                    + name
                )
        for time, kind, text in info.faults:
            out("       fault t=" + str(time) + " " + fault_kind_name(kind) + " " + text)


def _waiting(queue):
    count = 0
    tcb = queue.head
    while tcb is not None:
        count += 1
        tcb = tcb.q_next
    return count


def object_info(obj):
    """The observable state of one kernel object as a dict (plain data: REPL, scenarios)."""
    if isinstance(obj, TCB):
        return {
            "type": "tcb",
            "tid": obj.tid,
            "state": STATE_NAMES[obj.state],
            "has_sc": obj.sc is not None,
            "generation": obj.generation,
            "faults": obj.faults,
            "last_fault": obj.fault_history[-1][2] if obj.fault_history else "",
            "exit_code": obj.exit_code,
        }
    if isinstance(obj, SchedContext):
        return {
            "type": "sched_context",
            "budget": obj.budget,
            "period": obj.period,
            "total": obj.total,
            "exhaustions": obj.exhaustions,
            "bound": obj.tcb is not None,
        }
    if isinstance(obj, Notification):
        return {
            "type": "notification",
            "word": obj.word,
            "active": obj.active,
            "waiting": _waiting(obj.queue),
        }
    if isinstance(obj, Endpoint):
        return {"type": "endpoint", "waiting": _waiting(obj.queue)}
    if isinstance(obj, Reply):
        return {"type": "reply", "holds_caller": obj.caller is not None}
    if isinstance(obj, Untyped):
        return {"type": "untyped", "quota": obj.quota, "remaining": obj.remaining}
    if isinstance(obj, DeviceWindow):
        return {"type": "window", "base": obj.base, "size": obj.size}
    if isinstance(obj, IRQHandler):
        return {
            "type": "irq_handler",
            "line": obj.line,
            "bound": obj.ntfn is not None,
            "pending": obj.pending,
            "count": obj.count,
        }
    return {"type": obj.name}  # the SchedControl or the IRQControl
