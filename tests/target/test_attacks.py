"""The attack corpus on MPS2_AN505: every hostile task is contained (docs/security.md)."""

import re

from elftools.elf.elffile import ELFFile

from test_tasks import run_script


def _symbols(elf_path, *names):
    with open(elf_path, "rb") as f:
        table = ELFFile(f).get_section_by_name(".symtab")
        return {name: table.get_symbol_by_name(name)[0]["st_value"] for name in names}


def test_attack_corpus(emu_elf, tmp_path):
    symbols = _symbols(emu_elf, "_sk5kernel", "_sstack")
    out = run_script(
        emu_elf,
        "attacks.py",
        tmp_path,
        {"K5KERNEL": symbols["_sk5kernel"] + 0x100, "MAIN_STACK": symbols["_sstack"] + 0x400},
        timeout=600,
    )
    # (Not anchored at a line's start: case 46's garbage log record may precede its line.)
    cases = re.findall(r"\bcase (\d+) (ok|FAIL[^:]*): (.*)$", out, re.M)
    total = int(re.search(r"^cases (\d+)$", out, re.M).group(1))
    failed = [c for c in cases if c[1] != "ok"]
    assert not failed, "\n".join(" ".join(c) for c in failed) + "\n" + out
    assert len(cases) == total >= 40, out
