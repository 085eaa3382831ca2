"""Where K5's dependencies and build outputs live (one place for every tool and test)."""

import os
import pathlib

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


def build_dir(board):
    return PORT_DIR / f"build-{board}"


def firmware(board, ext):
    return build_dir(board) / f"firmware.{ext}"
