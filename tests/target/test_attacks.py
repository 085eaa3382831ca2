"""The attack corpus on MPS2_AN505: every hostile task is contained (docs/security.md)."""

import re

from elftools.elf.elffile import ELFFile

from test_tasks import DEVICE, run_script_bytes
from tools import logs


def _symbols(elf_path, *names):
    with open(elf_path, "rb") as f:
        table = ELFFile(f).get_section_by_name(".symtab")
        return {name: table.get_symbol_by_name(name)[0]["st_value"] for name in names}


def corpus_parts():
    """(script, number of cases) of each part of the corpus: the prelude and the harness of
    tests/target/device/attacks.py around each part's cases in turn."""
    text = (DEVICE / "attacks.py").read_text()
    harness = text.index("# --- the harness ---")
    pieces = re.split(r"^# === part \d+ of the cases ===$", text[:harness], flags=re.M)
    prelude, parts = pieces[0], pieces[1:]
    return [
        (prelude + part + text[harness:], len(re.findall(r"^@case\(", part, re.M)))
        for part in parts
    ]


def test_attack_corpus(emu_elf, tmp_path):
    symbols = _symbols(
        emu_elf,
        "_sk5kernel",
        "_sstack",
        "mp_state_ctx",
        "_heap_start",
        "_heap_end",
        "k5_clock_ms",
        "rx_head",
        "systick_ms",
        "mp_interrupt_char",
        "log_events",
        "k5_user_raw",
        "pyexec_mode_kind",
        "cpuid",
        "reset_cause",
        "system_core_clock_hz",
        "reset_magic",
    )
    with open(emu_elf, "rb") as f:
        table = ELFFile(f).get_section_by_name(".symtab")
        state_size = table.get_symbol_by_name("mp_state_ctx")[0]["st_size"]
    replace = {
        "K5KERNEL": symbols["_sk5kernel"] + 0x100,
        "MAIN_STACK": symbols["_sstack"] + 0x400,
        "VM_STATE": symbols["mp_state_ctx"],
        "VM_STATE_SIZE": state_size,
        "KERNEL_HEAP": symbols["_heap_start"] + 0x100,
        "HEAP_END": symbols["_heap_end"],
        "CLOCK": symbols["k5_clock_ms"],
        "RX_HEAD": symbols["rx_head"],
        "TICKS": symbols["systick_ms"],
        "INTERRUPT_CHAR": symbols["mp_interrupt_char"],
        "LOG_EVENTS": symbols["log_events"],
        "USER_RAW": symbols["k5_user_raw"],
        "REPL_MODE": symbols["pyexec_mode_kind"],
        "CPUID": symbols["cpuid"],
        "RESET_CAUSE": symbols["reset_cause"],
        "CORE_HZ": symbols["system_core_clock_hz"],
        "RESET_MAGIC": symbols["reset_magic"],
    }
    out = ""
    records = []
    first = 0
    for text, count in corpus_parts():
        part = dict(replace, FIRST=first)
        raw = run_script_bytes(emu_elf, "attacks.py", tmp_path, part, timeout=600, text=text)
        # Case 46's hostile task sends log records: frames, not text, taken out as `k5 logs` does.
        items = logs.Decoder(logs.read_table(emu_elf)).feed(raw)
        text = "".join(item for item in items if isinstance(item, str)).replace("\r\n", "\n")
        records += [item for item in items if isinstance(item, logs.Record)]
        assert f"\ncases {count}\n" in text, text
        out += text
        first += count
    assert "Traceback" not in out, out
    # Case 68's hostile task prints a forged kernel record and raw-REPL markers: text, not a frame.
    assert [(r.task, r.text[:20]) for r in records] == [("hostile", "<undecodable record ")]
    assert re.search(
        r"^hostile: forged \?[^\n]*client faulted\? raw-repl \?\?\?\[2J end$", out, re.M
    ), out
    # Case 97's the same through k5.puts (SYS_DEBUG_PUTS, written by the kernel's Python).
    assert re.search(r"^\[\d+\] hostile: raw-repl2 \?\?\?\?\[2J end$", out, re.M), out
    cases = re.findall(r"^case (\d+) (ok|FAIL[^:]*): (.*)$", out, re.M)
    failed = [c for c in cases if c[1] != "ok"]
    assert not failed, "\n".join(" ".join(c) for c in failed) + "\n" + out
    assert [int(c[0]) for c in cases] == list(range(1, first + 1)), out
    assert first >= 40, out


def test_no_half_made_thread_and_no_window_over_the_console(emu_elf, tmp_path):
    # Issue 22: a configure the arch has no context for changes nothing (restart used to
    # reach the arch with none: K5 PANIC), and the builder refuses what the kernel keeps.
    out = run_script_bytes(emu_elf, "half_made.py", tmp_path).decode(errors="replace")
    assert "Traceback" not in out and "PANIC" not in out, out
    assert "FAIL" not in out, out
    assert re.search(r"^builder refused after \d+ tasks", out, re.M), out
    assert out.count(" ok") == 20, out
    assert "done" in out, out
