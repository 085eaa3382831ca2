"""IPC benchmark runs on both interpreters; the kernel IPC path allocates nothing."""

import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent

ALLOC_SCRIPT = """
import sys
sys.path.insert(0, %r)
import gc
import k5
from k5.abi import SYS_CALL, SYS_RECV, SYS_REPLY_RECV
from k5.system import System

# Constant requests: whatever is allocated below is allocated by the kernel (or the arch's
# hand-off between the task threads and the kernel).
CALL = (SYS_CALL, 1, 1, (5,), None, -1, -1)
REPLY_RECV = (SYS_REPLY_RECV, 1, 2, (6,), None, -1, -1)
RECV = (SYS_RECV, 1, -1)


def client(ipc, arg):
    while True:
        k5.trap(CALL)


def server(ipc, arg):
    k5.trap(RECV)
    while True:
        k5.trap(REPLY_RECV)


def measure(ticks):
    # A round trip takes two ticks (two syscalls). The tasks never finish: a task thread that
    # ends frees its frames after its last hand-off, i.e. while the kernel measures.
    system = System()
    ep = system.endpoint("ep")
    c = system.task("c", client, priority=10, budget=10**6, period=10**6)
    s = system.task("s", server, priority=20, passive=True)
    system.give(c, 1, ep)
    system.give(s, 1, ep)
    # Set-up first: starting the two task threads allocates, and not always the same amount
    # (the host arch's thread table is a dict keyed by thread ids, which differ between runs).
    system.run(20)
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    system.run(ticks)
    after = gc.mem_alloc()
    gc.enable()
    return after - before


small = measure(200)
large = measure(600)
print("bytes per round trip:", (large - small) // 200)
"""


def _env():
    env = dict(os.environ)
    env["MICROPYPATH"] = str(ROOT) + ":.frozen"
    return env


def test_bench_runs_under_both(unix_micropython):
    for command in (sys.executable, str(unix_micropython)):
        proc = subprocess.run(
            [command, str(ROOT / "tools" / "bench_ipc.py"), "200"],
            capture_output=True,
            text=True,
            timeout=120,
            env=_env(),
        )
        assert proc.returncode == 0, proc.stderr
        match = re.search(r"ipc round trip \(call \+ reply_recv\): (-?[0-9.]+) us", proc.stdout)
        assert match, proc.stdout
        float(match.group(1))


def test_ipc_round_trip_allocates_nothing_on_micropython(unix_micropython, tmp_path):
    script = tmp_path / "alloc.py"
    script.write_text(ALLOC_SCRIPT % str(ROOT))
    proc = subprocess.run(
        [str(unix_micropython), str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "bytes per round trip: 0"
