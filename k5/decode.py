"""Decoding helpers shared by the invocations: argument checks and cap lookup."""

# Decode functions return an int error code (or the looked-up Cap); they never change state.
# Returning one object (a Cap or an int), not an (err, cap) tuple, keeps the trap path
# allocation-free.

from k5.abi import (
    ERR_EMPTY_SLOT,
    ERR_RANGE,
    ERR_RIGHTS,
    ERR_SLOT_OCCUPIED,
    ERR_WRONG_TYPE,
    MSG_MAX_WORDS,
    OK,
    RIGHTS_ALL,
    WORD_LIMIT,
    WORD_MIN,
)


def is_word(value):
    return type(value) is int and WORD_MIN <= value < WORD_LIMIT


def is_small(value):
    return type(value) is int and 0 <= value < WORD_LIMIT


def is_rights(value):
    return type(value) is int and 0 <= value <= RIGHTS_ALL


def lookup(tcb, slot, obj_type, rights):
    """The Cap in tcb's CSpace slot with obj_type and `rights`, or an int error code."""
    slots = tcb.cspace.slots
    if type(slot) is not int or slot < 0 or slot >= len(slots):
        return ERR_RANGE
    cap = slots[slot]
    if cap is None:
        return ERR_EMPTY_SLOT
    if obj_type != 0 and cap.obj_type != obj_type:
        return ERR_WRONG_TYPE
    if (cap.rights & rights) != rights:
        return ERR_RIGHTS
    return cap


def dest_slot(tcb, slot):
    """OK if `slot` is an empty slot of tcb's CSpace."""
    slots = tcb.cspace.slots
    if type(slot) is not int or slot < 0 or slot >= len(slots):
        return ERR_RANGE
    if slots[slot] is not None:
        return ERR_SLOT_OCCUPIED
    return OK


def ipc_words(tcb):
    """The receive-word storage of tcb's IPC buffer, repaired if the task resized it."""
    words = tcb.ipc_words
    if len(words) != MSG_MAX_WORDS:
        words = [0] * MSG_MAX_WORDS
        tcb.ipc_words = words
        tcb.ipc.words = words
    return words
