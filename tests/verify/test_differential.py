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


# On the emulated board: the model compiled to .mpy with the image's mpy-cross, reached through
# `mpremote mount` (the board's filesystem seam), run by the root task on the frozen k5/.
BOARD_STEPS = 80
MODEL = ("__init__", "verify/__init__", "verify/walk", "verify/model", "verify/canon")
MODEL += ("verify/invariants", "verify/checkarch", "verify/systems")


@pytest.mark.qemu
def test_walk_same_on_the_board(tmp_path, mpy_cross, emu_elf):
    from tools.emu import Emulator, mpremote_command
    from tools.verify.systems import SYSTEMS

    (tmp_path / "tools" / "verify").mkdir(parents=True)
    for name in MODEL:
        source = ROOT / "tools" / (name + ".py")
        subprocess.run(
            [str(mpy_cross), "-o", str(tmp_path / "tools" / (name + ".mpy")), str(source)],
            check=True,
        )
    names = sorted(SYSTEMS)
    code = "from tools.verify.walk import walk\n" + "".join(
        "print('walk %s')\nwalk(%r, %d, %d, print)\n" % (name, name, seed, BOARD_STEPS)
        for seed, name in enumerate(names, 1)
    )
    with Emulator(emu_elf) as emu:
        r = subprocess.run(
            mpremote_command(emu.port, "mount", "-l", str(tmp_path), "exec", code),
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    board = r.stdout.replace("\r\n", "\n").split("\nwalk ")
    for seed, name in enumerate(names, 1):
        expected = io.StringIO()
        walk.walk(name, seed, BOARD_STEPS, lambda line: expected.write(line + "\n"))
        part = [p for p in board if p.startswith(name + "\n")]
        assert len(part) == 1, (name, r.stdout[-2000:])
        got = part[0].split("\n", 1)[1].splitlines()
        want = expected.getvalue().splitlines()
        for number, (a, b) in enumerate(zip(want, got)):
            assert a == b, "%s step %d differs:\n cpython: %s\n  board:  %s" % (name, number, a, b)
        assert len(got) == len(want), (name, len(got), len(want))
