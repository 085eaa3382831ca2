"""Shared pytest fixtures: where the tools and images are, and emulated boards to test on."""

import ast
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools import paths  # noqa: E402
from tools.emu import Emulator, mpremote_command  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "qemu: runs firmware on the emulated MPS2_AN505 board")


@pytest.fixture(autouse=True)
def _unwind_task_threads():
    """No host task thread outlives its test (System.close() does this for one system)."""
    yield
    # Host tasks run on threads, and a test's systems may leave tasks blocked forever: unwind
    # them so hundreds of tests do not pile threads up. Only if a test used the host arch.
    arch_host = sys.modules.get("k5.arch_host")
    if arch_host is not None:
        arch_host.close_all()
        assert arch_host.live_threads() == 0


def _require(path, what):
    if not path.exists():
        pytest.fail(f"{what} not found at {path}: run `make deps` / `make firmware` first")
    return path


@pytest.fixture(scope="session")
def micropython_top():
    return _require(paths.micropython_top(), "MicroPython source")


@pytest.fixture(scope="session")
def unix_micropython():
    if "MUTANT_UNDER_TEST" in os.environ:
        # make mutate: the mutated k5/ imports mutmut, which MicroPython does not have.
        pytest.skip("mutation testing runs CPython only")
    return _require(paths.unix_micropython(), "the MicroPython unix port")


@pytest.fixture(scope="session")
def mpy_cross():
    return _require(paths.mpy_cross(), "mpy-cross")


@pytest.fixture(scope="session")
def emu_elf():
    if "MUTANT_UNDER_TEST" in os.environ:
        # make mutate: the image is built from k5/ as it is, not from the mutated copy.
        pytest.skip("mutation testing does not use the firmware")
    return _require(paths.firmware("MPS2_AN505", "elf"), "the MPS2_AN505 firmware")


@pytest.fixture
def emulator(emu_elf):
    """A freshly booted MPS2_AN505 with its REPL on a pty; stopped when the test ends."""
    with Emulator(emu_elf) as emu:
        yield emu


def mpremote(port, *args, timeout=60):
    """Runs one batched mpremote command line against `port`; returns the completed process
    (text; the bytes of k5.log frames that are not UTF-8 become U+FFFD)."""
    return subprocess.run(
        mpremote_command(port, *args),
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )


_LOG = re.compile(r"^(?:\S+: )?log (.*)$")
_EXPECT = re.compile(r"^expect (\S+) (.*)$")


def expectations(lines):
    """Pair the tasks' observations ("log VALUE"; on the board "task: log VALUE") with the
    script's expectations ("expect NAME [VALUES]", each taking the next len(VALUES)
    observations, in order); returns (name, ok, observed, expected) per expectation. Tasks
    share no object with the script, so tests/scenarios/sel4_semantics.py reports this way."""
    pending = []
    results = []
    for line in lines:
        line = line.rstrip("\r\n")
        match = _LOG.match(line)
        if match:
            pending.append(ast.literal_eval(match.group(1)))
            continue
        match = _EXPECT.match(line)
        if match:
            expected = ast.literal_eval(match.group(2))
            observed, pending = pending[: len(expected)], pending[len(expected) :]
            results.append((match.group(1), observed == expected, observed, expected))
    assert pending == [], "observations no expectation took: %r" % pending
    return results
