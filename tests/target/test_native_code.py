"""Native code on the board: the frozen kernel runs as machine code; code compiled at run time
runs from an execute-only area of the REPL or of a task with an interpreter of its own."""

import re

from elftools.elf.elffile import ELFFile

from tests.target.test_tasks import run_script
from tools import profile


def test_the_kernels_hot_path_is_frozen_machine_code(emu_elf):
    with open(emu_elf, "rb") as f:
        names = {s.name for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols()}
    for name in ("k5_kernel_Kernel_run", "k5_fastpath_sys_call", "k5_fastpath_sys_reply_recv"):
        assert "fun_data_" + name in names


def test_native_and_viper_code_run_in_the_repl_and_in_a_task_of_its_own_only(emu_elf, tmp_path):
    # Compiled at run time into the heap (execute-never), committed into an area the task may
    # execute and read but not write (native/k5arch, k5arch_commit_exec); what a task crafts
    # with it against the kernel is the attack corpus's "own machine code".
    out = run_script(emu_elf, "native.py", tmp_path)
    assert "native root 2 4950" in out, out
    assert "own: native own 42 45" in out and "native own exited" in out, out
    assert "native shared faulted RuntimeError: K5: machine code runs only in the REPL" in out
    assert "native arena True" in out and "native alive 42" in out, out


def test_profile_samples_the_frozen_kernel(emu_elf):
    # The round trip runs through the kernel's frozen machine code, the VM and the trap. With
    # the C fast path the frozen kernel gets about 6% of the samples (taken in host time, which
    # favours the slow exception entry), so 60 samples missed it now and then (1 to 6 hits
    # measured); 200 expect about 12, and miss it with a chance of about 1 in 10^5.
    out = []
    hits, callers = profile.sample(
        "tools/profile_ipc.py", samples=200, elf=emu_elf, out=out.append
    )
    assert sum(hits.values()) == 200
    kernel = sum(n for name, n in hits.items() if name.startswith("fun_data_k5_"))
    assert kernel > 0, out
    assert out[0] == "200 samples of tools/profile_ipc.py"


def test_profile_without_markers_says_what_is_missing(emu_elf, tmp_path):
    script = tmp_path / "quiet.py"
    script.write_text("print('no markers')\n")
    try:
        profile.sample(str(script), samples=10, elf=emu_elf)
    except SystemExit as e:
        assert "profile-start and profile-end" in str(e) and "no markers" in str(e)
    else:
        raise AssertionError("no SystemExit")


def traces(output):
    """{(seed, mode): {task: [its lines]}} from fastpaths.py's output."""
    found = {}
    current = None
    for line in output.splitlines():
        m = re.match(r"^trace (\d+) (\w+) after \w+$", line)
        if m:
            current = found.setdefault((int(m.group(1)), m.group(2)), {})
            continue
        if line.startswith("end "):
            current = None
            continue
        if line.startswith("states ") and current is not None:
            current["states"] = line.split()[1:]
            continue
        m = re.match(r"^(?:\[\d+\] )?(\w+): (.*)$", line)
        if m and current is not None:
            current.setdefault(m.group(1), []).append(m.group(2))
    return found


def test_c_fast_path_python_fast_path_and_general_path_give_equal_traces(emu_elf, tmp_path):
    seeds = 12
    out = run_script(emu_elf, "fastpaths.py", tmp_path, {"SEEDS": seeds}, timeout=600)
    found = traces(out)
    assert len(found) == 3 * seeds, out[-2000:]
    # The device kernel starts with the C fast path; each trace ran in the mode it asked for.
    assert "trace 0 native after native" in out
    assert "mode at the end general" in out
    faults = [line for line in out.splitlines() if line.startswith("fault of")]
    calls = finished = chained = 0
    for seed in range(seeds):
        native = found[(seed, "native")]
        # (A server prints nothing when no call of the trace ever reached it.)
        assert (
            {"c0", "c1", "c2", "states"}
            <= set(native)
            <= {"a", "c0", "c1", "c2", "p", "q", "states"}
        ), (seed, faults)
        assert native == found[(seed, "python")] == found[(seed, "general")], (seed, faults)
        # A client that exited made all its 40 syscalls.
        for c in ("c0", "c1", "c2"):
            if c + ":exited" in native["states"]:
                assert len(native[c]) == 40, native[c]
                finished += 1
        calls += sum(line.split()[1] == "0" for c in ("c0", "c1", "c2") for line in native[c])
        # (q answers p's calls: the call stack two deep, through the fast paths.)
        chained += sum(line.split()[1] == "0" for line in native.get("q", ()))
    # The traces did something: most clients finished, hundreds of syscalls succeeded.
    assert finished >= 2 * seeds and calls > 30 * seeds, (finished, calls)
    assert chained >= seeds, chained
