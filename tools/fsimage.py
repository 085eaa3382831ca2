"""The boards' filesystem on the host: littlefs2 images of a folder; the emulated board's flash.

The board mounts its FS memory region (board.ld) at / as vfs.VfsLfs2 with MicroPython's default
sizes; an image built here with the same geometry mounts there unchanged (and the board's own
filesystem reads back here). On the emulated board the FS region is the bottom of the PSRAM, the
machine's main memory, which QEMU maps from a host file (`memory-backend-file`, share=on), so the
file is the board's flash: it survives the emulator, and an image written into it is there at boot.
"""

import os
import pathlib
import re

import littlefs

from tools import paths

# MicroPython's vfs.VfsLfs2 defaults (extmod/vfs_lfs.c: readsize, progsize, lookahead), with which
# ports/stm32l5/modules/_boot.py mounts, and MicroPython 1.25's on-disk version (lib/littlefs).
READ_SIZE = 32
PROG_SIZE = 32
LOOKAHEAD = 32
DISK_VERSION = 0x00020001
# QEMU mps2-an505's main memory: 16 MB of PSRAM at 0x80000000, all of it mapped from the file.
EMULATED_RAM_BASE = 0x80000000
EMULATED_RAM_SIZE = 16 << 20


class FsImageError(Exception):
    pass


def block_size():
    """The unit of erase of the boards' flash (mcu/flash.h), littlefs's block size."""
    header = (paths.PORT_DIR / "mcu" / "flash.h").read_text()
    return int(re.search(r"#define K5_FLASH_BLOCK_SIZE\s+\((\d+)\)", header).group(1))


def geometry(board):
    """(address, size) of a board's filesystem area."""
    return paths.memory_regions(board)["FS"]


def _filesystem(board, image=None):
    size = geometry(board)[1]
    fs = littlefs.LittleFS(
        block_size=block_size(),
        block_count=size // block_size(),
        read_size=READ_SIZE,
        prog_size=PROG_SIZE,
        lookahead_size=LOOKAHEAD,
        disk_version=DISK_VERSION,
        mount=image is None,
    )
    if image is not None:
        if len(image) != size:
            raise FsImageError(f"the image is {len(image)} bytes, the {board} area {size}")
        fs.context.buffer[:] = image
        try:
            fs.mount()
        except littlefs.LittleFSError as exc:
            raise FsImageError(f"not a littlefs2 filesystem ({exc})") from None
    return fs


def image_of(folder, board):
    """A littlefs2 image (bytes, the area's size) holding the files and folders under `folder`."""
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise FsImageError(f"{folder} is not a folder")
    fs = _filesystem(board)
    for top, dirs, files in os.walk(folder):
        dirs.sort()
        relative = pathlib.Path(top).relative_to(folder).as_posix()
        for name in dirs:
            fs.mkdir(name if relative == "." else f"{relative}/{name}")
        for name in sorted(files):
            target = name if relative == "." else f"{relative}/{name}"
            data = (pathlib.Path(top) / name).read_bytes()
            try:
                with fs.open(target, "wb") as f:
                    f.write(data)
            except littlefs.LittleFSError as exc:
                size = geometry(board)[1] // 1024
                raise FsImageError(
                    f"{folder}: {target} does not fit the {board}'s {size} KB filesystem ({exc})"
                ) from None
    return bytes(fs.context.buffer)


def files_of(image, board):
    """{path: bytes} of every file in a littlefs2 image of a board's area."""
    fs = _filesystem(board, image)
    found = {}
    for top, _, files in fs.walk("/"):
        for name in files:
            path = f"{top.rstrip('/')}/{name}".lstrip("/")
            with fs.open(path, "rb") as f:
                found[path] = f.read()
    return found


def prepare_emulated_flash(path, image=None):
    """Make `path` the emulated board's flash file (16 MB, created empty if missing), and write
    `image` (of the MPS2_AN505 area) into its filesystem area if given."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.stat().st_size != EMULATED_RAM_SIZE:
        with open(path, "ab") as f:
            f.truncate(EMULATED_RAM_SIZE)
    if image is not None:
        address, size = geometry("MPS2_AN505")
        if len(image) != size:
            raise FsImageError(f"the image is {len(image)} bytes, the MPS2_AN505 area {size}")
        with open(path, "r+b") as f:
            f.seek(address - EMULATED_RAM_BASE)
            f.write(image)
    return path


def read_emulated_flash(path):
    """The filesystem area of an emulated board's flash file."""
    address, size = geometry("MPS2_AN505")
    with open(path, "rb") as f:
        f.seek(address - EMULATED_RAM_BASE)
        return f.read(size)
