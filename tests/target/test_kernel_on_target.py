"""Tier 4: the frozen kernel runs every scenario on the Cortex-M33 exactly as CPython does."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT, mpremote
from tools.emu import Emulator

pytestmark = pytest.mark.qemu

SCENARIOS = sorted((ROOT / "tests" / "scenarios").glob("*.py"))
MARK = "=== scenario "


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
        args += ["exec", f"print({MARK + path.stem!r})", "run", str(path)]
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
def test_trace_matches_cpython(path, target_traces):
    trace = target_traces[path.stem]
    assert "Traceback" not in trace, trace
    assert trace.strip()
    assert trace == cpython_trace(path)
