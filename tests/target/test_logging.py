"""Tier 4: k5.log records on the emulated board's console, decoded as `k5 logs` does."""

import subprocess
import sys

import pytest

from conftest import ROOT
from test_apps import build_app
from test_attacks import _symbols
from test_tasks import DEVICE, run_script_bytes
from tools import logs, rtt
from tools.emu import Emulator, mpremote_command

pytestmark = pytest.mark.qemu


def test_records_of_a_task_the_root_and_the_kernel_decode(emu_elf, tmp_path):
    kernel = _symbols(emu_elf, "_sk5kernel")["_sk5kernel"] + 0x100
    out = run_script_bytes(emu_elf, "logging.py", tmp_path, {"K5KERNEL": kernel})
    items = logs.Decoder(logs.read_table(emu_elf)).feed(out)
    records = [
        (item.task, logs.LEVELS[item.level], item.text)
        for item in items
        if isinstance(item, logs.Record)
    ]
    text = "".join(item for item in items if isinstance(item, str))
    assert records == [
        ("logger", "INFO", "round 3: err -4"),
        ("logger", "DEBUG", "typed text 1.500000 None"),
        ("logger", "WARN", "long " + "y" * 64),
        ("logger", "ERROR", "object (1, 2)"),
        ("kernel", "ERROR", "logger faulted: ValueError: on purpose"),
        ("repl", "INFO", "from the root 1"),
    ], records
    # A body in kernel memory, or longer than a record: refused (-1), and nothing is sent.
    assert "logger: forged 4294967295 4294967295" in text, text  # -1 as the raw svc reads it
    assert "done" in text and "Traceback" not in text
    # Each record is smaller on the wire than its line printed.
    assert len(out) < 2000


def test_k5_logs_decodes_an_app_from_boot(tmp_path):
    build_app("pingpong")
    r = subprocess.run(
        [sys.executable, "-m", "tools.k5cli", "logs", "--app", "tasks/pingpong/app.toml"]
        + ["--seconds", "6", "--plain", "--icount"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    lines = [line.split("] ", 1)[1] for line in r.stdout.splitlines() if " ms] " in line]
    assert lines[:3] == [
        "client INFO round 0: err 0",
        "client INFO round 1: err 0",
        "server WARN crashing on request 2, as asked",
    ], r.stdout
    assert lines[3:5] == [
        "kernel ERROR server faulted: RuntimeError: asked to crash",
        "kernel INFO server restarted",
    ], r.stdout
    assert lines[-1] == "client INFO round 5: err 0", r.stdout
    assert "client: client done" in r.stdout  # the text between the frames passes through


def test_records_over_rtt_are_read_through_the_gdbstub(emu_elf, tmp_path):
    # The probe's view: tools/rtt.py finds the control block through k5_rtt_locator.
    script = tmp_path / "rtt.py"
    script.write_text((DEVICE / "rtt.py").read_text())
    with Emulator(emu_elf, icount=True, gdb=True) as emu:
        r = subprocess.run(
            mpremote_command(emu.port, "run", str(script)), capture_output=True, timeout=120
        )
        assert r.returncode == 0, r.stdout + r.stderr
        memory = rtt.GdbMemory(emu.gdb_port)
        try:
            locator = _symbols(emu_elf, "k5_rtt_locator")["k5_rtt_locator"]
            reader = rtt.RttReader(memory, locator)
            stream = reader.poll()
            again = reader.poll()
        finally:
            memory.close()
    table = logs.read_table(emu_elf)
    over_rtt = [
        (item.task, logs.LEVELS[item.level], item.text)
        for item in logs.Decoder(table).feed(stream)
        if isinstance(item, logs.Record)
    ]
    assert over_rtt == [
        ("rttlog", "INFO", "rtt 0 of 3"),
        ("rttlog", "INFO", "rtt 1 of 3"),
        ("rttlog", "INFO", "rtt 2 of 3"),
        ("repl", "WARN", "from the root 7"),
    ], over_rtt
    assert again == b""  # the read offset moved: nothing is read twice
    console = logs.Decoder(table).feed(r.stdout)
    records = [item.text for item in console if isinstance(item, logs.Record)]
    assert records == ["console again 1"], records  # only what came after the switch back
    assert "done" in "".join(item for item in console if isinstance(item, str))


def test_k5_logs_over_rtt_decodes_an_app(tmp_path):
    build_app("pingpong")
    r = subprocess.run(
        [sys.executable, "-m", "tools.k5cli", "logs", "--app", "tasks/pingpong/app.toml"]
        + ["--rtt", "--seconds", "5", "--plain", "--icount"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "client INFO round 0: err 0" in r.stdout, r.stdout
    assert ">>> import k5.log; k5.log.rtt(True)" in r.stdout  # the REPL switched the channel
