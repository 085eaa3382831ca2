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


def test_a_lease_is_reached_through_the_implicit_reply_and_a_reply_cap():
    import k5
    from k5.system import System

    log = []

    def client(ipc, arg):
        lent = bytearray(b"....")
        log.append(("call", k5.call(1, 1, (), None, -1, -1, lent)))
        log.append(("lent", bytes(lent)))
        again = bytearray(b"....")
        log.append(("call", k5.call(1, 2, (), None, -1, -1, again, abi.RIGHT_READ)))
        log.append(("again", bytes(again)))

    def server(ipc, arg):
        k5.recv(1)  # the implicit reply
        log.append(("info", k5.borrow_info(), ipc.words[0], ipc.words[1], ipc.count))
        log.append(("write", k5.borrow_write(1, b"ab")))
        k5.reply(0, (0,))
        k5.recv(1, reply=2)  # a Reply cap
        log.append(("write ro", k5.borrow_write(0, b"z", 2)))
        into = bytearray(2)
        log.append(("read", k5.borrow_read(2, into, 2), bytes(into)))
        k5.reply(0, (0,), reply=2)
        log.append(("after", k5.borrow_info(2)))

    system = System(debug=True)
    ep = system.endpoint("ep")
    reply = system.reply("r")
    system.give(system.task("client", client, priority=10), 1, ep)
    s = system.task("server", server, priority=20)
    system.give(s, 1, ep)
    system.give(s, 2, reply)
    system.run(100)
    assert log == [
        ("info", abi.OK, 4, abi.RIGHTS_RW, 2),
        ("write", abi.OK),
        ("call", abi.OK),
        ("lent", b".ab."),
        ("write ro", abi.ERR_RIGHTS),
        ("read", abi.OK, b".."),
        ("after", abi.ERR_NO_REPLY),
        ("call", abi.OK),
        ("again", b"...."),
    ], log
    system.close()
