"""Where K5's dependencies and build outputs live (one place for every tool and test)."""

import os
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
PORT_DIR = ROOT / "ports" / "stm32l5"
BOARDS = ("MPS2_AN505", "NUCLEO_L552ZE_Q")
MICROPYTHON_VERSION = "1.25.0"


def cache():
    return pathlib.Path(os.environ.get("K5_CACHE", pathlib.Path.home() / ".cache" / "k5"))


def micropython_top():
    """The MicroPython v1.25.0 source tree: $K5_MICROPYTHON, else the one `make deps` unpacked."""
    override = os.environ.get("K5_MICROPYTHON")
    if override:
        return pathlib.Path(override)
    return cache() / f"micropython-{MICROPYTHON_VERSION}"


def unix_micropython():
    return micropython_top() / "ports" / "unix" / "build-standard" / "micropython"


def mpy_cross():
    return micropython_top() / "mpy-cross" / "build" / "mpy-cross"


def build_dir(board, app=None):
    """The port's build directory: of the plain image, or of an app's (k5 build app.toml)."""
    return PORT_DIR / (f"build-{board}" if app is None else f"build-{board}-{app}")


def firmware(board, ext, app=None):
    return build_dir(board, app) / f"firmware.{ext}"


def app_dir(name):
    """Where `k5 gen` writes an app's frozen module k5app.py and its manifest."""
    return ROOT / "build" / "apps" / name


def memory_regions(board):
    """The MEMORY regions of a board's linker script: {name: (origin, length)} (FLASH, RAM, FS)."""
    script = (PORT_DIR / "boards" / board / "board.ld").read_text()
    units = {"": 0, "K": 10, "M": 20}
    regions = {}
    for name, origin, length, unit in re.findall(
        r"^\s*(\w+)\s*\(\w+\)\s*:\s*ORIGIN\s*=\s*(0x[0-9a-fA-F]+),\s*LENGTH\s*=\s*(\d+)([KM]?)",
        script,
        re.M,
    ):
        regions[name] = (int(origin, 16), int(length) << units[unit])
    return regions


def emulated_flash():
    """The emulated board's flash file that `k5 emu` keeps between runs (tools/fsimage.py)."""
    return ROOT / "build" / "MPS2_AN505-flash.img"
