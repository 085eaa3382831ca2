"""Tasks with interpreters of their own on the board (k5.spawn(..., heap=N)), in real QEMU."""

import re

import pytest

from conftest import ROOT
from k5.abi import ERR_EMPTY_SLOT
from test_tasks import DEVICE, run_script_bytes
from tools.k5cli import symbols

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module")
def out(emu_elf, tmp_path_factory):
    # tests/target/device/interpreters.py: its prelude with each part in turn, on fresh boards.
    text = (DEVICE / "interpreters.py").read_text()
    pieces = re.split(r"^# === part \d+ ===$", text, flags=re.M)
    heap = symbols(emu_elf)["_heap_start"]
    tmp_path = tmp_path_factory.mktemp("interpreters")
    outputs = []
    for part in pieces[1:]:
        script = pieces[0] + part
        replace = {"KERNEL_HEAP": heap} if "KERNEL_HEAP = 0" in part else None
        raw = run_script_bytes(emu_elf, "interpreters.py", tmp_path, replace, text=script)
        outputs.append(raw.decode(errors="replace").replace("\r\n", "\n"))
    out = "".join(outputs)
    assert "Traceback" not in out, out
    return out


def test_interpreters_of_their_own_do_ipc_with_each_other_and_the_kernels(out):
    # Both ends of own, and each end of its own beside one in the kernel's interpreter: the
    # server's reply (words * SCALE + its arg, "pong" and the payload) reaches the client.
    assert out.count("pair ") == 3, out
    for line in re.findall(r"^pair .*$", out, re.M):
        assert line.endswith("('recv', 'exited') ('', '')"), out
    assert "client: client (0, 1, b'pong!') (0, 58, b'pong!!!!!!!!!!!!!!!!!!" in out, out
    assert out.count("client: client (0, 1, b'pong!') (0, 13, b'pong!!!!!') 5") == 2, out


def test_running_out_of_heap_harms_only_that_task(out):
    # The hoarder fills its heap, interns 2,000 names and faults; the pair beside it does IPC
    # on its own heaps, and the kernel's heap is as it was: what the hoarder had died with it.
    for round_ in range(3):
        assert f"hoarder {round_} faulted MemoryError: hoarded" in out, out
    assert out.count("client: client (0, 1, b'pong!') (0, 7, b'pong!!!') 3") == 3, out
    before, after = map(int, re.search(r"^kernel heap (\d+) (\d+)$", out, re.M).groups())
    assert before - after < 1024, out


def test_the_smallest_heap_that_imports_k5_and_calls(out):
    # docs/interpreters.md gives the number (K5_TASK_HEAP_MIN is the least a spawn accepts).
    # 8 KB before the user API was in flash (native/k5arch/user.c), 3,840 B while a task
    # unpacked its image with k5.image; since image.c it imports nothing at its start.
    smallest = int(re.search(r"^smallest heap (\d+)$", out, re.M).group(1))
    assert 1024 < smallest <= 3072, out


def test_a_body_gets_plain_values_modules_and_functions_of_its_script(out):
    assert "rules: rules 42 True K5: TABLE (a list) is the spawner's" in out, out
    assert "rules state exited" in out, out
    assert out.rstrip().endswith("done"), out


def test_a_body_with_nested_code_runs_in_an_interpreter_of_its_own(out):
    # Its nested function, class, lambda, comprehensions and generator travel in its image.
    assert "nested: nested [0, 1, 4, 9] [1, 9] 18 {0: 0, 1: 3}" in out, out
    assert re.search(r"^nested state exited\s*$", out, re.M), out


def test_a_closure_carries_its_cells_and_defaults_to_an_interpreter_of_its_own(out):
    # The cell's int and its nested closure by value and code, the default's function by code,
    # the spawner's list a stand-in.
    assert "closure: closure 140 2 stand-in 100" in out, out
    assert re.search(r"^closure state exited\s*$", out, re.M), out
    refused = "make_fun K5: the defaults do not match the function's code"
    assert out.count(refused + "\n") == 3 and "make_fun 8\n" in out, out
    assert out.count("make_fun K5: cells must be a tuple of at most 255\n") == 2, out


def test_marshal_carries_nested_code_and_tables_past_128_entries(out):
    # MicroPython's own dumps wrote past its bit vectors for an index of 128 or more (the heap
    # corruption of session 12); K5's checks every index against its table.
    assert "marshal big True" in out and "marshal late True" in out, out
    assert "marshal code 10" in out, out
    refused = re.findall(r"^marshal refused (.*)$", out, re.M)
    assert refused[:2] == ["unmarshallable object"] * 2, out
    assert refused[2] == "marshal: only bytecode compiled at run time", out
    assert "marshal refused nothing" not in out, out


def test_the_repls_side_of_the_builder_imports_none_of_the_kernels_modules(out):
    # k5.system and k5.root in an interpreter of their own (as the REPL's will be): the front
    # end over SYS_BUILD and what it needs, no kernel module (k5.builder, k5.kernel, ...).
    modules = set(re.findall(r"^side: builder side (\S+)$", out, re.M))
    assert modules == {
        "k5",
        "k5._compat",
        "k5.abi",
        "k5.arch",
        "k5.building",
        "k5.front",
        "k5.root",
        "k5.system",
        "k5.ticks",
        "k5.user",
    }, out
    assert re.search(r"^side state exited\s*$", out, re.M), out


def test_a_task_unpacks_in_c_what_the_packer_packs_and_refuses_damaged_images(out):
    # native/k5arch/image.c, which every task's start runs, against k5/image.py's packer: plain
    # values of every kind, nesting to the limit, 300 items; and eleven damaged images (wrong
    # magic, truncated, trailing bytes, huge or overlong counts, too deep, unknown tag, bad
    # text, functions nested too deep) each a ValueError of the caller's.
    assert "image unpacked 7" in out and "image differs" not in out, out
    # Functions in defaults, 8 inside each other (the packer's limit too), and not 9.
    assert "image functions 8\n" in out, out
    assert out.count("image refused K5: the image") == 11, out
    assert "image refused K5: the image has functions nested too d" in out, out
    assert "image accepted" not in out, out
    assert len(re.findall(r"^image refused ", out, re.M)) == 12, out


def test_the_walker_finds_no_word_of_a_task_that_names_memory_not_its_own(out):
    # Every word of each block (stack, saved state, heap) of the pair with interpreters of their
    # own, after 20 calls: none names the kernel's heap or the other task's block.
    walks = re.findall(r"^walk \(\((\d+), (\w+), (\w+)\), \((\d+), (\w+), (\w+)\)\)$", out, re.M)
    heaps = [int(walk[0]) for walk in walks] + [int(walk[3]) for walk in walks]
    assert walks[0][1:3] == walks[0][4:6] == ("0", "0"), out
    # One end in the kernel's interpreter: its block is not walked (and it has no heap).
    assert walks[1][:3] == ("0", "None", "None") and walks[1][4:6] == ("0", "0"), out
    assert walks[2][3:] == ("0", "None", "None") and walks[2][1:3] == ("0", "0"), out
    # Each heap is at least what was asked (the block is rounded up to whole KB).
    assert all(heap == 0 or 16384 <= heap < 16384 + 2048 for heap in heaps), out
    # The control: a task that keeps three raw words naming the kernel's heap and two naming the
    # REPL's object (in the REPL's block, since the REPL has an interpreter of its own) is seen.
    kernel, other = map(int, re.search(r"^control \(\d+, (\d+), (\d+)\)$", out, re.M).groups())
    assert kernel >= 3 and other >= 2, out


def test_a_restart_is_a_fresh_interpreter(out):
    # Under a supervisor the task faults and is restarted again and again: each start finds
    # nothing of the last one (a name it set in its builtins died with its interpreter).
    starts = re.findall(r"^restarted: restarted (\w+)$", out, re.M)
    generation = int(re.search(r"^restarted generation (\d+)$", out, re.M).group(1))
    assert len(starts) >= 3 and generation >= 2, out
    assert set(starts) == {"fresh"}, out


def test_the_user_api_in_flash_binds_arguments_as_python_does(out):
    # k5.* in a task is _k5user (made from k5/user.py): missing, extra and unknown arguments
    # raise TypeError in the task; keywords bind by name; an empty slot answers ERR_INVALID_CAP.
    got = re.findall(r"^bindings: bindings (.*)$", out, re.M)
    assert got[:4] == ["<function call>", "True", "0", "True"], out
    assert got[4:7] == [
        "'slot' argument required",
        "extra positional arguments given",
        "extra keyword arguments given",
    ], out
    empty = ERR_EMPTY_SLOT
    assert got[7:] == [str(empty), str((empty, empty, empty))], out
    assert "bindings state exited" in out, out


def test_the_syscall_fuzzer_with_interpreters_of_their_own(emu_elf, tmp_path):
    # tests/scenarios/fuzz.py with two of its five puppets in interpreters of their own (12 KB
    # heaps): random syscalls, odd arguments included, between them and the kernel's
    # interpreter's puppets. No kernel exception, no deadlock; the two get through.
    text = (ROOT / "tests" / "scenarios" / "fuzz.py").read_text()
    own = "            passive=i == 4,\n"
    assert own in text
    # (Their stacks are the default for a task with a heap: 6 KB. At 4 KB they hit MicroPython's
    # recursion limit.)
    extra = "            heap=12288 if i < 2 else None,\n"
    text = text.replace(own, own + extra)
    # Then the walker over each of their blocks (native/k5arch): after all that, no word in
    # either names the kernel's heap or another task's block.
    traps = 'print("traps", system.traps())\n'
    assert traps in text
    text = text.replace(traps, traps + 'print("walk", [system.stats(t)[5:] for t in tasks[:2]])\n')
    out = run_script_bytes(emu_elf, "fuzz_own.py", tmp_path, text=text, timeout=600)
    out = out.decode(errors="replace").replace("\r\n", "\n")
    assert "Traceback" not in out and "K5 PANIC" not in out, out
    # Each of the two made all its syscalls and exited, or waits for the reply to a call that
    # another puppet received and has not answered (random calls on a shared endpoint: which
    # puppet receives which call depends on the time slices, so on timing). (Its progress
    # lines are no proof: a line the console has no room for is refused, and a puppet goes on.)
    states = dict(re.findall(r"^\s+\d+ (p\d)\s+(\w+)", out, re.M))
    assert states.get("p0") in ("exited", "reply") and states.get("p1") in ("exited", "reply"), out
    assert re.search(r"^result ", out, re.M), out
    walks = re.search(r"^walk \[\((\d+), (\d+), (\d+)\), \((\d+), (\d+), (\d+)\)\]$", out, re.M)
    assert walks and walks.groups()[1:3] == walks.groups()[4:6] == ("0", "0"), out
    assert int(walks.group(1)) >= 12288 and int(walks.group(4)) >= 12288, out


def test_an_exceptions_text_made_with_the_heap_locked_is_printed(out):
    # MicroPython makes it in its emergency buffer, in the VM state block; the kernel serves the
    # print from the task's saved copy of that block (the live one is the kernel's then). It
    # printed nothing until session 18 (MicroPython's heapalloc_exc_compressed_emg_exc failed in
    # the REPL once it had an interpreter of its own).
    assert "locked: locked name 'name_nowhere' isn't defined" in out, out
