"""Tier 4: the filesystem on the emulated board: mpremote's fs, mount and edit, boot.py and
main.py, host-built images, and tasks (which reach no files)."""

import ast
import os
import re
import subprocess
import time

import pytest
import serial

from conftest import mpremote
from test_tasks import run_script
from tools import fsimage
from tools.emu import Emulator

pytestmark = pytest.mark.qemu


def boot_output(emu_elf, flash, seconds=4.0, send=b""):
    """The console from power-on (QEMU waits for the client), and after `send` if given."""
    with Emulator(emu_elf, serial="socket", wait=True, flash=flash) as emu:
        link = serial.serial_for_url(emu.port, timeout=0.2)
        out = b""
        end = time.time() + seconds
        while time.time() < end and not out.endswith(b">>> "):
            out += link.read(4096)
        if send:
            link.write(send)
            end = time.time() + seconds
            after = b""
            while time.time() < end and after.count(b">>> ") < 1:
                after += link.read(4096)
            out += after
        link.close()
    return out.decode(errors="replace").replace("\r\n", "\n")


def with_image(tmp_path, folder):
    """An emulated board's flash file holding a host-built image of `folder`."""
    image = fsimage.image_of(folder, "MPS2_AN505")
    return fsimage.prepare_emulated_flash(tmp_path / "flash.img", image)


def test_mpremote_fs_round_trips_files_and_the_host_reads_them(emu_elf, tmp_path):
    data = bytes(range(256)) * 41 + b"\x00\x01\x02\x03\x04\x18\x1b"  # every byte, 10 KB
    (tmp_path / "data.bin").write_bytes(data)
    (tmp_path / "note.txt").write_text("a note\n")
    flash = tmp_path / "flash.img"
    with Emulator(emu_elf, flash=flash) as emu:
        r = mpremote(
            emu.port,
            *("fs", "cp", str(tmp_path / "data.bin"), ":data.bin", "+"),
            *("fs", "mkdir", ":sub", "+"),
            *("fs", "cp", str(tmp_path / "note.txt"), ":sub/note.txt", "+"),
            *("fs", "ls", ":", "+", "fs", "ls", ":sub", "+", "fs", "cat", ":sub/note.txt", "+"),
            *("fs", "cp", ":data.bin", str(tmp_path / "back.bin"), "+"),
            *("fs", "cp", ":sub/note.txt", ":copy.txt", "+"),
            *("fs", "rm", ":sub/note.txt", "+", "fs", "rmdir", ":sub", "+", "fs", "ls", ":"),
        )
        assert r.returncode == 0, r.stdout + r.stderr
        on_board = fsimage.files_of(fsimage.read_emulated_flash(flash), "MPS2_AN505")
    assert (tmp_path / "back.bin").read_bytes() == data
    listings = re.findall(r"^ls :(\S*)\n((?:\s+\d+ \S+\n)*)", r.stdout, re.M)
    assert listings[0] == ("", f"{len(data):>12} data.bin\n           0 sub/\n"), r.stdout
    assert listings[1] == ("sub", "           7 note.txt\n"), r.stdout
    assert "a note" in r.stdout
    assert listings[2][1].split() == ["7", "copy.txt", str(len(data)), "data.bin"], r.stdout
    # The flash file is the board's filesystem: the host reads what the board wrote.
    assert on_board == {"data.bin": data, "copy.txt": b"a note\n"}


def test_boot_py_and_main_py_run_from_a_host_built_image_and_files_persist(emu_elf, tmp_path):
    src = tmp_path / "src"
    (src / "lib").mkdir(parents=True)
    (src / "boot.py").write_text("print('boot.py ran')\n")
    (src / "lib" / "greet.py").write_text("def greet(n):\n    return 'main.py ran %d' % n\n")
    (src / "main.py").write_text(
        "import sys\nsys.path.append('/lib')\nimport greet\nprint(greet.greet(6 * 7))\n"
    )
    flash = with_image(tmp_path, src)
    out = boot_output(emu_elf, flash)
    assert out.index("boot.py ran") < out.index("main.py ran 42") < out.index("MicroPython v"), out
    # A new main.py copied with mpremote runs at the next power-on (QEMU started again).
    (tmp_path / "new_main.py").write_text("import os\nprint('new main', sorted(os.listdir()))\n")
    with Emulator(emu_elf, flash=flash) as emu:
        r = mpremote(emu.port, "fs", "cp", str(tmp_path / "new_main.py"), ":main.py")
        assert r.returncode == 0, r.stderr
    # Ctrl-D at the friendly REPL is a soft reset: boot.py and main.py run again.
    out = boot_output(emu_elf, flash, send=b"\x04")
    first, _, after = out.partition("MPY: soft reboot")
    for part in (first, after):
        assert "boot.py ran" in part, out
        assert "new main ['boot.py', 'lib', 'main.py']" in part, out


def test_a_main_py_that_raises_leaves_the_repl_working(emu_elf, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("print('starting')\nraise ValueError('bad main')\n")
    flash = with_image(tmp_path, src)
    out = boot_output(emu_elf, flash, send=b"print(6 * 7)\r")
    assert "ValueError: bad main" in out, out
    assert out.rstrip().endswith("42\n>>>"), out


def test_an_erased_or_foreign_area_is_formatted_at_boot(emu_elf, tmp_path):
    flash = fsimage.prepare_emulated_flash(tmp_path / "flash.img")
    with open(flash, "r+b") as f:  # garbage where the filesystem goes
        f.write(bytes(range(256)) * 64)
    with Emulator(emu_elf, flash=flash) as emu:
        r = mpremote(emu.port, "exec", "import os; print((os.listdir('/'), os.statvfs('/')[:3]))")
    assert r.returncode == 0, r.stderr
    size = fsimage.geometry("MPS2_AN505")[1]
    assert ast.literal_eval(r.stdout.strip()) == (
        [],
        (fsimage.block_size(), fsimage.block_size(), size // fsimage.block_size()),
    )


def test_mpremote_mount_and_edit(emu_elf, tmp_path):
    host = tmp_path / "host"
    host.mkdir()
    (host / "hostmod.py").write_text("def hi():\n    return 'hello from the host'\n")
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\necho "# edited on the host" >> "$1"\n')
    editor.chmod(0o755)
    with Emulator(emu_elf, flash=tmp_path / "flash.img") as emu:
        r = mpremote(
            emu.port,
            *("mount", str(host), "exec"),
            "import hostmod, os; print(hostmod.hi(), os.getcwd());"
            " open('from_board.txt', 'w').write('written by the board')",
        )
        assert r.returncode == 0, r.stdout + r.stderr
        assert "hello from the host /remote" in r.stdout
        assert (host / "from_board.txt").read_text() == "written by the board"
        r = subprocess.run(
            [*mpremote_args(emu.port), "fs", "cp", str(host / "hostmod.py"), ":e.py", "+"]
            + ["edit", ":e.py", "+", "fs", "cat", ":e.py"],
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ, EDITOR=str(editor)),
        )
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.rstrip().endswith("return 'hello from the host'\n# edited on the host")


def mpremote_args(port):
    from tools.emu import mpremote_command

    return mpremote_command(port)


def test_tasks_reach_no_files(emu_elf, tmp_path):
    out = run_script(emu_elf, "files.py", tmp_path)
    seen = dict(re.findall(r"^(?:reader: )?fs (\w+) (.*)$", out, re.M))
    enodev = "OSError: [Errno 19] ENODEV"
    for name in ("open", "open_relative", "stat", "remove", "write"):
        assert seen[name] == repr(enodev), (name, out)
    # Nothing is mounted in the task: it is at the root of an empty VFS.
    assert seen["listdir"] == "[]" and seen["getcwd"] == repr("/"), out
    assert seen["import"] == repr("ImportError: no module named 'fsmod'"), out
    refused = repr("OSError: K5: the flash belongs to the root task")[:40]  # as reported
    for name in ("readblocks", "writeblocks", "ioctl_erase", "mount_flash"):
        assert seen[name] == refused, (name, out)
    assert seen["own"] == repr((["own"], "mine")), out  # its own RAM filesystem is its own
    # The root's view is untouched by the task, and holds nothing of the task's.
    assert seen["root_secret"] == repr("the root's"), out
    assert seen["root_listdir"] == repr(["fsmod.py", "secret.txt"]), out
    blocks = fsimage.geometry("MPS2_AN505")[1] // fsimage.block_size()
    assert seen["root_flash_blocks"] == str(blocks)
    # The flash rules: erase to 0xff, program once, refuse a second program and misalignment.
    assert seen["erase"] == "0" and seen["erased"] == repr(b"\xff" * 8), out
    assert seen["program"] == "0" and seen["reprogram"] == "-5", out  # EIO, as PROGERR
    assert seen["kept"] == repr(b"K5K5K5K5"), out
    assert seen["misaligned"] == "-22" and seen["outside"] == "-22", out
    assert seen["offset_past_end"] == "-22" and seen["spans_past_end"] == "-22", out
    assert seen["remounted"] == "[]", out
