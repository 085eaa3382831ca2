"""Tier 5: the NUCLEO_L552ZE_Q image links, fits the STM32L552, and its .dfu holds the image."""

import subprocess
import sys

import pytest

from conftest import ROOT
from tools import dfuse, fsimage, paths
from tools.k5cli import symbols

BOARD = "NUCLEO_L552ZE_Q"


def image(ext):
    path = paths.firmware(BOARD, ext)
    if not path.exists():
        pytest.fail(f"{path} missing: run `make firmware`")
    return path


def test_dfu_holds_the_binary_at_flash_start():
    dfu = dfuse.parse(image("dfu").read_bytes())
    assert (dfu.vendor, dfu.product) == (0x0483, 0xDF11)
    assert len(dfu.targets) == 1
    alt, _, elements = dfu.targets[0]
    assert alt == 0, "alternate setting 0 is the internal flash"
    assert len(elements) == 1
    address, data = elements[0]
    assert address == 0x08000000
    binary = image("bin").read_bytes()
    # dfu.py pads the element to whole 64-bit double words, the STM32L5's flash programming unit.
    assert data[: len(binary)] == binary
    assert len(data) % 8 == 0 and len(data) - len(binary) < 8


def test_corrupted_dfu_is_rejected():
    data = bytearray(image("dfu").read_bytes())
    data[300] ^= 0xFF
    with pytest.raises(dfuse.DfuseError, match="CRC"):
        dfuse.parse(bytes(data))


def test_image_fits_the_stm32l552():
    sym = symbols(image("elf"))
    assert sym["k5_vector_table"] == 0x08000000, "vector table at the start of flash"
    assert sym["_image_end"] <= sym["_k5_fs_start"], "the code region, below the filesystem"
    # The filesystem: the top 160 KB of the 512 KB flash, in bank 2 (0x08040000..).
    assert (sym["_k5_fs_start"], sym["_k5_fs_end"]) == (0x08058000, 0x08080000)
    assert sym["_image_end"] - 0x08000000 == image("bin").stat().st_size
    assert 0x20000000 <= sym["_heap_start"] < sym["_heap_end"] <= sym["_estack"]
    assert sym["_estack"] == 0x20000000 + 256 * 1024
    # The kernel's heap (K5_HEAP_MIN: the REPL's heap is in the arena since session 18).
    assert sym["_heap_end"] - sym["_heap_start"] >= 88 * 1024


def test_vector_table_points_into_the_image():
    data = image("bin").read_bytes()
    initial_sp = int.from_bytes(data[0:4], "little")
    reset = int.from_bytes(data[4:8], "little")
    assert initial_sp == 0x20000000 + 256 * 1024
    assert reset & 1, "Thumb bit set"
    assert 0x08000000 <= reset & ~1 < 0x08000000 + len(data)


def test_size_report_lists_both_boards():
    r = subprocess.run(
        [sys.executable, "-m", "tools.k5cli", "size"], capture_output=True, text=True, cwd=ROOT
    )
    assert r.returncode == 0, r.stderr
    for board in paths.BOARDS:
        assert board in r.stdout


def test_flash_with_a_filesystem_makes_one_dfuse_file_with_both(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "main.py").write_text("print('from the NUCLEO')\n")
    r = subprocess.run(
        [sys.executable, "-m", "tools.k5cli", "flash", "--fs", str(folder), "--dry-run"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    dfu_path = paths.build_dir(BOARD) / "firmware-fs.dfu"
    assert f"dfu-util -a 0 -d 0483:df11 -D {dfu_path}" in r.stdout
    _, _, elements = dfuse.parse(dfu_path.read_bytes()).targets[0]
    assert [address for address, _ in elements] == [0x08000000, 0x08058000]
    assert elements[0][1][: image("bin").stat().st_size] == image("bin").read_bytes()
    assert fsimage.files_of(elements[1][1], BOARD) == {"main.py": b"print('from the NUCLEO')\n"}
    r = subprocess.run(
        [sys.executable, "-m", "tools.k5cli", "flash", "--fs", str(folder), "--dry-run"]
        + ["--method", "pyocd"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    assert "--base-address 0x8058000" in r.stdout
