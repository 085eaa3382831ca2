"""MicroPython's own test suite (tests/run-tests.py of v1.25.0) against the MPS2_AN505 image.

run-tests.py runs a serial target one test at a time, so the tests are dealt out to SHARDS
run-tests.py processes, each driving its own QEMU over a pty (execpty), run side by side.
Tests listed in tests/micropython-suite-exclusions.txt are not run.
"""

import os
import pathlib
import re
import shlex
import subprocess
import sys
import time

import pytest

from tools.emu import Emulator

HERE = pathlib.Path(__file__).resolve().parent
EXCLUSIONS_FILE = HERE.parent / "micropython-suite-exclusions.txt"

# The directories of MicroPython's suite that apply to a bare-metal port without a filesystem
# (run-tests.py only runs import/, io/ and cmdline/ on the unix port).
TEST_DIRS = ("basics", "micropython", "misc", "extmod", "float", "stress", "unicode")
SHARDS = 2
TIMEOUT = 600
MIN_PASSED = 700

# run-tests.py's line for each test it has run.
RESULT = re.compile(r"^(pass|skip|FAIL) ", re.MULTILINE)
# How often (seconds) `make test` shows how far the suite has got.
PROGRESS_EVERY = 15
SUMMARY = re.compile(r"^(\d+) tests (performed|passed|skipped|failed)\b", re.MULTILINE)


def read_exclusions(path=EXCLUSIONS_FILE):
    """Returns the excluded test paths ("dir/name.py"), ignoring comments and blank lines."""
    excluded = []
    for line in path.read_text().splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            excluded.append(name)
    return excluded


def qemu_command(elf):
    # Under -icount the guest's clock counts instructions, not host time: with the shards (and
    # the rest of `make test`) loading the host, a real-time clock jumps between two reads and
    # fails the suite's tick tests (extmod/time_ms_us.py: two ticks_ms reads 0..1 ms apart).
    # skip_idle: an idle guest's clock (asyncio's sleeps) goes from one timer event to the next
    # instead of following the host's, so a host that holds QEMU off the CPU cannot stretch a
    # sleep (asyncio_basic.py rounds its delays to 100 ms). It costs no time: 2 min 58 s.
    return shlex.join(Emulator(elf, icount=True, serial="pty", skip_idle=True).command())


def parse_summary(output):
    counts = {"performed": 0, "passed": 0, "skipped": 0, "failed": 0}
    for number, kind in SUMMARY.findall(output):
        counts[kind] += int(number)
    return counts


def failure_details(result_dir, limit=4000):
    """The expected/actual output of each failed test, from run-tests.py's result directory."""
    text = []
    for out in sorted(result_dir.glob("*.out")):
        exp = out.with_suffix(".exp")
        expected = exp.read_text(errors="replace") if exp.exists() else "(none)"
        actual = out.read_text(errors="replace")
        text.append(f"--- {out.stem}\nexpected:\n{expected}\nactual:\n{actual}")
    return "\n".join(text)[:limit]


def report(capsys, line):
    # Shown in `make test`'s output even though pytest captures the test's own output.
    with capsys.disabled():
        print("\n" + line)


def test_exclusions_file_is_well_formed(micropython_top):
    tests_dir = micropython_top / "tests"
    for line in EXCLUSIONS_FILE.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, reason = line.partition("#")
        assert sep and reason.strip(), f"exclusion without a reason: {line!r}"
        assert (tests_dir / name.strip()).is_file(), f"excluded test does not exist: {line!r}"


@pytest.mark.qemu
def test_micropython_suite(capsys, tmp_path, micropython_top, emu_elf):
    tests_dir = micropython_top / "tests"
    excluded = set(read_exclusions())
    tests = sorted(
        str(path.relative_to(tests_dir))
        for directory in TEST_DIRS
        for path in (tests_dir / directory).glob("*.py")
    )
    tests = [test for test in tests if test not in excluded]

    shards = []
    for index in range(SHARDS):
        result_dir = tmp_path / f"results-{index}"
        command = [
            sys.executable,
            "./run-tests.py",
            "-t",
            "execpty:" + qemu_command(emu_elf),
            "-r",
            str(result_dir),
            *tests[index::SHARDS],
        ]
        log = open(tmp_path / f"run-tests-{index}.log", "w+")
        process = subprocess.Popen(
            command,
            cwd=tests_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),  # each result line as it happens
        )
        shards.append((process, log, result_dir))

    # Progress while the shards run: the suite is the longest step of `make test`.
    deadline = time.monotonic() + TIMEOUT
    shown = time.monotonic()
    while any(process.poll() is None for process, _, _ in shards):
        if time.monotonic() > deadline:
            for other, _, _ in shards:
                other.kill()
            pytest.fail(f"run-tests.py did not finish within {TIMEOUT} s (logs in {tmp_path})")
        if time.monotonic() - shown >= PROGRESS_EVERY:
            shown = time.monotonic()
            done = sum(len(RESULT.findall(pathlib.Path(f.name).read_text())) for _, f, _ in shards)
            report(capsys, f"MicroPython test suite: {done} of {len(tests)} tests run")
        time.sleep(0.5)

    outputs = []
    for process, log, _ in shards:
        log.seek(0)
        outputs.append(log.read())
        log.close()

    counts = {"performed": 0, "passed": 0, "skipped": 0, "failed": 0}
    for output in outputs:
        assert SUMMARY.search(output), f"run-tests.py printed no summary:\n{output[-3000:]}"
        for kind, number in parse_summary(output).items():
            counts[kind] += number

    report(
        capsys,
        "MicroPython test suite on MPS2_AN505: {passed} passed, {failed} failed, "
        "{skipped} skipped ({performed} performed), {excluded} excluded".format(
            excluded=len(excluded), **counts
        ),
    )

    failed_lines = [line for output in outputs for line in output.splitlines()]
    failed_lines = [line for line in failed_lines if line.startswith("FAIL ")]
    details = "\n".join(failure_details(result_dir) for _, _, result_dir in shards)
    assert counts["failed"] == 0, "\n".join(failed_lines) + "\n" + details
    assert all(process.returncode == 0 for process, _, _ in shards), "\n".join(outputs)[-3000:]
    assert counts["passed"] >= MIN_PASSED
