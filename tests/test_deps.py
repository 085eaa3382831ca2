"""Set-up is idempotent: after `make deps` has run once, running it again does nothing."""

import os
import subprocess

from conftest import ROOT
from tools import paths


def snapshot():
    watched = [
        ROOT / ".venv" / ".k5-installed",
        paths.mpy_cross(),
        paths.unix_micropython(),
        paths.micropython_top() / "py" / "mpconfig.h",
    ]
    return {str(p): p.stat().st_mtime_ns for p in watched}


def test_second_run_changes_nothing():
    before = snapshot()
    r = subprocess.run(
        ["bash", "tools/deps.sh"], cwd=ROOT, capture_output=True, text=True, env=os.environ
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"deps: ready: MicroPython {paths.micropython_top()}"]
    assert snapshot() == before
