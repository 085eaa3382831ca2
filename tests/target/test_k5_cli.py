"""Tier 4: the `k5` command drives the emulated board the way a user does."""

import os
import re
import signal
import subprocess
import sys

import pytest

from conftest import ROOT, mpremote

pytestmark = pytest.mark.qemu


def _default_sigint():
    # A job a non-interactive shell starts in the background inherits SIGINT ignored, and
    # Python then leaves it ignored: `k5 emu` could not be stopped the way a user stops it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def k5(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "tools.k5cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_default_sigint,
        **kwargs,
    )


def qemu_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not running; its parent (the k5 process) reaps it on exit.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"


def test_k5_emu_serves_mpremote_and_stops_its_qemu(emu_elf):
    emu = k5("emu")
    try:
        first = emu.stdout.readline()
        m = re.search(r"QEMU pid (\d+)\); its REPL is at (\S+)", first)
        assert m, first
        qemu_pid, port = int(m.group(1)), m.group(2)
        r = mpremote(port, "exec", "print(6*7)")
        assert r.returncode == 0, r.stderr
        assert r.stdout == "42\n"
        assert qemu_alive(qemu_pid)
    finally:
        emu.send_signal(signal.SIGINT)
        emu.wait(timeout=10)
    assert not qemu_alive(qemu_pid)


def test_k5_run_prints_the_script_output(emu_elf, tmp_path):
    script = tmp_path / "answer.py"
    script.write_text("print('answer', 6 * 7)\n")
    run = k5("run", str(script))
    out, _ = run.communicate(timeout=60)
    assert run.returncode == 0, out
    assert out == "answer 42\n"


def test_k5_reports_user_errors_without_a_traceback():
    run = k5("run", "no/such/script.py")
    out, _ = run.communicate(timeout=30)
    assert run.returncode == 1
    assert out == "k5: no such script: no/such/script.py\n"
