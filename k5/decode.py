"""Decoding helpers shared by the invocations: argument checks and cap lookup."""

# Decode functions return an int error code (or the looked-up Cap); they never change state.
# Returning one object (a Cap or an int), not an (err, cap) tuple, keeps the trap path
# allocation-free. Builtins come in as default arguments (locals): on MicroPython a builtin
# looked up by name costs about ten times a local.

from k5 import abi
from k5.ticks import TIME_MAX


def is_word(value, _type=type, _int=int, _len=len):
    return _type(value) is _int and abi.WORD_MIN <= value <= abi.WORD_MAX


def is_small(value, _type=type, _int=int, _len=len):
    return _type(value) is _int and 0 <= value <= abi.WORD_MAX


def printable(text):
    """text with its control characters (but tab) as '?'. Raw, they would be the console's
    protocol (mpremote's raw-REPL markers, the START of a log frame, ESC sequences), not text:
    a task's console lines get the same treatment in C (native/k5arch, serve_puts)."""
    for c in text:
        if (c < " " and c != "\t") or c == "\x7f":
            return "".join("?" if (c < " " and c != "\t") or c == "\x7f" else c for c in text)
    return text


def is_rights(value, _type=type, _int=int, _len=len):
    return _type(value) is _int and 0 <= value <= abi.RIGHTS_ALL


def time_error(value, _type=type, _int=int):
    """abi.OK if `value` is a time a task may name (0..TIME_MAX ticks), else the error code."""
    if _type(value) is not _int or value < 0:
        return abi.ERR_INVALID_ARGUMENT
    if value > TIME_MAX:
        return abi.ERR_RANGE
    return abi.OK


def lookup(tcb, slot, obj_type, rights, _type=type, _int=int, _len=len):
    """The Cap in tcb's CSpace slot with obj_type and `rights`, or an int error code."""
    slots = tcb.cspace.slots
    if _type(slot) is not _int or slot < 0 or slot >= _len(slots):
        return abi.ERR_RANGE
    cap = slots[slot]
    if cap is None:
        return abi.ERR_EMPTY_SLOT
    if obj_type != 0 and cap.obj_type != obj_type:
        return abi.ERR_WRONG_TYPE
    if (cap.rights & rights) != rights:
        return abi.ERR_RIGHTS
    return cap


def dest_slot(tcb, slot, _type=type, _int=int, _len=len):
    """abi.OK if `slot` is an empty slot of tcb's CSpace."""
    slots = tcb.cspace.slots
    if _type(slot) is not _int or slot < 0 or slot >= _len(slots):
        return abi.ERR_RANGE
    if slots[slot] is not None:
        return abi.ERR_SLOT_OCCUPIED
    return abi.OK


def ipc_words(tcb, _type=type, _int=int, _len=len):
    """The receive-word storage of tcb's IPC buffer, repaired if the task resized it."""
    words = tcb.ipc_words
    if _len(words) != abi.MSG_MAX_WORDS:
        words = [0] * abi.MSG_MAX_WORDS
        tcb.ipc_words = words
        tcb.ipc.words = words
    return words
