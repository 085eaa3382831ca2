"""The attack corpus on MPS2_AN505: every hostile task is contained (docs/security.md)."""

import re

from elftools.elf.elffile import ELFFile

from test_tasks import run_script_bytes
from tools import logs


def _symbols(elf_path, *names):
    with open(elf_path, "rb") as f:
        table = ELFFile(f).get_section_by_name(".symtab")
        return {name: table.get_symbol_by_name(name)[0]["st_value"] for name in names}


def test_attack_corpus(emu_elf, tmp_path):
    symbols = _symbols(emu_elf, "_sk5kernel", "_sstack", "mp_state_ctx")
    replace = {
        "K5KERNEL": symbols["_sk5kernel"] + 0x100,
        "MAIN_STACK": symbols["_sstack"] + 0x400,
        "VM_STATE": symbols["mp_state_ctx"],
    }
    raw = run_script_bytes(emu_elf, "attacks.py", tmp_path, replace, timeout=600)
    # Case 46's hostile task sends log records: frames, not text, taken out as `k5 logs` does.
    items = logs.Decoder(logs.read_table(emu_elf)).feed(raw)
    out = "".join(item for item in items if isinstance(item, str)).replace("\r\n", "\n")
    assert "Traceback" not in out, out
    records = [item for item in items if isinstance(item, logs.Record)]
    # Case 68's hostile task prints a forged kernel record and raw-REPL markers: text, not a frame.
    assert [(r.task, r.text[:20]) for r in records] == [("hostile", "<undecodable record ")]
    assert re.search(
        r"^hostile: forged \?[^\n]*client faulted\? raw-repl \?\?\?\[2J end$", out, re.M
    ), out
    cases = re.findall(r"^case (\d+) (ok|FAIL[^:]*): (.*)$", out, re.M)
    total = int(re.search(r"^cases (\d+)$", out, re.M).group(1))
    failed = [c for c in cases if c[1] != "ok"]
    assert not failed, "\n".join(" ".join(c) for c in failed) + "\n" + out
    assert len(cases) == total >= 40, out


def test_no_half_made_thread_and_no_window_over_the_console(emu_elf, tmp_path):
    # Issue 22: a configure the arch has no context for changes nothing (restart used to
    # reach the arch with none: K5 PANIC), and the builder refuses what the kernel keeps.
    out = run_script_bytes(emu_elf, "half_made.py", tmp_path).decode(errors="replace")
    assert "Traceback" not in out and "PANIC" not in out, out
    assert "FAIL" not in out, out
    assert re.search(r"^builder refused after \d+ tasks", out, re.M), out
    assert out.count(" ok") == 20, out
    assert "done" in out, out
