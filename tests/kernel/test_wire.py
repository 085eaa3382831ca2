"""The syscall wire (k5/wire.py): what crosses, what arrives as FOREIGN, what never decodes."""

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

import k5
from k5 import abi as A
from k5 import wire
from k5.arch import syscall
from k5.system import System

SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.binary(max_size=20),
)
PLAIN = st.recursive(SCALAR, lambda inner: st.tuples(inner, inner), max_leaves=6)


def round_trip(value):
    raw, refs = wire.encode(value)
    decoded, _ = wire.decode(raw, refs)
    return raw, decoded


@settings(max_examples=300, deadline=None)
@given(value=PLAIN)
def test_plain_values_cross_unchanged(value):
    raw, decoded = round_trip(value)
    assert len(raw) <= wire.WIRE_MAX
    if raw == bytes([wire._WIRE_FOREIGN]):
        return  # too large for WIRE_MAX: FOREIGN in its place (checked below)
    assert decoded == saturate(value) and type(decoded) is type(value)


def saturate(value):
    if type(value) is int:
        return max(-(2**63), min(2**63 - 1, value))
    if type(value) is tuple:
        return tuple(saturate(item) for item in value)
    return value


def test_types_the_kernel_sees():
    buffer = bytearray(b"abc")
    _, decoded = round_trip((buffer, memoryview(b"xy"), [1, 2], {"a": 1}, "t", b"b"))
    kinds = [type(item) for item in decoded]
    # A bytearray is memory the kernel may write (a lease): a view of the task's own buffer.
    assert kinds == [memoryview, bytes, list, dict, str, bytes]
    decoded[0][0] = ord("X")
    assert buffer == bytearray(b"Xbc")


def test_what_the_wire_does_not_carry_is_foreign():
    class Int(int):
        pass

    for value in (object(), Int(3), {1: 2}, {"a": object()}.keys(), "\ud800", set(), 1j):
        _, decoded = round_trip((A.SYS_SEND, value))
        assert decoded[1] is wire.FOREIGN, value
    _, decoded = round_trip((1, {1: "a"}))
    assert decoded[1] is wire.FOREIGN  # a dict key that is not a str
    deep = 1
    for _ in range(wire.WIRE_DEPTH + 1):
        deep = (deep,)
    _, decoded = round_trip(deep)
    for _ in range(wire.WIRE_DEPTH):
        decoded = decoded[0]
    assert decoded is wire.FOREIGN  # nested deeper than WIRE_DEPTH


def test_a_value_that_does_not_fit_is_foreign_in_its_place():
    big = tuple(range(100))  # 5 bytes an int: more than WIRE_MAX
    raw, decoded = round_trip((A.SYS_SEND, big, 7))
    assert decoded == (A.SYS_SEND, wire.FOREIGN, 7)
    raw, decoded = round_trip(tuple(range(300)))
    assert decoded is wire.FOREIGN  # more than 255 items


@settings(max_examples=500, deadline=None)
@given(raw=st.binary(max_size=80))
def test_garbage_bytes_decode_or_not_never_raise(raw):
    value, reusable = wire.decode(raw, [])
    if reusable:
        assert wire.decode(raw, []) == (value, True)  # the same bytes, the same values


def test_truncated_and_trailing_bytes_do_not_decode():
    raw, refs = wire.encode((A.SYS_SEND, 1, 2))
    for end in range(len(raw)):
        assert wire.decode(raw[:end], refs) == (None, False)
    assert wire.decode(raw + b"\x00", refs) == (None, False)
    too_deep = struct.pack("<BB", wire._WIRE_TUPLE, 1) * (wire.WIRE_DEPTH + 1) + b"\x00"
    assert wire.decode(too_deep, [])[0] is None


def test_a_foreign_value_fails_the_kernels_checks():
    log = []

    def body(ipc, arg):
        log.append(k5.trap((A.SYS_SEND, 1, 0, (), object(), -1)))
        log.append(k5.trap((A.SYS_SEND, 1, 0, (object(),), None, -1)))
        log.append(k5.trap(object()))
        log.append(syscall(A.SYS_NBSEND, 1, 0, (5,), None, -1))

    system = System()
    ep = system.endpoint("ep")
    t = system.task("t", body, priority=10)
    system.give(t, 1, ep)
    system.run(50)
    assert log == [A.ERR_INVALID_ARGUMENT, A.ERR_INVALID_ARGUMENT, A.ERR_INVALID_SYSCALL, A.OK]


ANSWER = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63) + 1, 2**63 - 2),
        st.floats(allow_nan=False),
        st.text(max_size=300),
        st.binary(max_size=300),
    ),
    lambda inner: st.one_of(
        st.tuples(inner, inner),
        st.lists(inner, max_size=300),
        st.dictionaries(st.text(max_size=8), inner, max_size=5),
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(value=ANSWER)
def test_an_answer_crosses_unchanged_whatever_its_size(value):
    # The builder's answers (SYS_BUILD) carry their bytes and any count: only a buffer that
    # is too small stops them, and then the length alone is written.
    big = bytearray(1 << 20)
    size = wire.write_answer(big, value)
    assert size > 0 and wire.read_answer(big) == value
    small = bytearray(wire.ANSWER_HEAD + size - 1)
    assert wire.write_answer(small, value) == size
    assert small[wire.ANSWER_HEAD :] == bytes(size - 1)  # nothing of it written
    assert struct.unpack_from("<I", small)[0] == size


def test_what_no_answer_carries_and_bytes_that_do_not_decode():
    for value in (object(), 2**64, [set()], {"a": print}, ((((((((((1,),),),),),),),),),)):
        assert wire.write_answer(bytearray(64), value) == -1
    buffer = bytearray(64)
    size = wire.write_answer(buffer, ("text", [1, 2]))
    for bad in (
        buffer[:3],  # no length
        struct.pack("<I", size + 1) + buffer[4 : 4 + size],  # longer than its buffer
        struct.pack("<I", size - 1) + buffer[4:],  # its last byte left out
        struct.pack("<IBI", 5, wire._WIRE_LIST, 1000),  # a count beyond its bytes
        struct.pack("<IB", 1, wire._WIRE_FOREIGN),  # no answer holds FOREIGN
        struct.pack("<IBI", 6, wire._WIRE_STR, 1) + b"\xff",  # not text
    ):
        try:
            wire.read_answer(bad)
        except ValueError:
            continue
        raise AssertionError(bytes(bad))
