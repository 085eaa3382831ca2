"""Tier 4: static apps (app.toml) built into their own image and started at boot."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import serial

from conftest import ROOT, mpremote
from tools import paths
from tools.emu import Emulator

pytestmark = pytest.mark.qemu


def build_app(name):
    """`k5 build tasks/NAME/app.toml` for the emulated board (make rebuilds what changed)."""
    r = subprocess.run(
        [sys.executable, "-m", "tools.k5cli", "build", f"tasks/{name}/app.toml"]
        + ["--board", "MPS2_AN505", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return paths.firmware("MPS2_AN505", "elf", name)


@pytest.fixture(scope="module")
def app_elf():
    built = {}

    def build(name):
        if name not in built:
            built[name] = build_app(name)
        return built[name]

    return build


def _stall(pid, done):
    # A loaded host, made: QEMU kept off the CPU for 30 ms of every 50.
    while not done.wait(0.02):
        os.kill(pid, signal.SIGSTOP)
        time.sleep(0.03)
        os.kill(pid, signal.SIGCONT)


def boot(elf, until, timeout=120, skip_idle=False, stall=False):
    """The console from reset until `until` appears, then the REPL's view of the tasks.
    stall: QEMU is stopped and continued again and again meanwhile."""
    with Emulator(elf, icount=True, skip_idle=skip_idle) as emu:
        out = b""
        done = threading.Event()
        staller = threading.Thread(target=_stall, args=(emu.process.pid, done))
        if stall:
            staller.start()
        try:
            with serial.Serial(emu.port, timeout=0.2) as console:
                deadline = time.time() + timeout
                while until.encode() not in out and time.time() < deadline:
                    out += console.read(4096)
        finally:
            done.set()
            if staller.is_alive():
                staller.join()
        # `resume`: no soft reset, which would rebuild the app from the start.
        code = "import k5; print(sorted((t['name'], t['faults']) for t in k5.tasks()))"
        r = mpremote(emu.port, "resume", "exec", code)
    assert r.returncode == 0, r.stdout + r.stderr
    return out.decode(errors="replace").replace("\r\n", "\n"), r.stdout


def test_the_pingpong_app_runs_at_boot_with_its_supervisor(app_elf):
    out, tasks = boot(app_elf("pingpong"), "client: client done")
    assert "client: round 0 err=0 sum=0" in out, out
    assert "client: round 1 err=0 sum=2" in out, out
    assert "client: round 2 err=0" not in out, out  # the server faulted instead
    assert "client: round 5 err=0 sum=30" in out, out  # and, restarted, served the rest
    assert "client: client done" in out
    assert "RuntimeError" in out  # the supervisor's report of the fault
    assert "('server', 1)" in tasks and "('supervisor', 0)" in tasks, tasks
    assert "('repl', 0)" in tasks  # the REPL beside the app answers


def test_the_ticker_app_drives_a_timer_through_a_window_and_its_irq(app_elf):
    # The driver idles between interrupts: with skip_idle the guest's clock goes from one timer
    # event to the next, so no period is merged however loaded the host is (made so: QEMU is
    # stopped for 30 ms of every 50 meanwhile).
    out, tasks = boot(app_elf("ticker"), "driver: ticker done", skip_idle=True, stall=True)
    ticks = [(int(n), int(ms)) for n, ms in re.findall(r"driver: tick (\d+) at (\d+) ms", out)]
    assert [n for n, _ in ticks] == [10, 20, 30], out
    # Ten timer periods of 10 ms between two lines: the interrupt paces the task, to the
    # millisecond (the kernel's clock counts every SysTick period, merged or not).
    for (_, earlier), (_, later) in zip(ticks, ticks[1:]):
        assert 99 <= later - earlier <= 101, ticks
    assert "driver: ticker done" in out
    assert "('driver', 0)" in tasks, tasks


def test_k5_ps_shows_the_live_tasks_of_a_running_board(app_elf):
    with Emulator(app_elf("pingpong"), icount=True) as emu:
        time.sleep(2)
        r = subprocess.run(
            [sys.executable, "-m", "tools.k5cli", "ps", "--port", emu.port, "--caps"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("repl", "client", "server", "supervisor"):
        assert re.search(r"^\s*\d+ " + name + " ", r.stdout, re.M), r.stdout
    assert "ping" in r.stdout  # the caps: the endpoint by name


def test_k5_size_gives_an_apps_image_and_the_ram_of_its_tasks(app_elf):
    app_elf("ticker")
    r = subprocess.run(
        [sys.executable, "-m", "tools.k5cli", "size", "--app", "tasks/ticker/app.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert re.search(r"^MPS2_AN505\+ticker +\d+ B", r.stdout, re.M), r.stdout
    assert re.search(r"^driver +4096 +16 +1$", r.stdout, re.M), r.stdout  # one MPU window
    assert re.search(r"^per task: a \d+ B context", r.stdout, re.M), r.stdout
