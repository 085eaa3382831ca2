"""k5 profile: where the emulated board spends its instructions, by C and frozen-native symbol.

k5 profile [SCRIPT] [--samples N]        (python -m tools.profile SCRIPT [--elf ELF])

Boots MPS2_AN505 under `-icount shift=0` with QEMU's gdbstub open, runs SCRIPT on the board with
mpremote, and samples the program counter (and the link register) through the gdbstub between
the lines `profile-start` and `profile-end` that SCRIPT prints. Each sample stops the guest,
reads PC and LR, and lets it go on; under icount the guest's clock stops with it, so sampling
does not change what is measured. PCs are mapped to the ELF's function symbols: C functions of
the VM and the native layer, and each frozen `@micropython.native` function as the symbol
mpy-tool gives its machine code (`fun_data_<module>_<function>`). Bytecode functions all run
inside `mp_execute_bytecode`. Prints the functions by share of samples (self), each with the
callers its LR points to.

The samples are taken in host time, not in guest instructions: code that QEMU runs slowly per
instruction (MPU and other system-register writes, which end a translation block under icount,
as in k5arch_run's context switch) gets more samples than its instruction count. Instruction
counts come from `make bench`; this tells where, among the VM's and the kernel's functions.
"""

import argparse
import bisect
import collections
import random
import subprocess
import sys
import threading
import time

from elftools.elf.elffile import ELFFile

from tools import paths
from tools.emu import Emulator, mpremote_command
from tools.rtt import GdbMemory

PC = 15
LR = 14


def function_table(elf_path):
    """Sorted (start addresses, [(start, end, name)]) of the ELF's function and object symbols
    (frozen native code is an object: a const byte array in flash)."""
    entries = []
    with open(elf_path, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        for sym in symtab.iter_symbols():
            kind = sym["st_info"]["type"]
            if kind not in ("STT_FUNC", "STT_OBJECT") or sym["st_size"] == 0:
                continue
            start = sym["st_value"] & ~1
            entries.append((start, start + sym["st_size"], sym.name))
    entries.sort()
    return [e[0] for e in entries], entries


def lookup(table, address):
    starts, entries = table
    i = bisect.bisect_right(starts, address) - 1
    if i >= 0 and entries[i][0] <= address < entries[i][1]:
        return entries[i][2]
    return "0x%08x" % address


def read_registers(gdb):
    """r0..r15 from a `g` packet (QEMU's gdbstub has no `p` for M-profile cores)."""
    raw = bytes.fromhex(gdb._command(b"g")[: 16 * 8].decode())
    return [int.from_bytes(raw[4 * i : 4 * i + 4], "little") for i in range(16)]


def sample(script, samples=1000, elf=None, out=print):
    elf = elf or paths.firmware("MPS2_AN505", "elf")
    table = function_table(elf)
    hits = collections.Counter()
    callers = collections.defaultdict(collections.Counter)
    state = {"on": False, "done": False, "output": []}
    with Emulator(elf, icount=True, gdb=True) as emu:
        gdb = GdbMemory(emu.gdb_port)
        gdb.resume()
        run = subprocess.Popen(
            mpremote_command(emu.port, "run", script),
            cwd=paths.ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

        def watch():
            for line in run.stdout:
                text = line.decode(errors="replace").strip()
                state["output"].append(text)
                if text == "profile-start":
                    state["on"] = True
                elif text == "profile-end":
                    state["on"] = False
                    state["done"] = True
            state["done"] = True

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        rng = random.Random(1)
        taken = 0
        last = None
        while not state["done"] and taken < samples:
            time.sleep(rng.uniform(0.02, 0.06))
            if not state["on"]:
                continue
            gdb.stop()
            registers = read_registers(gdb)
            gdb.resume()
            # QEMU may not have run the guest since the last stop (its vCPU thread starts
            # late on a busy host): the same registers again are no new sample.
            if registers == last:
                continue
            last = registers
            pc = registers[PC]
            lr = registers[LR]
            name = lookup(table, pc)
            hits[name] += 1
            callers[name][lookup(table, lr & ~1)] += 1
            taken += 1
        run.wait(timeout=600)
        gdb.close()
    if taken == 0:
        raise SystemExit(
            "profile: no samples (does the script print profile-start and profile-end?)\n"
            + "\n".join(state["output"][-20:])
        )
    out("%d samples of %s" % (taken, script))
    out("%6s  %-48s %s" % ("share", "function (self)", "called from (LR)"))
    for name, count in hits.most_common(40):
        top = ", ".join("%s %d" % (c, n) for c, n in callers[name].most_common(3))
        out("%5.1f%%  %-48s %s" % (100.0 * count / taken, name[:48], top))
    return hits, callers


def main(argv=None):
    parser = argparse.ArgumentParser(prog="k5 profile", description=__doc__.splitlines()[0])
    parser.add_argument("script", help="a script that prints profile-start and profile-end")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--elf", default=None, help="firmware (default: MPS2_AN505's)")
    args = parser.parse_args(argv)
    sample(args.script, args.samples, args.elf)


if __name__ == "__main__":
    sys.exit(main())
