"""The syscall wire: how a task's request reaches the kernel as raw bytes."""

# A task never hands the kernel an object. Its side of every trap (native/k5arch/wire.c on the
# device, encode() here on the host) writes the request, a tuple of plain values, as bytes in
# its own memory; the kernel's side (wire.c's decoder, decode() here) checks those bytes and
# builds the request again from values of its own, which k5/decode.py and the handlers then
# check as before. Nothing of the task's is read, hashed, compared or run on the kernel's
# thread: a value the wire cannot carry arrives as FOREIGN, which fails every type check.
#
# The encoding: at most WIRE_MAX bytes; each value is a tag byte and a body, little-endian.
#   NONE, FALSE, TRUE        no body
#   INT                      4 bytes, signed (every small int of the device fits)
#   BIG                      8 bytes, signed; an int beyond that range saturates
#   FLOAT                    8 bytes, IEEE double
#   STR, BYTES               4 bytes where, 4 bytes length: UTF-8 text / bytes the task may
#                            read; the kernel copies them into a str / bytes of its own
#   BUFFER                   4 bytes where, 4 bytes length: memory the task may write (a
#                            bytearray, a writable memoryview); the kernel gets a memoryview
#                            of that memory, as a lease or a borrow's destination needs
#   TUPLE, LIST, DICT        1 byte count, then the items (a dict: key, value, key, ...; a
#                            dict with a key that is not a str arrives as FOREIGN)
#   FUNCTION                 the host only, 4 bytes where: a function, the body of a task
#                            the host's simulated tasks (functions of the test's process)
#                            make; on the device a body crosses as an image (k5/image.py:
#                            bytes), and a function is FOREIGN like any other object
#   FOREIGN                  no body: anything else, a container nested deeper than
#                            WIRE_DEPTH (a builder option's tuples of tuples sit 5 deep)
#                            or with more than 255 items, or what did not fit
#
# The builder's answers to the root task (SYS_BUILD, k5/rootsrv.py) cross the other way in the
# same tags, written by the kernel into a buffer of the root's: its first 4 bytes the answer's
# length, then one value in which STR and BYTES carry their bytes (4 bytes length, then the
# bytes), containers a 4-byte count, and BUFFER, FUNCTION and FOREIGN do not occur. The root
# makes objects of its own from them (native/k5arch/wire.c on the device, read_answer here).
# "where" is an address on the device (checked against the memory the task maps: flash, the
# VM's RAM, its own stack; a BUFFER its own stack or the heap) and an index into the request's
# table of objects on the host. A request whose bytes do not decode is no request
# (ERR_INVALID_SYSCALL).

import struct

from k5._compat import const

WIRE_MAX = const(320)
WIRE_DEPTH = const(8)
_WIRE_NONE = const(0)
_WIRE_FALSE = const(1)
_WIRE_TRUE = const(2)
_WIRE_INT = const(3)
_WIRE_BIG = const(4)
_WIRE_FLOAT = const(5)
_WIRE_STR = const(6)
_WIRE_BYTES = const(7)
_WIRE_BUFFER = const(8)
_WIRE_TUPLE = const(9)
_WIRE_LIST = const(10)
_WIRE_DICT = const(11)
_WIRE_FUNCTION = const(12)
_WIRE_FOREIGN = const(13)

_INT64_MAX = 0x7FFFFFFFFFFFFFFF
_INT64_MIN = -0x8000000000000000


class Foreign:
    """What the kernel gets for a value the wire does not carry: it fails every type check."""

    __slots__ = ()

    def __repr__(self):
        return "<foreign value>"


FOREIGN = Foreign()


def _is_function(value):
    return type(value) is type(_is_function)


def _put_scalar(out, value, kind):
    # Appends None, a bool, an int of 64 bits or a float (requests and answers alike); False,
    # nothing appended, for anything else.
    if value is None:
        out.append(_WIRE_NONE)
    elif kind is bool:
        out.append(_WIRE_TRUE if value else _WIRE_FALSE)
    elif kind is int and -0x80000000 <= value <= 0x7FFFFFFF:
        out.append(_WIRE_INT)
        out.extend(struct.pack("<i", value))
    elif kind is int and _INT64_MIN <= value <= _INT64_MAX:
        out.append(_WIRE_BIG)
        out.extend(struct.pack("<q", value))
    elif kind is float:
        out.append(_WIRE_FLOAT)
        out.extend(struct.pack("<d", value))
    else:
        return False
    return True


def _put_once(out, refs, value, depth):
    # Appends value's encoding to out; refs collects the objects STR/BYTES/BUFFER/FUNCTION
    # name. False when it does not fit in WIRE_MAX (native/k5arch/wire.c: put_value_once).
    kind = type(value)
    if kind is int and not _INT64_MIN <= value <= _INT64_MAX:
        value = max(_INT64_MIN, min(_INT64_MAX, value))  # a request's big int saturates
    if _put_scalar(out, value, kind):
        pass
    elif kind is str and not _utf8(value):
        out.append(_WIRE_FOREIGN)  # not text (a lone surrogate): the device's decoder says so
    elif kind is str or kind is bytes or kind is bytearray or kind is memoryview:
        if kind is str:
            tag = _WIRE_STR
            size = len(value.encode())
        elif kind is bytes:
            tag = _WIRE_BYTES
            size = len(value)
        else:
            tag = _WIRE_BUFFER if _writable(value) else _WIRE_BYTES
            size = len(memoryview(value).tobytes()) if kind is memoryview else len(value)
        out.append(tag)
        out.extend(struct.pack("<II", len(refs), size))
        refs.append(value)
    elif (kind is tuple or kind is list or kind is dict) and depth < WIRE_DEPTH:
        if len(value) > 255:
            out.append(_WIRE_FOREIGN)
            return len(out) <= WIRE_MAX
        out.append(_WIRE_TUPLE if kind is tuple else _WIRE_LIST if kind is list else _WIRE_DICT)
        out.append(len(value))
        items = value
        if kind is dict:
            items = []
            for key in value:
                items.append(key)
                items.append(value[key])
        for item in items:
            if len(out) > WIRE_MAX or not _put(out, refs, item, depth + 1):
                return False
    elif _is_function(value):
        out.append(_WIRE_FUNCTION)
        out.extend(struct.pack("<I", len(refs)))
        refs.append(value)
    else:
        out.append(_WIRE_FOREIGN)
    return len(out) <= WIRE_MAX


def _put(out, refs, value, depth):
    # A value that does not fit is FOREIGN in its place, if that fits.
    at = len(out)
    if _put_once(out, refs, value, depth):
        return True
    del out[at:]
    out.append(_WIRE_FOREIGN)
    return len(out) <= WIRE_MAX


def _utf8(text):
    try:
        text.encode()
        return True
    except UnicodeError:
        return False


def _writable(value):
    try:
        view = memoryview(value)
        view[0:0] = b""
        return True
    except TypeError:
        return False


def encode(request):
    """(bytes, refs): what the task's side of a trap writes for `request` (the host's wire)."""
    out = bytearray()
    refs = []
    _put(out, refs, request, 0)
    return bytes(out), refs


def _get_scalar(raw, tag, at):
    # (value, next offset) of a scalar whose tag was just read (requests and answers alike),
    # or None for another tag; struct.error when its bytes run out.
    if tag == _WIRE_NONE:
        return None, at
    if tag == _WIRE_FALSE or tag == _WIRE_TRUE:
        return tag == _WIRE_TRUE, at
    if tag == _WIRE_INT:
        return struct.unpack_from("<i", raw, at)[0], at + 4
    if tag == _WIRE_BIG or tag == _WIRE_FLOAT:
        return struct.unpack_from("<q" if tag == _WIRE_BIG else "<d", raw, at)[0], at + 8
    return None


def _get(raw, refs, at, seen, depth):
    # (value, next offset); raises ValueError on bytes that do not decode. seen[0] becomes
    # True at a LIST or DICT (mutable), a float or an int that is not small: the decoded request
    # is not one to serve again (native/k5arch/wire.c caches the same).
    tag = raw[at]
    at += 1
    scalar = _get_scalar(raw, tag, at)
    if scalar is not None:
        if tag == _WIRE_BIG or tag == _WIRE_FLOAT:
            seen[0] = True
        elif tag == _WIRE_INT and not -0x40000000 <= scalar[0] <= 0x3FFFFFFF:
            seen[0] = True  # not a small int of the device's
        return scalar
    if tag == _WIRE_STR or tag == _WIRE_BYTES or tag == _WIRE_BUFFER:
        index, size = struct.unpack_from("<II", raw, at)
        value = refs[index]
        if tag == _WIRE_STR:
            value = str(value)
        elif tag == _WIRE_BYTES:
            value = bytes(value)
        else:
            value = memoryview(value)
        return value, at + 8
    if tag == _WIRE_TUPLE or tag == _WIRE_LIST or tag == _WIRE_DICT:
        count = raw[at]
        at += 1
        if depth >= WIRE_DEPTH:
            raise ValueError("nested too deep")
        if tag != _WIRE_TUPLE:
            seen[0] = True
        items = []
        for _ in range(count * 2 if tag == _WIRE_DICT else count):
            item, at = _get(raw, refs, at, seen, depth + 1)
            items.append(item)
        if tag == _WIRE_TUPLE:
            return tuple(items), at
        if tag == _WIRE_LIST:
            return items, at
        value = {}
        for index in range(0, len(items), 2):
            key = items[index]
            if type(key) is not str:
                return FOREIGN, at  # only str keys: hashing anything else may run code
            value[key] = items[index + 1]
        return value, at
    if tag == _WIRE_FUNCTION:
        index = struct.unpack_from("<I", raw, at)[0]
        return refs[index], at + 4
    if tag == _WIRE_FOREIGN:
        return FOREIGN, at
    raise ValueError("unknown tag")


def decode(raw, refs):
    """(request, reusable): the kernel's copy of the request `raw` encodes (None if the bytes
    do not decode), and whether the same bytes would decode to the same immutable values."""
    if len(raw) == 0 or len(raw) > WIRE_MAX:
        return None, False
    seen = [False]
    try:
        value, at = _get(raw, refs, 0, seen, 0)
    except (ValueError, IndexError, struct.error):
        return None, False
    if at != len(raw):
        return None, False
    return value, not refs and not seen[0]


# --- The builder's answers -----------------------------------------------------------------------

ANSWER_HEAD = const(4)  # bytes of the answer's length, before the answer


def _put_answer(out, value, depth):
    # Appends value's answer encoding; False for a value no answer carries (an int beyond 64
    # bits among them).
    kind = type(value)
    if _put_scalar(out, value, kind):
        pass
    elif kind is str or kind is bytes:
        data = value.encode() if kind is str else value
        out.append(_WIRE_STR if kind is str else _WIRE_BYTES)
        out.extend(struct.pack("<I", len(data)))
        out.extend(data)
    elif (kind is tuple or kind is list or kind is dict) and depth < WIRE_DEPTH:
        out.append(_WIRE_TUPLE if kind is tuple else _WIRE_LIST if kind is list else _WIRE_DICT)
        out.extend(struct.pack("<I", len(value)))
        for item in value:
            if not _put_answer(out, item, depth + 1):
                return False
            if kind is dict and not _put_answer(out, value[item], depth + 1):
                return False
    else:
        return False
    return True


def write_answer(buffer, value):
    """Write `value` into `buffer` as an answer (its length, then its bytes) when it fits;
    the answer's length either way (only that when it does not fit and the buffer holds it),
    or -1 for a value no answer carries (nothing written)."""
    out = bytearray()
    if not _put_answer(out, value, 0):
        return -1
    if len(buffer) >= ANSWER_HEAD:
        buffer[0:ANSWER_HEAD] = struct.pack("<I", len(out))
    if len(out) <= len(buffer) - ANSWER_HEAD:
        buffer[ANSWER_HEAD : ANSWER_HEAD + len(out)] = out
    return len(out)


def _get_answer(raw, at, depth):
    tag = raw[at]
    at += 1
    scalar = _get_scalar(raw, tag, at)
    if scalar is not None:
        return scalar
    if tag == _WIRE_STR or tag == _WIRE_BYTES:
        size = struct.unpack_from("<I", raw, at)[0]
        at += 4
        if at + size > len(raw):
            raise ValueError("K5: an answer's text runs past its end")
        data = bytes(raw[at : at + size])
        return (data.decode() if tag == _WIRE_STR else data), at + size
    if (tag == _WIRE_TUPLE or tag == _WIRE_LIST or tag == _WIRE_DICT) and depth < WIRE_DEPTH:
        count = struct.unpack_from("<I", raw, at)[0]
        at += 4
        if count > len(raw) - at:
            raise ValueError("K5: an answer's container runs past its end")
        if tag == _WIRE_DICT:
            value = {}
            for _ in range(count):
                key, at = _get_answer(raw, at, depth + 1)
                value[key], at = _get_answer(raw, at, depth + 1)
            return value, at
        items = []
        for _ in range(count):
            item, at = _get_answer(raw, at, depth + 1)
            items.append(item)
        return (tuple(items) if tag == _WIRE_TUPLE else items), at
    raise ValueError("K5: an answer holds tag " + str(tag))


def read_answer(buffer):
    """The value an answer in `buffer` (written by write_answer) encodes, made here; ValueError
    when its bytes do not decode."""
    if len(buffer) < ANSWER_HEAD:
        raise ValueError("K5: no answer")
    size = struct.unpack_from("<I", buffer, 0)[0]
    if size > len(buffer) - ANSWER_HEAD:
        raise ValueError("K5: the answer is longer than its buffer")
    raw = bytes(buffer[ANSWER_HEAD : ANSWER_HEAD + size])
    try:
        value, at = _get_answer(raw, 0, 0)
    except (IndexError, struct.error, UnicodeError, TypeError):
        raise ValueError("K5: the answer's bytes do not decode")
    if at != size:
        raise ValueError("K5: the answer has bytes after its end")
    return value
