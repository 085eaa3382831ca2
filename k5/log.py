"""Compact logging (like defmt): k5.log.info("temp %d", t) sends a binary frame, not text."""

# On the board a record is a frame on the console: the format string travels as its index in a
# table built into the image at build time (tools/logtab.py: every literal format of a
# log.debug/info/warn/error call in k5/ and tasks/), the arguments packed, the task and the time
# added by the kernel (a task cannot forge them). `k5 logs` reads the table from firmware.elf
# and decodes the stream; text around the frames (print, the REPL) passes through. A format not
# in the table (a script typed at the REPL) travels as text in the frame. On the host the record
# is printed as a line. Kernel events (faults, restarts, budget overruns) join the stream once
# `kernel_events(True)` is called (the root task's right; off by default, so that the console
# of a plain run stays text).
#
# Frame: START, n, n payload bytes, 0xFF - (sum of the payload) & 0xFF; after START, each byte
# of ESCAPED (control bytes mpremote's raw REPL gives a meaning to, START and ESC itself) is
# sent as ESC, byte ^ 0x40, so a frame never holds one (the codes below avoid those bytes).
# Payload: a kind byte, then for KIND_NAME the task byte and its name (sent once per task,
# before its first record), for KIND_RECORD the task byte (TASK_BASE + its context's index, or
# TASK_KERNEL), the time in ms (varint), LEVEL_BASE + level, FORMAT_BASE + the format's index
# (varint; FORMAT_NONE: the format's text is the first argument) and the arguments: ARG_INT +
# zigzag varint, ARG_STR + length + UTF-8 (at most ARG_STR_MAX bytes), ARG_FLOAT + 4 bytes LE,
# ARG_NONE; at most ARGS_MAX bytes of them. tools/gen_abi_h.py makes the C header (k5log.h).
# The constants are private (const names with a leading underscore take no room in the module
# on the board, which every task that logs holds); tools/logs.py reads them from here.

from k5._compat import const
from k5.abi import MACHINE_LOG_EVENTS, MACHINE_LOG_RTT

try:
    import _k5arch
except ImportError:
    _k5arch = None

_DEBUG = const(0)
_INFO = const(1)
_WARN = const(2)
_ERROR = const(3)

_START = const(0x02)
_ESC = const(0x1B)
_ESCAPED = (0x01, 0x02, 0x03, 0x04, 0x1B)
_KIND_NAME = const(0x10)
_KIND_RECORD = const(0x11)
_TASK_BASE = const(0x40)
_TASK_KERNEL = const(0xFF)
_LEVEL_BASE = const(0x30)
_FORMAT_NONE = const(0)
_FORMAT_BASE = const(5)
_ARG_NONE = const(0x20)
_ARG_INT = const(0x21)
_ARG_STR = const(0x22)
_ARG_FLOAT = const(0x23)
_ARG_STR_MAX = const(64)
_ARGS_MAX = const(160)

_LEVEL_NAMES = ("DEBUG", "INFO", "WARN", "ERROR")


def _host(level, fmt, args):
    try:
        text = fmt % args
    except (TypeError, ValueError):
        text = fmt + " " + repr(args)
    print(_LEVEL_NAMES[level] + " " + text)


_emit = _host if _k5arch is None else _k5arch.log


def debug(fmt, *args):
    _emit(_DEBUG, fmt, args)


def info(fmt, *args):
    _emit(_INFO, fmt, args)


def warn(fmt, *args):
    _emit(_WARN, fmt, args)


def error(fmt, *args):
    _emit(_ERROR, fmt, args)


def rtt(on):
    """Log frames go to the RTT buffer a debug probe reads (`k5 logs --rtt`), or back to the
    console (root task). The console then carries only text. The buffer (1 KB) is taken from
    the heap the first time."""
    if _k5arch is not None and _k5arch.machine(MACHINE_LOG_RTT, 1 if on else 0) < 0:
        raise MemoryError("K5: no memory for the RTT buffer")


def kernel_events(on):
    """Kernel events (faults, restarts, budget overruns) join the log stream (root task)."""
    if _k5arch is not None:
        _k5arch.machine(MACHINE_LOG_EVENTS, 1 if on else 0)
