"""app.toml: validate a static K5 app and write the frozen description the board boots."""

# `k5 gen app.toml` reads the file with tomllib, checks every field (each error names the file,
# the line, the field and the reason: `app.toml:14: tasks.blink.priority: 300 is above 255`),
# solves each task's MPU regions for its device windows with k5/regions.py (the board's own
# solver), and writes module k5app: APP, the plain data k5/app.py builds the system from. The
# layout dump (`--dump`) is the capability table the golden tests compare.
#
# Schema (every table optional but tasks; names are unique across all kinds):
#   name = "app"
#   log_events = true             (kernel events, faults and restarts, join k5.log's stream)
#   log_rtt = true                (k5.log's frames go to RTT, for a probe: `k5 logs --rtt`)
#   [endpoints.NAME]              [notifications.NAME]
#   [windows.NAME]  peripheral = "timer0" (the board's table) | base = .., size = ..
#                   rights = ["read"] | ["read", "write"] (default)
#   [irqs.NAME]     peripheral = "timer0" | line = 3;  notification = "NAME";  badge = 1
#   [supervisor]    priority = 200
#   [tasks.NAME]    module, entry (required), priority (required), mcp, budget and period
#                   (1..TIME_MAX ticks; neither: round robin), passive, stack (bytes),
#                   heap (bytes: an interpreter of its own on a heap that big), slots,
#                   start, config = { key = value } (keyword arguments of entry),
#                   notification = "NAME"
#                   (bound), fault_handler / timeout_handler = { endpoint = "NAME", badge = 0 },
#                   supervise = "restart" | "backoff" | "hold" | { policy, base, limit,
#                   hold_after }, caps = [{ slot, object, rights = [...], badge }]
#   A cap's object is any named object, a task's name included (a TCB cap).

import pathlib
import re
import tomllib

from k5 import abi, regions, ticks
from tools import gen_kept_h
from k5.boot import ROOT_HEAP, ROOT_STACK
from k5.supervisor import STACK as SUPERVISOR_STACK

TOP = pathlib.Path(__file__).resolve().parent.parent
BOARDS_DIR = TOP / "ports" / "stm32l5" / "boards"


def native_constant(name):
    """A `#define K5_NAME (n)` of native/k5arch/k5arch.h, the one place the board's limits are."""
    header = (TOP / "native" / "k5arch" / "k5arch.h").read_text()
    return int(re.search(r"#define K5_" + name + r"\s+\((\d+)\)", header).group(1))


def block_size(task):
    """The bytes of the arena a task takes: its stack, and for one with an interpreter of its
    own its saved VM state and heap too, in whole KB (native/k5arch, k5arch_context_new)."""
    size = task["stack"]
    if task["heap"]:
        size += (VM_STATE_MAX + task["heap"] + 1023) // 1024 * 1024
    return size


def arena_size(board="MPS2_AN505"):
    """The task-stack arena of a board (its board.ld's K5_ARENA_SIZE)."""
    script = (BOARDS_DIR / board / "board.ld").read_text()
    size, unit = re.search(r"K5_ARENA_SIZE\s*=\s*(\d+)([KM]?)\s*;", script).groups()
    return int(size) << {"": 0, "K": 10, "M": 20}[unit]


STACK_DEFAULT = native_constant("STACK_DEFAULT")
STACK_DEFAULT_OWN = native_constant("STACK_DEFAULT_OWN")  # with a heap of its own
STACK_MIN = native_constant("STACK_MIN")
HEAP_MIN = native_constant("TASK_HEAP_MIN")  # a task with an interpreter of its own
VM_STATE_MAX = native_constant("VM_STATE_MAX")  # the room its saved VM state takes at most
CONTEXTS = native_constant("MAX_CONTEXTS")  # task contexts, the REPL's among them
WINDOW_REGIONS = native_constant("WINDOW_REGIONS")  # MPU regions for a task's device windows
ARENA = arena_size()  # both boards have the same (the tests check it)
# The REPL's block of the arena: its stack, and its heap (it runs an interpreter of its own).
ROOT_BLOCK = block_size({"stack": ROOT_STACK, "heap": ROOT_HEAP})
RIGHT_NAMES = {
    "read": abi.RIGHT_READ,
    "write": abi.RIGHT_WRITE,
    "grant": abi.RIGHT_GRANT,
    "grant_reply": abi.RIGHT_GRANT_REPLY,
}
POLICIES = ("restart", "backoff", "hold")
KINDS = ("endpoints", "notifications", "windows", "irqs")
TOP_KEYS = ("name", "board", "log_events", "log_rtt", "supervisor", "tasks") + KINDS
TASK_KEYS = (
    "module",
    "entry",
    "priority",
    "mcp",
    "budget",
    "period",
    "passive",
    "stack",
    "heap",
    "slots",
    "start",
    "config",
    "notification",
    "fault_handler",
    "timeout_handler",
    "supervise",
    "caps",
)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class AppError(Exception):
    """One or more errors, each `file:line: field: reason`."""


def peripherals(board):
    """The board's table of named peripherals: {name: {"base", "size", "irq"?}}."""
    path = BOARDS_DIR / board / "peripherals.toml"
    if not path.exists():
        raise AppError(f"{path}: no peripheral table for board {board}")
    with open(path, "rb") as f:
        table = tomllib.load(f)
    table.pop("kept", None)
    return table


def board_irqs(board):
    """The interrupt lines of a board (its mpconfigboard.h's K5_BOARD_NUM_IRQS)."""
    header = (BOARDS_DIR / board / "mpconfigboard.h").read_text()
    return int(re.search(r"#define K5_BOARD_NUM_IRQS\s+\((\d+)\)", header).group(1))


def kept(board):
    """What the board's kernel keeps for itself (its peripherals.toml [kept.*], the table the
    board's builder refuses too): [(name, ((low, high), ...), (line, ...), reason)]."""
    path = BOARDS_DIR / board / "peripherals.toml"
    if not path.exists():
        raise AppError(f"{path}: no peripheral table for board {board}")
    try:
        return gen_kept_h.kept(path)
    except gen_kept_h.KeptError as exc:
        raise AppError(str(exc))


class _Lines:
    """The line of each key of a TOML text, for errors (tomllib gives values, not lines)."""

    def __init__(self, text):
        self.lines = {}
        table = ()
        arrays = {}
        open_array = None  # (path, index) while inside a multi-line array of inline tables
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            header = re.match(r"^\[\[\s*([^\]]+?)\s*\]\]$", line)
            if header:
                path = tuple(_split(header.group(1)))
                index = arrays.get(path, -1) + 1
                arrays[path] = index
                table = path + (index,)
                self._prefixes(path, number)
                self.lines[table] = number
                open_array = None
                continue
            header = re.match(r"^\[\s*([^\]]+?)\s*\]$", line)
            if header:
                table = tuple(_split(header.group(1)))
                self._prefixes(table, number)
                open_array = None
                continue
            key = re.match(r"^([A-Za-z0-9_.\"' -]+?)\s*=\s*(.*)$", line)
            if key and open_array is None:
                path = table + tuple(_split(key.group(1)))
                self.lines[path] = number
                rest = key.group(2)
                if rest.startswith("[") and rest.count("[") > rest.count("]"):
                    open_array = [path, 0]
                    if "{" in rest:
                        self.lines[path + (0,)] = number
                        open_array[1] = rest.count("{")
                elif rest.startswith("["):
                    for i in range(rest.count("{")):
                        self.lines[path + (i,)] = number
                continue
            if open_array is not None:
                for _ in range(line.count("{")):
                    self.lines[tuple(open_array[0]) + (open_array[1],)] = number
                    open_array[1] += 1
                if "]" in line and line.count("[") < line.count("]"):
                    open_array = None

    def _prefixes(self, path, number):
        for i in range(1, len(path) + 1):
            self.lines.setdefault(path[:i], number)

    def of(self, path):
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 1


def _split(dotted):
    return [part.strip().strip("\"'") for part in dotted.split(".")]


def _field(path):
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + part
    return text


class _Checker:
    def __init__(self, path, text):
        self.path = path
        self.lines = _Lines(text)
        self.errors = []

    def error(self, where, reason):
        self.errors.append(f"{self.path}:{self.lines.of(where)}: {_field(where)}: {reason}")

    def integer(self, where, value, low, high):
        if type(value) is not int:
            self.error(where, f"{value!r} is not an integer")
            return None
        if value < low:
            self.error(where, f"{value} is below {low}")
            return None
        if value > high:
            self.error(where, f"{value} is above {high}")
            return None
        return value

    def time(self, where, value):
        """A time in ticks: 1..ticks.TIME_MAX, the kernel's one time-range rule."""
        if type(value) is int and value > ticks.TIME_MAX:
            self.error(
                where,
                f"{value} is above TIME_MAX ({ticks.TIME_MAX} ticks), the longest time the "
                "kernel's tick arithmetic orders",
            )
            return None
        return self.integer(where, value, 1, ticks.TIME_MAX)

    def boolean(self, where, value):
        if type(value) is not bool:
            self.error(where, f"{value!r} is not true or false")
            return False
        return value

    def name(self, where, value, names, kinds="object"):
        if type(value) is not str:
            self.error(where, f"{value!r} is not a name")
            return None
        if value not in names:
            self.error(where, f"no {kinds} named {value!r}")
            return None
        return value

    def table(self, where, value):
        if not isinstance(value, dict):
            self.error(where, "is not a table")
            return {}
        return value

    def keys(self, where, table, allowed):
        for key in table:
            if key not in allowed:
                self.error(
                    tuple(where) + (key,), "unknown field (one of: " + ", ".join(allowed) + ")"
                )

    def rights(self, where, value):
        if not isinstance(value, list) or not all(type(v) is str for v in value):
            self.error(where, f"{value!r} is not a list of rights")
            return abi.RIGHTS_ALL
        bits = 0
        for right in value:
            if right not in RIGHT_NAMES:
                self.error(where, f"unknown right {right!r} (one of: {', '.join(RIGHT_NAMES)})")
            else:
                bits |= RIGHT_NAMES[right]
        return bits


def _config_value(checker, where, value, depth=0):
    """A config value as the task gets it: immutable (TOML arrays become tuples)."""
    if type(value) in (bool, str, float) or (type(value) is int and -(1 << 31) <= value < 1 << 32):
        return value
    if type(value) is int:
        checker.error(where, f"{value} does not fit 32 bits")
        return None
    if isinstance(value, list) and depth < 2:
        return tuple(
            _config_value(checker, where + (i,), v, depth + 1) for i, v in enumerate(value)
        )
    checker.error(where, f"{value!r} is not a config value (bool, int, float, str or an array)")
    return None


def load(path, board="MPS2_AN505"):
    """The validated app description of the app.toml at `path` (raises AppError)."""
    path = pathlib.Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise AppError(f"{path}: {exc.strerror}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = match.group(1) if match else "1"
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise AppError(f"{path}:{line}: syntax: {message}")
    return _check(_Checker(path, text), data, board)


def _check(checker, data, board):
    checker.keys((), data, TOP_KEYS)
    name = data.get("name", "app")
    if type(name) is not str or not _IDENT.match(name):
        checker.error(("name",), f"{name!r} is not an identifier")
    table_board = data.get("board", board)
    if table_board != board:
        checker.error(("board",), f"the app is for {table_board}, not {board}")
    known = peripherals(board)
    keeps = kept(board)
    names = {}  # every object's name -> its kind

    def declare(kind, object_name):
        if not _IDENT.match(object_name):
            checker.error((kind, object_name), "is not an identifier")
        elif object_name in names or object_name == "supervisor":
            checker.error(
                (kind, object_name),
                f"the name is taken ({names.get(object_name, 'the supervisor')})",
            )
        names[object_name] = kind

    for kind in KINDS + ("tasks",):
        for object_name in checker.table((kind,), data.get(kind, {})):
            declare(kind, object_name)
    app = {
        "name": name,
        "board": board,
        "log_events": checker.boolean(("log_events",), data.get("log_events", False)),
        "log_rtt": checker.boolean(("log_rtt",), data.get("log_rtt", False)),
        "endpoints": tuple(checker.table(("endpoints",), data.get("endpoints", {}))),
        "notifications": tuple(checker.table(("notifications",), data.get("notifications", {}))),
    }
    for kind in ("endpoints", "notifications"):
        for object_name, body in checker.table((kind,), data.get(kind, {})).items():
            checker.keys((kind, object_name), checker.table((kind, object_name), body), ())
    windows = {}
    for object_name, body in checker.table(("windows",), data.get("windows", {})).items():
        where = ("windows", object_name)
        body = checker.table(where, body)
        checker.keys(where, body, ("peripheral", "base", "size", "rights"))
        base = size = None
        if "peripheral" in body:
            peripheral = checker.name(
                where + ("peripheral",), body["peripheral"], known, f"{board} peripheral"
            )
            if peripheral is not None:
                base, size = known[peripheral]["base"], known[peripheral]["size"]
            if "base" in body or "size" in body:
                checker.error(where, "give a peripheral or a base and size, not both")
        else:
            base = checker.integer(where + ("base",), body.get("base"), 0, 0xFFFFFFFF)
            size = checker.integer(where + ("size",), body.get("size"), 32, 0x20000000)
        rights = checker.rights(where + ("rights",), body.get("rights", ["read", "write"]))
        if rights & ~abi.RIGHTS_RW or not rights & abi.RIGHT_READ:
            checker.error(
                where + ("rights",), 'a window\'s rights are ["read"] or ["read", "write"]'
            )
        if base is not None and size is not None:
            try:
                regions.solve([(base, size, rights, True)], 1)
            except regions.RegionError as exc:
                checker.error(where, str(exc))
            if not (0x40000000 <= base and base + size <= 0x60000000):
                checker.error(
                    where, f"{base:#x}+{size:#x} is not device memory (0x40000000..0x60000000)"
                )
            for kept_name, spans, _, reason in keeps:
                if any(base < high and low < base + size for low, high in spans):
                    checker.error(
                        where,
                        f"{base:#x}+{size:#x} overlaps {kept_name} ({reason}), which the kernel"
                        " keeps for itself",
                    )
            windows[object_name] = (base, size, rights & abi.RIGHTS_RW)
    app["windows"] = tuple((n,) + w for n, w in windows.items())
    irqs = []
    lines_used = {}
    for object_name, body in checker.table(("irqs",), data.get("irqs", {})).items():
        where = ("irqs", object_name)
        body = checker.table(where, body)
        checker.keys(where, body, ("peripheral", "line", "notification", "badge"))
        line = None
        if "peripheral" in body:
            peripheral = checker.name(
                where + ("peripheral",), body["peripheral"], known, f"{board} peripheral"
            )
            if peripheral is not None:
                line = known[peripheral].get("irq")
                if line is None:
                    checker.error(where + ("peripheral",), f"{peripheral} has no interrupt line")
        else:
            line = checker.integer(where + ("line",), body.get("line"), 0, board_irqs(board) - 1)
        if line is not None:
            for kept_name, _, lines, reason in keeps:
                if line in lines:
                    checker.error(
                        where + (("peripheral",) if "peripheral" in body else ("line",)),
                        f"interrupt line {line} is {kept_name}'s ({reason}), which the kernel"
                        " keeps for itself",
                    )
            if line in lines_used:
                checker.error(where, f"interrupt line {line} is irqs.{lines_used[line]}'s already")
            lines_used[line] = object_name
        notification = checker.name(
            where + ("notification",),
            body.get("notification"),
            app["notifications"],
            "notification",
        )
        badge = checker.integer(where + ("badge",), body.get("badge", 1), 1, abi.WORD_LIMIT - 1)
        irqs.append((object_name, line, notification, badge))
    app["irqs"] = tuple(irqs)
    supervisor = checker.table(("supervisor",), data.get("supervisor", {}))
    checker.keys(("supervisor",), supervisor, ("priority",))
    app["supervisor_priority"] = checker.integer(
        ("supervisor", "priority"), supervisor.get("priority", 200), 0, abi.PRIORITY_MAX
    )
    tasks = []
    stacks = ROOT_BLOCK
    for task_name, body in checker.table(("tasks",), data.get("tasks", {})).items():
        task = _check_task(
            checker, task_name, checker.table(("tasks", task_name), body), names, windows
        )
        tasks.append(task)
        stacks += block_size(task)
    if not tasks:
        checker.error(("tasks",), "an app has at least one task")
    # What the boot takes beside the app's tasks: the REPL (root) task, and the supervisor
    # when a task is supervised; the board has a fixed number of contexts and a stack arena.
    supervised = any(task["supervise"] is not None for task in tasks)
    others = "the REPL's %d" % ROOT_BLOCK
    what = "stacks and heaps" if any(task["heap"] for task in tasks) else "stacks"
    if supervised:
        stacks += SUPERVISOR_STACK
        others += " and the supervisor's %d" % SUPERVISOR_STACK
    if stacks > ARENA:
        checker.error(
            ("tasks",), f"the {what} take {stacks} bytes with {others}; the arena has {ARENA}"
        )
    contexts = len(tasks) + 1 + supervised
    if contexts > CONTEXTS:
        also = " and the supervisor's" if supervised else ""
        checker.error(
            ("tasks",),
            f"{len(tasks)} tasks need {contexts} task contexts with the REPL's{also}; "
            f"the board has {CONTEXTS}",
        )
    app["tasks"] = tuple(sorted(tasks, key=lambda t: t["name"]))
    if checker.errors:
        raise AppError("\n".join(checker.errors))
    return app


def _check_task(checker, name, body, names, windows):
    where = ("tasks", name)
    checker.keys(where, body, TASK_KEYS)
    task = {"name": name}
    for key in ("module", "entry"):
        value = body.get(key)
        pattern = _MODULE if key == "module" else _IDENT
        if value is None:
            checker.error(where + (key,), "is required")
        elif type(value) is not str or not pattern.match(value):
            checker.error(
                where + (key,),
                f"{value!r} is not a {'module path' if key == 'module' else 'function name'}",
            )
        task[key] = value
    if "priority" not in body:
        checker.error(where + ("priority",), "is required")
    task["priority"] = checker.integer(
        where + ("priority",), body.get("priority", 0), 0, abi.PRIORITY_MAX
    )
    if "mcp" in body:
        task["mcp"] = checker.integer(where + ("mcp",), body["mcp"], 0, abi.PRIORITY_MAX)
    else:
        task["mcp"] = task["priority"]
    budget, period = body.get("budget"), body.get("period")
    if budget is None and period is None:
        task["budget"] = task["period"] = None
    else:
        if budget is None or period is None:
            checker.error(
                where + ("budget" if budget is None else "period",),
                "budget and period go together",
            )
        # k5/ticks.py's time-range rule: a longer period wraps the kernel's tick arithmetic.
        task["budget"] = checker.time(where + ("budget",), budget or 1)
        task["period"] = checker.time(where + ("period",), period or 1)
        if task["budget"] and task["period"] and task["budget"] > task["period"]:
            checker.error(
                where + ("budget",), f"{task['budget']} is above the period {task['period']}"
            )
    task["passive"] = checker.boolean(where + ("passive",), body.get("passive", False))
    task["start"] = checker.boolean(where + ("start",), body.get("start", True))
    heap = None
    if "heap" in body:
        heap = checker.integer(where + ("heap",), body["heap"], HEAP_MIN, ARENA - ROOT_BLOCK)
        if heap is not None and heap % 1024:
            checker.error(where + ("heap",), f"{heap} is not a multiple of 1024")
    task["heap"] = heap
    default_stack = STACK_DEFAULT_OWN if "heap" in body else STACK_DEFAULT
    stack = checker.integer(
        where + ("stack",), body.get("stack", default_stack), STACK_MIN, ARENA - ROOT_BLOCK
    )
    if stack is not None and stack % 1024:
        checker.error(where + ("stack",), f"{stack} is not a multiple of 1024")
    task["stack"] = stack or default_stack
    slots = checker.integer(where + ("slots",), body.get("slots", 16), 1, abi.CSPACE_MAX)
    task["slots"] = slots or 16
    config = checker.table(where + ("config",), body.get("config", {}))
    pairs = []
    for key in sorted(config):
        if not _IDENT.match(key):
            checker.error(
                where + ("config", key), "is not an identifier (it becomes a keyword argument)"
            )
        pairs.append((key, _config_value(checker, where + ("config", key), config[key])))
    task["config"] = tuple(pairs)
    notification = body.get("notification")
    if notification is not None:
        kinds = {n for n, k in names.items() if k == "notifications"}
        notification = checker.name(where + ("notification",), notification, kinds, "notification")
    task["notification"] = notification
    endpoints = {n for n, k in names.items() if k == "endpoints"}
    for key in ("fault_handler", "timeout_handler"):
        handler = body.get(key)
        if handler is None:
            task[key] = None
            continue
        handler = checker.table(where + (key,), handler)
        checker.keys(where + (key,), handler, ("endpoint", "badge"))
        endpoint = checker.name(
            where + (key, "endpoint"), handler.get("endpoint"), endpoints, "endpoint"
        )
        badge = checker.integer(
            where + (key, "badge"), handler.get("badge", 0), 0, abi.WORD_LIMIT - 1
        )
        task[key] = (endpoint, badge)
    supervise = body.get("supervise")
    if supervise is None:
        task["supervise"] = None
    else:
        if type(supervise) is str:
            supervise = {"policy": supervise}
        supervise = checker.table(where + ("supervise",), supervise)
        checker.keys(where + ("supervise",), supervise, ("policy", "base", "limit", "hold_after"))
        policy = supervise.get("policy")
        if policy not in POLICIES:
            checker.error(
                where + ("supervise",), f"policy {policy!r} is not one of: {', '.join(POLICIES)}"
            )
        base = checker.integer(where + ("supervise", "base"), supervise.get("base", 1), 1, 1 << 20)
        limit = checker.integer(
            where + ("supervise", "limit"), supervise.get("limit", 64), 1, 1 << 20
        )
        hold = checker.integer(
            where + ("supervise", "hold_after"), supervise.get("hold_after", 0), 0, 1 << 20
        )
        if base and limit and base > limit:
            checker.error(where + ("supervise", "base"), f"{base} is above the limit {limit}")
        if task["fault_handler"] is not None:
            checker.error(
                where + ("supervise",),
                "a supervised task's faults go to the supervisor: drop fault_handler",
            )
        task["supervise"] = (policy, base, limit, hold)
    caps = body.get("caps", [])
    if not isinstance(caps, list):
        checker.error(where + ("caps",), "is not an array of caps")
        caps = []
    taken = {}
    given = []
    mapped = []
    for i, cap in enumerate(caps):
        at = where + ("caps", i)
        cap = checker.table(at, cap)
        checker.keys(at, cap, ("slot", "object", "rights", "badge"))
        slot = checker.integer(at + ("slot",), cap.get("slot"), 0, task["slots"] - 1)
        if slot is not None:
            if slot in taken:
                checker.error(at + ("slot",), f"slot {slot} is caps[{taken[slot]}]'s already")
            taken[slot] = i
        target = checker.name(at + ("object",), cap.get("object"), names)
        rights = (
            checker.rights(at + ("rights",), cap["rights"]) if "rights" in cap else abi.RIGHTS_ALL
        )
        badge = checker.integer(at + ("badge",), cap.get("badge", 0), 0, abi.WORD_LIMIT - 1)
        if target in windows and rights & abi.RIGHT_READ:
            base, size, window_rights = windows[target]
            mapped.append((base, size, rights & window_rights, True))
        given.append((slot, target, rights, badge))
    if mapped:
        try:
            task["regions"] = tuple(regions.solve(mapped, WINDOW_REGIONS))
        except regions.RegionError as exc:
            checker.error(where + ("caps",), str(exc))
            task["regions"] = ()
    else:
        task["regions"] = ()
    task["caps"] = tuple(given)
    return task


def module_text(app, source):
    """The frozen module k5app for `app` (k5/boot.py builds it at start)."""
    description = {key: value for key, value in app.items() if key != "board"}
    for task in description["tasks"]:
        task.pop("regions", None)
    return (
        f'"""The static app {app["name"]}: generated by `k5 gen {source}`; do not edit."""\n\n'
        f"APP = {description!r}\n"
    )


_RIGHT_LETTERS = (("read", "R"), ("write", "W"), ("grant", "G"), ("grant_reply", "GR"))


def _rights_text(bits):
    return "+".join(letter for name, letter in _RIGHT_LETTERS if bits & RIGHT_NAMES[name]) or "-"


def dump(app):
    """The app's capability layout as text (golden-tested)."""
    kinds = {}
    out = [f"app {app['name']} on {app['board']}"]
    if app["log_events"]:
        out.append("kernel events logged")
    if app["log_rtt"]:
        out.append("log frames over RTT")
    for kind, items in (("endpoint", app["endpoints"]), ("notification", app["notifications"])):
        for item in items:
            kinds[item] = kind
            out.append(f"{kind} {item}")
    for name, base, size, rights in app["windows"]:
        kinds[name] = "window"
        out.append(f"window {name} {base:#010x}+{size:#x} {_rights_text(rights)}")
    for name, line, notification, badge in app["irqs"]:
        kinds[name] = "irq"
        out.append(f"irq {name} line {line} -> notification {notification} badge {badge}")
    for task in app["tasks"]:
        kinds[task["name"]] = "task"
    for task in app["tasks"]:
        timing = (
            "round robin"
            if task["budget"] is None
            else f"budget {task['budget']}/{task['period']}"
        )
        flags = (" passive" if task["passive"] else "") + ("" if task["start"] else " stopped")
        out.append(
            f"task {task['name']} {task['module']}:{task['entry']} priority {task['priority']}"
            f" mcp {task['mcp']} {timing} stack {task['stack']}"
            + (f" heap {task['heap']}" if task["heap"] else "")
            + f" slots {task['slots']}{flags}"
        )
        if task["config"]:
            out.append("  config " + ", ".join(f"{k}={v!r}" for k, v in task["config"]))
        for slot, target, rights, badge in sorted(task["caps"]):
            out.append(
                f"  slot {slot}: {kinds[target]} {target} {_rights_text(rights)} badge {badge}"
            )
        for key in ("notification", "fault_handler", "timeout_handler", "supervise"):
            if task[key] is not None:
                out.append(f"  {key} {task[key]!r}")
        for base, limit, rights, _ in task["regions"]:
            out.append(f"  region {base:#010x}..{limit:#010x} {_rights_text(rights)} device")
    if any(task["supervise"] for task in app["tasks"]):
        out.append(f"supervisor priority {app['supervisor_priority']}")
    return "\n".join(out) + "\n"
