"""Tier 3: every Python file frozen into the firmware compiles with the firmware's mpy-cross."""

import re
import subprocess

import pytest

from conftest import ROOT

SOURCES = sorted(p for d in ("k5", "tasks") for p in (ROOT / d).rglob("*.py"))
# The port freezes with these flags (the architecture of its @micropython.native code).
FLAGS = re.findall(
    r"^MPY_CROSS_FLAGS \+= (.+)$", (ROOT / "ports/stm32l5/Makefile").read_text(), re.M
)[0].split()


def test_there_is_something_to_compile():
    assert any(p.parent.name == "k5" for p in SOURCES)
    assert any(p.parent.name == "tasks" for p in SOURCES)


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_compiles_for_the_device(source, mpy_cross, tmp_path):
    out = tmp_path / "out.mpy"
    r = subprocess.run(
        [str(mpy_cross), *FLAGS, "-o", str(out), str(source)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:2] == b"M\x06", "bytecode version 6 (MicroPython 1.25)"
