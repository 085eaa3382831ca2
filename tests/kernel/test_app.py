"""app.toml: validation with file:line:field errors, the golden layouts, an app run on the host."""

import subprocess
import sys

import pytest

from conftest import ROOT
from k5 import app as k5app
from k5.system import System
from tools import app

APPS = ("pingpong", "ticker")

BASE = """\
name = "t"

[endpoints.ep]

[notifications.n]

[tasks.t]
module = "m"
entry = "body"
priority = 10
caps = [{ slot = 1, object = "ep", rights = ["read"] }]
"""


def errors_of(tmp_path, text):
    path = tmp_path / "app.toml"
    path.write_text(text)
    with pytest.raises(app.AppError) as info:
        app.load(path)
    return [line.replace(str(path), "app.toml") for line in str(info.value).splitlines()]


def loaded(tmp_path, text):
    path = tmp_path / "app.toml"
    path.write_text(text)
    return app.load(path)


@pytest.mark.parametrize("name", APPS)
def test_example_apps_match_their_golden_layout(name):
    layout = app.dump(app.load(ROOT / "tasks" / name / "app.toml"))
    assert layout == (ROOT / "tests" / "apps" / (name + ".layout")).read_text()


def test_the_base_app_is_valid(tmp_path):
    path = tmp_path / "app.toml"
    path.write_text(BASE)
    described = app.load(path)
    assert [t["name"] for t in described["tasks"]] == ["t"]
    assert described["tasks"][0]["caps"] == ((1, "ep", 1, 0),)


def test_log_rtt_is_a_boolean_that_the_layout_shows(tmp_path):
    path = tmp_path / "app.toml"
    path.write_text("log_rtt = true\n" + BASE)
    described = app.load(path)
    assert described["log_rtt"] is True
    assert "log frames over RTT" in app.dump(described)
    path.write_text("log_rtt = 1\n" + BASE)
    with pytest.raises(app.AppError, match="app.toml:1: log_rtt: 1 is not true or false"):
        app.load(path)


MALFORMED = [
    ("syntax", BASE.replace("priority = 10", "priority = "), "app.toml:10: syntax: "),
    (
        "priority",
        BASE.replace("priority = 10", "priority = 300"),
        "app.toml:10: tasks.t.priority: 300 is above 255",
    ),
    (
        "negative",
        BASE.replace("priority = 10", "priority = -1"),
        "app.toml:10: tasks.t.priority: -1 is below 0",
    ),
    (
        "not an int",
        BASE.replace("priority = 10", 'priority = "high"'),
        "app.toml:10: tasks.t.priority: 'high' is not an integer",
    ),
    ("required", BASE.replace('module = "m"\n', ""), "app.toml:7: tasks.t.module: is required"),
    ("unknown field", BASE + "prio = 1\n", "app.toml:12: tasks.t.prio: unknown field"),
    ("unknown table", BASE + "[task.x]\n", "app.toml:12: task: unknown field"),
    (
        "budget above period",
        BASE + "budget = 30\nperiod = 20\n",
        "app.toml:12: tasks.t.budget: 30 is above the period 20",
    ),
    ("budget alone", BASE + "budget = 3\n", "app.toml:7: tasks.t.period: budget and period go"),
    (
        "unknown object",
        BASE.replace('object = "ep"', 'object = "nope"'),
        "app.toml:11: tasks.t.caps[0].object: no object named 'nope'",
    ),
    (
        "slot twice",
        BASE.replace(
            'caps = [{ slot = 1, object = "ep", rights = ["read"] }]',
            'caps = [\n    { slot = 1, object = "ep" },\n    { slot = 1, object = "n" },\n]',
        ),
        "app.toml:13: tasks.t.caps[1].slot: slot 1 is caps[0]'s already",
    ),
    (
        "slot beyond the cspace",
        BASE.replace("slot = 1", "slot = 20"),
        "app.toml:11: tasks.t.caps[0].slot: 20 is above 15",
    ),
    (
        "unknown right",
        BASE.replace('["read"]', '["exec"]'),
        "app.toml:11: tasks.t.caps[0].rights: unknown right 'exec'",
    ),
    (
        "unknown peripheral",
        BASE + '[windows.w]\nperipheral = "timer9"\n',
        "app.toml:13: windows.w.peripheral: no MPS2_AN505 peripheral named 'timer9'",
    ),
    (
        "unaligned window",
        BASE + "[windows.w]\nbase = 0x50000004\nsize = 0x20\n",
        "app.toml:12: windows.w: window 0x50000004+0x20: base is not 32-byte aligned",
    ),
    (
        "not device memory",
        BASE + "[windows.w]\nbase = 0x20000000\nsize = 0x100\n",
        "app.toml:12: windows.w: 0x20000000+0x100 is not device memory",
    ),
    (
        "write-only window",
        BASE + '[windows.w]\nperipheral = "timer0"\nrights = ["write"]\n',
        "app.toml:14: windows.w.rights: a window's rights are",
    ),
    (
        "irq line twice",
        BASE
        + '[irqs.a]\nline = 3\nnotification = "n"\n'
        + '[irqs.b]\nperipheral = "timer0"\nnotification = "n"\n',
        "app.toml:15: irqs.b: interrupt line 3 is irqs.a's already",
    ),
    (
        "irq without notification",
        BASE + "[irqs.a]\nline = 3\n",
        "app.toml:12: irqs.a.notification: None is not a name",
    ),
    (
        "name taken",
        BASE + "[notifications.ep]\n",
        "app.toml:12: notifications.ep: the name is taken (endpoints)",
    ),
    (
        "stack",
        BASE + "stack = 3000\n",
        "app.toml:12: tasks.t.stack: 3000 is not a multiple of 1024",
    ),
    (
        "config table",
        BASE + "config = { x = { y = 1 } }\n",
        "app.toml:12: tasks.t.config.x: {'y': 1} is not a config value",
    ),
    (
        "policy",
        BASE + 'supervise = "reboot"\n',
        "app.toml:12: tasks.t.supervise: policy 'reboot' is not one of: restart, backoff, hold",
    ),
    (
        "handler endpoint",
        BASE + 'fault_handler = { endpoint = "n" }\n',
        "app.toml:12: tasks.t.fault_handler.endpoint: no endpoint named 'n'",
    ),
    (
        "entry",
        BASE.replace('entry = "body"', 'entry = "a-b"'),
        "app.toml:9: tasks.t.entry: 'a-b' is not a function name",
    ),
    (
        "board",
        'board = "NUCLEO_L552ZE_Q"\n' + BASE,
        "app.toml:1: board: the app is for NUCLEO_L552ZE_Q, not MPS2_AN505",
    ),
    ("no task", 'name = "t"\n[endpoints.ep]\n', "app.toml:1: tasks: an app has at least one task"),
    (
        "bound notification",
        BASE + 'notification = "ep"\n',
        "app.toml:12: tasks.t.notification: no notification named 'ep'",
    ),
]


@pytest.mark.parametrize("case", MALFORMED, ids=[case[0] for case in MALFORMED])
def test_a_malformed_app_names_the_file_line_field_and_reason(tmp_path, case):
    _, text, expected = case
    errors = errors_of(tmp_path, text)
    assert any(line.startswith(expected) for line in errors), errors


def test_every_error_is_reported_not_only_the_first(tmp_path):
    text = BASE.replace("priority = 10", "priority = 300") + "stack = 3000\nmcp = 999\n"
    errors = errors_of(tmp_path, text)
    assert len(errors) == 3, errors


def test_too_many_windows_for_the_mpu_fail_the_build(tmp_path):
    windows = "".join(
        f"[windows.w{i}]\nbase = {0x50000000 + 0x2000 * i:#x}\nsize = 0x100\n" for i in range(6)
    )
    caps = ", ".join(f'{{ slot = {i}, object = "w{i}" }}' for i in range(6))
    text = BASE.replace(
        'caps = [{ slot = 1, object = "ep", rights = ["read"] }]', f"caps = [{caps}]"
    )
    errors = errors_of(tmp_path, text + windows)
    assert errors == [
        "app.toml:11: tasks.t.caps: the windows need 6 MPU regions; only 5 are free"
    ], errors


def test_the_stacks_must_fit_the_arena(tmp_path):
    # A stack that leaves 1 KB of the arena beside the REPL's block (its stack and its heap),
    # then a second 2 KB one.
    big = app.ARENA - app.ROOT_BLOCK - 1024
    text = BASE.replace("priority = 10", f"priority = 10\nstack = {big}")
    text += '[tasks.u]\nmodule = "m"\nentry = "body"\npriority = 1\nstack = 2048\n'
    errors = errors_of(tmp_path, text)
    assert errors == [
        f"app.toml:7: tasks: the stacks take {app.ARENA + 1024} bytes with the REPL's "
        f"{app.ROOT_BLOCK}; the arena has {app.ARENA}"
    ], errors


def test_the_supervisors_stack_counts_against_the_arena(tmp_path):
    # The REPL's block and the task's stack fit the arena; the supervisor a supervised task
    # brings does not.
    big = app.ARENA - app.ROOT_BLOCK - 3072
    text = BASE.replace("priority = 10", f"priority = 10\nstack = {big}")
    assert loaded(tmp_path, text)["tasks"][0]["stack"] == big
    errors = errors_of(tmp_path, text + 'supervise = "restart"\n')
    assert errors == [
        f"app.toml:7: tasks: the stacks take {app.ARENA + 1024} bytes with the REPL's "
        f"{app.ROOT_BLOCK} and the supervisor's 4096; the arena has {app.ARENA}"
    ], errors


def _tasks(count):
    return "".join(
        f'[tasks.u{i}]\nmodule = "m"\nentry = "body"\npriority = 1\nstack = 2048\n'
        for i in range(count)
    )


def test_the_tasks_must_fit_the_boards_contexts(tmp_path):
    # With the REPL's context, the 18 of the board (app.CONTEXTS) hold 17 tasks, or 16 and a
    # supervisor.
    assert app.CONTEXTS == 18
    assert len(loaded(tmp_path, BASE + _tasks(16))["tasks"]) == 17
    errors = errors_of(tmp_path, BASE + _tasks(17))
    assert errors == [
        "app.toml:7: tasks: 18 tasks need 19 task contexts with the REPL's; the board has 18"
    ], errors
    supervised = BASE.replace("priority = 10", 'priority = 10\nsupervise = "hold"')
    assert len(loaded(tmp_path, supervised + _tasks(15))["tasks"]) == 16
    errors = errors_of(tmp_path, supervised + _tasks(16))
    assert errors == [
        "app.toml:7: tasks: 17 tasks need 19 task contexts with the REPL's and "
        "the supervisor's; the board has 18"
    ], errors


def test_k5_gen_prints_errors_and_fails(tmp_path):
    path = tmp_path / "app.toml"
    path.write_text(BASE.replace("priority = 10", "priority = 300"))
    r = subprocess.run(
        [sys.executable, "-m", "tools.k5cli", "gen", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1
    assert r.stderr == f"k5: {path}:10: tasks.t.priority: 300 is above 255\n"
    assert "Traceback" not in r.stderr


def test_k5_gen_writes_a_module_that_rebuilds_the_same_app(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.k5cli",
            "gen",
            "tasks/pingpong/app.toml",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    namespace = {}
    exec((tmp_path / "k5app.py").read_text(), namespace)
    described = app.load(ROOT / "tasks" / "pingpong" / "app.toml")
    assert [t["name"] for t in namespace["APP"]["tasks"]] == [
        t["name"] for t in described["tasks"]
    ]
    assert 'include("$(K5_TOP)/manifest.py")' in (tmp_path / "manifest.py").read_text()


def test_the_pingpong_app_runs_on_the_host(monkeypatch, capsys):
    # The same k5/app.py the board boots it with: the client's rounds, the server's fault at
    # round 2 and its restart by the supervisor.
    monkeypatch.syspath_prepend(str(ROOT / "tasks"))
    system = System()
    refs = k5app.build(system, app.load(ROOT / "tasks" / "pingpong" / "app.toml"))
    system.run(1500)
    out = capsys.readouterr().out
    assert "round 0 err=0 sum=0" in out and "round 1 err=0 sum=2" in out
    assert "round 3 err=0 sum=12" in out and "client done" in out
    assert "round 2 err=0" not in out  # the server faulted instead of replying
    server = refs["server"].obj
    assert server.faults == 1 and server.generation == 1
    system.close()


def test_the_limits_are_the_boards_own():
    # Read from native/k5arch/k5arch.h and each board.ld, never restated.
    assert (app.STACK_DEFAULT, app.STACK_MIN, app.WINDOW_REGIONS) == (4096, 2048, 5)
    assert app.arena_size("MPS2_AN505") == app.arena_size("NUCLEO_L552ZE_Q") == app.ARENA


def test_a_task_may_have_a_heap_of_its_own(tmp_path):
    text = BASE.replace("priority = 10", "priority = 10\nheap = 16384")
    task = loaded(tmp_path, text)["tasks"][0]
    assert task["heap"] == 16384
    # Its stack defaults to more than a task's in the kernel's interpreter: it runs its image's
    # loader and its modules' code on it too.
    assert app.STACK_DEFAULT_OWN > app.STACK_DEFAULT
    dump = app.dump(loaded(tmp_path, text))
    assert f" stack {app.STACK_DEFAULT_OWN} heap 16384 slots 16" in dump
    assert loaded(tmp_path, BASE)["tasks"][0]["heap"] is None
    for value, why in (
        (1000, f"heap: 1000 is below {app.HEAP_MIN}"),
        (5000, "heap: 5000 is not a multiple of 1024"),
        ('"big"', "heap: 'big' is not an integer"),
    ):
        errors = errors_of(
            tmp_path, BASE.replace("priority = 10", f"priority = 10\nheap = {value}")
        )
        assert errors == [f"app.toml:11: tasks.t.{why}"], errors


def test_heaps_count_against_the_arena(tmp_path):
    # The block of a task with its own interpreter: stack, saved VM state and heap, in whole KB.
    stack = app.STACK_DEFAULT_OWN
    heap = app.ARENA - app.ROOT_BLOCK - stack - 1024
    text = BASE.replace("priority = 10", f"priority = 10\nheap = {heap}")
    errors = errors_of(tmp_path, text)
    taken = app.ROOT_BLOCK + stack + (app.VM_STATE_MAX + heap + 1023) // 1024 * 1024
    assert errors == [
        f"app.toml:7: tasks: the stacks and heaps take {taken} bytes with the REPL's "
        f"{app.ROOT_BLOCK}; the arena has {app.ARENA}"
    ], errors


def test_the_pingpong_app_runs_on_the_host_with_heaps_of_their_own(monkeypatch, capsys, tmp_path):
    # Each task's body and config travel as its image (k5/image.py), as on the board.
    monkeypatch.syspath_prepend(str(ROOT / "tasks"))
    text = (ROOT / "tasks" / "pingpong" / "app.toml").read_text()
    text = text.replace("[tasks.client]", "[tasks.client]\nheap = 16384")
    path = tmp_path / "app.toml"
    path.write_text(text)
    system = System()
    k5app.build(system, app.load(path))
    system.run(1500)
    out = capsys.readouterr().out
    assert "round 3 err=0 sum=12" in out and "client done" in out
    system.close()
