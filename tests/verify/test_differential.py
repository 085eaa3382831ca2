"""Differential check: seeded random walks trace alike on CPython and MicroPython."""

# Each line of a walk is an action and the canonical form of the whole kernel state it led to,
# with every invariant checked on the way (tools/verify/walk.py), so any difference between
# the interpreters in what the kernel does shows up as a differing line.

import io
import subprocess

import pytest

from conftest import ROOT
from tools.verify import walk

SEEDS = (1, 2, 3, 4)
STEPS = 300


def cpython_trace(name, seed):
    out = io.StringIO()
    walk.walk(name, seed, STEPS, lambda line: out.write(line + "\n"))
    return out.getvalue()


@pytest.mark.parametrize("name", ["core", "sched"])
@pytest.mark.parametrize("seed", SEEDS)
def test_walk_same_on_cpython_and_micropython(name, seed, unix_micropython):
    expected = cpython_trace(name, seed)
    r = subprocess.run(
        [str(unix_micropython), "tools/verify/walk.py", name, str(seed), str(STEPS)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    got = r.stdout
    for number, (a, b) in enumerate(zip(expected.splitlines(), got.splitlines())):
        assert a == b, "step %d differs:\n cpython: %s\n  unix:   %s" % (number, a, b)
    assert len(got.splitlines()) == len(expected.splitlines())
    assert len(expected.splitlines()) > STEPS // 2  # the walk did not stop at once


def test_walks_differ_by_seed():
    # The trace depends on the seed (a walk that ignored it would compare nothing).
    assert cpython_trace("core", 1) != cpython_trace("core", 2)
