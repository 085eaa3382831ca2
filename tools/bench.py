"""`make bench`: K5's IPC cost on the emulated Cortex-M33 (instructions) and on the host (us)."""

import json
import subprocess
import sys

from tools import logs, paths
from tools.emu import Emulator, mpremote_command

ROOT = paths.ROOT


def device_rows():
    """Instructions per operation on MPS2_AN505 under `-icount shift=0` (exactly repeatable)."""
    with Emulator(paths.firmware("MPS2_AN505", "elf"), icount=True) as emu:
        r = subprocess.run(
            mpremote_command(emu.port, "run", "tools/bench_device.py"),
            cwd=ROOT,
            capture_output=True,
            timeout=600,
        )
    out = r.stdout.replace(b"\r\n", b"\n")
    # The log benchmark's frames are binary: only the text between them is parsed.
    items = logs.Decoder(logs.read_table(paths.firmware("MPS2_AN505", "elf"))).feed(out)
    text = "".join(item for item in items if isinstance(item, str))
    if r.returncode != 0 or "Traceback" in text:
        raise SystemExit("bench: the on-target benchmark failed:\n" + text + r.stderr.decode())
    rows = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1].isdigit():
            rows.append(fields)
    return rows, wire_rows(out)


def late_rows():
    """Wake-up lateness in ticks behind each long call in C (tools/bench_late.py), under
    `-icount shift=0,sleep=off`: an idle guest's clock jumps to its next event, so host load
    cannot stretch a sleep."""
    with Emulator(paths.firmware("MPS2_AN505", "elf"), icount=True, skip_idle=True) as emu:
        r = subprocess.run(
            mpremote_command(emu.port, "run", "tools/bench_late.py"),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1500,  # 14 runs of 50 periods each, about 8 minutes
        )
    if r.returncode != 0 or "Traceback" in r.stdout:
        raise SystemExit("bench: tools/bench_late.py failed:\n" + r.stdout + r.stderr)
    late = []
    for line in r.stdout.splitlines():
        fields = line.split()
        # ("-": the caller had no room for the call in the kernel's interpreter.)
        if len(fields) == 3 and fields[0] == "late" and (fields[2].isdigit() or fields[2] == "-"):
            late.append(fields[1:])
    return late


def wire_rows(out):
    """Console bytes per operation between a benchmark's wire-start and wire-end marks."""
    rows = []
    at = 0
    while True:
        start = out.find(b"wire-start ", at)
        if start < 0:
            return rows
        name_end = out.index(b"\n", start)
        name = out[start + 11 : name_end].decode()
        end = out.index(b"wire-end " + name.encode(), name_end)
        count = int(out[end:].split(b"\n", 1)[0].split()[2])
        rows.append([name, str((end - name_end - 1) // count)])
        at = end + 1


def host_output(interpreter):
    r = subprocess.run(
        [str(interpreter), "tools/bench_ipc.py"], cwd=ROOT, capture_output=True, text=True
    )
    if r.returncode != 0:
        raise SystemExit(f"bench: tools/bench_ipc.py failed under {interpreter}:\n{r.stderr}")
    return r.stdout


def write_json(rows, wire, late):
    """build/bench.json: {"rows": [{"name": ..., "instructions": ...}, ...], "wire": [{"name":
    ..., "bytes": ...}, ...], "late": [{"call": ..., "ticks": ...}, ...]} for scripts (wire:
    console bytes of one operation; late: a priority-50 periodic task's worst wake-up lateness
    behind a priority-10 task making that long call in C; null when the caller, in the
    kernel's interpreter, had no room for the call)."""
    out = ROOT / "build" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    data = {
        "rows": [{"name": name, "instructions": int(value)} for name, value in rows],
        "wire": [{"name": name, "bytes": int(value)} for name, value in wire],
        "late": [
            {"call": name, "ticks": None if value == "-" else int(value)} for name, value in late
        ],
    }
    out.write_text(json.dumps(data, indent=1) + "\n")
    return out


def write_chart(rows):
    """build/bench.png: K5's rows against the baselines measured in the same run."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    names = [name for name, _ in rows]
    values = [int(value) for _, value in rows]
    colors = ["#c44e52" if name.startswith("k5_") else "#4c72b0" for name in names]
    figure, axes = plt.subplots(figsize=(9, 0.42 * len(rows) + 1.2))
    axes.barh(names, values, color=colors)
    axes.set_xscale("log")
    axes.invert_yaxis()
    axes.set_xlabel("instructions per operation (MPS2_AN505, QEMU -icount shift=0, log scale)")
    axes.set_title("K5 (red) against MicroPython baselines (blue)")
    for y, value in enumerate(values):
        axes.text(value, y, " {:,}".format(value), va="center", fontsize=8)
    figure.tight_layout()
    out = ROOT / "build" / "bench.png"
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out


def main():
    rows, wire = device_rows()
    late = late_rows()
    out = write_json(rows, wire, late)
    chart = write_chart(rows)
    print("On MPS2_AN505 (QEMU, -icount shift=0), instructions per operation:")
    print(f"| {'operation':<34} | {'instructions':>12} |")
    print(f"|{'-' * 36}|{'-' * 14}|")
    for name, value in rows:
        print(f"| {name:<34} | {int(value):>12,} |")
    print("Console bytes of one operation (a log frame against the same line printed):")
    for name, value in wire:
        print(f"| {name:<34} | {int(value):>12,} |")
    print("Worst wake-up lateness (ticks of 1 ms; goal 2) of a priority-50 task every 10 ticks")
    print("behind a priority-10 task (budget 5/20) making one long call in C after another:")
    for name, value in late:
        shown = "no room" if value == "-" else f"{int(value):,}"
        print(f"| {name:<34} | {shown:>12} |")
    print(f"(also in {out.relative_to(ROOT)})")
    if chart is not None:
        print(f"(chart: {chart.relative_to(ROOT)})")
    for label, interpreter in (
        ("CPython", sys.executable),
        ("MicroPython unix port", paths.unix_micropython()),
    ):
        print(f"\nOn the host, {label}:")
        print(host_output(interpreter).rstrip())


if __name__ == "__main__":
    main()
