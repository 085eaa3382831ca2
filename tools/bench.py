"""`make bench`: K5's IPC cost on the emulated Cortex-M33 (instructions) and on the host (us)."""

import json
import subprocess
import sys

from tools import paths
from tools.emu import Emulator, mpremote_command

ROOT = paths.ROOT


def device_rows():
    """Instructions per operation on MPS2_AN505 under `-icount shift=0` (exactly repeatable)."""
    with Emulator(paths.firmware("MPS2_AN505", "elf"), icount=True) as emu:
        r = subprocess.run(
            mpremote_command(emu.port, "run", "tools/bench_device.py"),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
    if r.returncode != 0 or "Traceback" in r.stdout:
        raise SystemExit("bench: the on-target benchmark failed:\n" + r.stdout + r.stderr)
    return [line.split() for line in r.stdout.splitlines() if line.strip()]


def host_output(interpreter):
    r = subprocess.run(
        [str(interpreter), "tools/bench_ipc.py"], cwd=ROOT, capture_output=True, text=True
    )
    if r.returncode != 0:
        raise SystemExit(f"bench: tools/bench_ipc.py failed under {interpreter}:\n{r.stderr}")
    return r.stdout


def write_json(rows):
    """build/bench.json: {"rows": [{"name": ..., "instructions": ...}, ...]} for scripts."""
    out = ROOT / "build" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    data = {"rows": [{"name": name, "instructions": int(value)} for name, value in rows]}
    out.write_text(json.dumps(data, indent=1) + "\n")
    return out


def main():
    rows = device_rows()
    out = write_json(rows)
    print("On MPS2_AN505 (QEMU, -icount shift=0), instructions per operation:")
    print(f"| {'operation':<28} | {'instructions':>12} |")
    print(f"|{'-' * 30}|{'-' * 14}|")
    for name, value in rows:
        print(f"| {name:<28} | {int(value):>12,} |")
    print(f"(also in {out.relative_to(ROOT)})")
    for label, interpreter in (
        ("CPython", sys.executable),
        ("MicroPython unix port", paths.unix_micropython()),
    ):
        print(f"\nOn the host, {label}:")
        print(host_output(interpreter).rstrip())


if __name__ == "__main__":
    main()
