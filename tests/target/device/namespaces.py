"""On the board: what a task's body gets from the script that starts it (its namespace)."""

# Each check runs in a task and prints "ns <name> <value>"; the test compares the values.

import sys

import k5
from k5.system import System

LIMIT = 3
WORDS = ("a", "b")
TABLE = {"k": 1}


def helper(n):
    return n * LIMIT


def recursive(n):
    return 0 if n == 0 else n + recursive(n - 1)


def with_defaults(a, b=WORDS, *, c=LIMIT, d=TABLE):
    return (a, b, c, type(d).__name__)


def generator(n):
    for i in range(n):
        yield i * LIMIT


def report(name, value):
    print("ns", name, repr(value))


def make_closure(factor):
    mine = [factor]  # a list in the cell: mutable, so the task gets a stand-in

    def closure(ipc, arg):
        report("closure_factor", factor * arg)
        try:
            mine.append(1)
            report("closure_list", "shared")
        except NameError:
            report("closure_list", "refused")
        report("closure_helper", helper(arg))

    return closure


def body(ipc, arg):
    global LIMIT
    report("helper", helper(2))
    report("recursive", recursive(4))
    report("defaults", with_defaults(1))
    report("generator", list(generator(3)))
    report("name", __name__)
    import __main__

    report("main_is_globals", __main__.__dict__ is globals())
    names = globals()
    # What the body's code names is copied; what it does not (system, second) is not.
    report("globals", tuple(n in names for n in ("helper", "TABLE", "system", "second")))
    LIMIT = 10
    report("rebound", helper(2))
    try:
        TABLE["x"] = 2
        report("table", "shared")
    except NameError as exc:
        report("table", str(exc)[:30])
    exec("planted = 5")
    report("exec", globals().get("planted"))
    import builtins

    builtins.abs = lambda value: "task abs"
    report("builtin", abs(-1))
    sys.path = ["task path"]
    sys.modules["fake"] = 7
    import fake

    report("import_planted", fake)
    try:
        raise ValueError("task")
    except ValueError:
        k5.sleep(5)  # the second task runs meanwhile
        report("exc_info", str(sys.exc_info()[1]))
    report("arg", arg)


def second(ipc, arg):
    report("second_abs", abs(-1))
    report("second_path", sys.path)
    report("second_fake", "fake" in sys.modules)
    report("second_exc_info", sys.exc_info()[1])
    report("second_limit", helper(1))


system = System()
system.task("first", body, priority=20, arg=("x", 1))
system.task("second", second, priority=10)
system.task("closure", make_closure(7), priority=5, arg=2)
try:
    system.task("bad_arg", body, priority=5, arg=[1])
except Exception as exc:
    print("ns bad_arg", repr(str(exc)[-60:]))
try:
    system.task("bad_body", TABLE.get, priority=5)
except Exception as exc:
    print("ns bad_body", repr(str(exc)[-50:]))
system.run(300)
report("root_limit", LIMIT)
report("root_abs", abs(-1))
report("root_path", ".frozen" in sys.path)
report("root_table", TABLE)
report("root_fake", "fake" in sys.modules)
