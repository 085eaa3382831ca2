"""Lease decoding (k5/lease.py): what a call may lend, checked before anything changes."""

import pytest

from k5 import abi
from k5.lease import decode_lease


@pytest.mark.parametrize("rights", [abi.RIGHT_READ, abi.RIGHT_WRITE, abi.RIGHTS_RW])
def test_a_buffer_is_lent_with_read_or_write_rights(rights):
    assert decode_lease(bytearray(4), rights) == abi.OK
    assert decode_lease(memoryview(bytearray(4)), rights) == abi.OK


@pytest.mark.parametrize(
    "rights", [0, -1, abi.RIGHT_GRANT, abi.RIGHT_READ | abi.RIGHT_GRANT, 1 << 20, "3", 1.0, None]
)
def test_no_rights_or_other_rights_are_refused(rights):
    assert decode_lease(bytearray(4), rights) == abi.ERR_INVALID_ARGUMENT


@pytest.mark.parametrize("buffer", [b"abcd", "abcd", [1, 2], None, 4])
def test_only_writable_buffers_are_lent(buffer):
    assert decode_lease(buffer, abi.RIGHT_READ) == abi.ERR_INVALID_ARGUMENT
