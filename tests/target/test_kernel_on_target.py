"""Tier 4: the frozen kernel runs every scenario on the Cortex-M33 with real tasks."""

# Scenarios driven by syscalls alone give the host's trace on the board, once the times are
# taken out (the board's ticks are real milliseconds; the host's are simulated). Time-driven ones
# must run to their end on the board: budgets, round robin, preemption, spawn's timeslices,
# passive_server's budget exhaustion, notification_irq's simulated device and the random fuzz
# (all of which spin or run for whole timeslices). Their CPU shares are measured in test_tasks.py.

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, expectations, mpremote
from tools.emu import Emulator

pytestmark = pytest.mark.qemu

SCENARIOS = sorted((ROOT / "tests" / "scenarios").glob("*.py"))
MARK = "=== scenario "
SYSCALL_DRIVEN = (
    "ping_pong",
    "revoke_blocked",
    "fault_restart",
    "sel4_semantics",
)


def without_times(trace):
    """The trace with every time removed: t=N, [N] stamps and the ps table's time columns."""
    trace = re.sub(r"t=\d+", "t=T", trace)
    # A task's print() on the board carries its name (sel4_semantics' observations).
    trace = re.sub(r"^\S+: log ", "log ", trace, flags=re.M)
    trace = re.sub(r"\[\d+\]", "[T]", trace)
    trace = re.sub(r"until \d+", "until T", trace)
    # ps rows: "  tid name state pri mcp gen budget/period consumed waiting": drop consumed.
    trace = re.sub(r"(\s\d+/\d+|\s+-)\s+\d+  ", r"\1 C  ", trace)
    # Thread ids: the board's kernel made the root task and its objects first.
    trace = re.sub(r"tid=\d+", "tid=TID", trace)
    trace = re.sub(
        r"^\s+\d+ (\w+ +(?:running|send|recv|reply|wait|faulted|exited|sleep|inactive) )",
        r"  TID \1",
        trace,
        flags=re.M,
    )
    return trace


def cpython_trace(path):
    r = subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        cwd=path.parent,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def target_traces(emu_elf):
    # One boot, one mpremote session: run each scenario with the frozen k5, separated by markers.
    args = []
    for path in SCENARIOS:
        # A soft reset between scenarios: each starts on a fresh kernel, as on the host.
        args += ["exec", f"print({MARK + path.stem!r})", "run", str(path), "soft-reset"]
    with Emulator(emu_elf, icount=True) as emu:
        r = mpremote(emu.port, *args, timeout=600)
    assert r.returncode == 0, r.stderr
    traces = {}
    name = None
    for line in r.stdout.replace("\r\n", "\n").splitlines(keepends=True):
        if line.startswith(MARK):
            name = line[len(MARK) :].strip()
            traces[name] = ""
        else:
            traces[name] += line
    return traces


def test_every_scenario_ran(target_traces):
    assert set(target_traces) == {path.stem for path in SCENARIOS}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_runs_to_its_end(path, target_traces):
    trace = target_traces[path.stem]
    assert "Traceback" not in trace, trace
    assert "K5 PANIC" not in trace, trace
    assert trace.strip()
    assert "result " in trace


@pytest.mark.parametrize("name", SYSCALL_DRIVEN)
def test_trace_matches_cpython(name, target_traces):
    path = ROOT / "tests" / "scenarios" / (name + ".py")
    assert without_times(target_traces[name]) == without_times(cpython_trace(path))


def test_sel4_semantics_hold_on_the_board(target_traces):
    # The tasks run in namespaces of their own: what they observed reaches the checks only
    # through the console (tests/scenarios/sel4_semantics.py).
    trace = target_traces["sel4_semantics"]
    results = expectations(trace.splitlines())
    assert len(results) >= 16
    assert [r for r in results if not r[1]] == []
    assert "FAIL" not in trace


def test_a_task_made_from_an_untyped_prints_under_its_configured_name(target_traces):
    # spawn's worker is a TCB retyped from an Untyped and set up with tcb_configure: its
    # console lines carry the name it was configured with, as a built task's do.
    assert re.search(r"^worker: w1 at work$", target_traces["spawn"], re.M), target_traces["spawn"]
