"""No task argument can raise inside the kernel: any syscall, any garbage."""

from hypothesis import given, settings
from hypothesis import strategies as st

import k5
from k5 import abi as A
from k5.system import System

# 300 examples of up to 6 garbage requests each.
SETTINGS = settings(max_examples=300, deadline=None)

ATOM = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**80), 2**80),
    st.integers(-2, 20),
    st.floats(allow_nan=True),
    st.text(max_size=200),
    st.binary(max_size=300),
    st.builds(bytearray, st.binary(max_size=140)),
)
VALUE = st.one_of(ATOM, st.lists(ATOM, max_size=10), st.tuples(ATOM, ATOM))
SYSNO = st.one_of(st.integers(0, A.SYS_COUNT + 2), ATOM)
REQUEST = st.one_of(
    st.builds(lambda n, args: tuple([n] + args), SYSNO, st.lists(VALUE, max_size=8)),
    VALUE,
)


class Weird:
    """An object whose comparisons and conversions all raise."""

    def __eq__(self, other):
        raise RuntimeError("eq")

    def __lt__(self, other):
        raise RuntimeError("lt")

    def __index__(self):
        raise RuntimeError("index")

    def __len__(self):
        raise RuntimeError("len")

    __hash__ = object.__hash__


def run_requests(requests):
    system = System(debug=True)
    ep = system.endpoint("ep")
    n = system.notification("n")
    results = []

    def body(ipc, arg):
        for request in requests:
            results.append(k5.trap(request))

    def partner(ipc, arg):
        while True:
            k5.trap((A.SYS_NBRECV, 0, 1))
            k5.spin(1)

    task = system.task("fuzz", body, priority=10, slots=6)
    other = system.task("partner", partner, priority=10, slots=6)
    system.give(task, 0, ep)
    system.give(task, 1, n)
    system.give(task, 2, other)
    system.give(task, 3, system.sched_control())
    system.give(task, 4, other.sc)
    system.give(task, 5, system.untyped("ut", 3))
    system.give(other, 0, ep)
    system.run(500)
    system.close()
    return results


@SETTINGS
@given(requests=st.lists(REQUEST, max_size=6))
def test_garbage_requests_only_return_errors(requests):
    for result in run_requests(requests):
        assert type(result) is int and 0 <= result < A.ERR_COUNT


def test_hostile_objects():
    weird = Weird()
    requests = [
        weird,
        (weird,),
        (A.SYS_SEND, weird, 0, (), None, -1),
        (A.SYS_SEND, 0, weird, (), None, -1),
        (A.SYS_SEND, 0, 0, (weird,), None, -1),
        (A.SYS_SEND, 0, 0, (), weird, -1),
        (A.SYS_SEND, 0, 0, (), None, weird),
        (A.SYS_CNODE_MINT, 0, 5, weird, weird),
        (A.SYS_DEBUG_PUTS, weird),
        (A.SYS_DEBUG_PUTS, b"\xff\xfe"),
        (A.SYS_DEBUG_PUTS, "\ud800"),
        (A.SYS_SEND, 0, 0, (), "\ud800", -1),
        (A.SYS_SPIN, weird),
        (A.SYS_SPIN, -5),
        (A.SYS_TCB_SET_PRIORITY, 2, weird),
        (A.SYS_SC_CONFIGURE, 3, 4, weird, weird, weird),
    ]
    results = run_requests(requests)
    assert len(results) == len(requests)
    assert all(type(r) is int and r != A.OK for r in results)


def test_hostile_exception_text():
    class Nasty(Exception):
        def __str__(self):
            return "\ud800"

    def body(ipc, arg):
        k5.spin(1)
        raise Nasty()

    system = System(debug=True)
    ep = system.endpoint("faults")
    task = system.task("nasty", body, priority=1)
    system.fault_handler(task, ep)
    system.run(10)
    assert task.obj.state == A.STATE_BLOCKED_SEND


def test_task_cannot_break_its_ipc_buffer():
    log = []

    def receiver(ipc, arg):
        del ipc.words[:]
        ipc.data = None
        ipc.words.append("junk")
        log.append(k5.recv(0))
        log.append(ipc.word_tuple())
        log.append(k5.identify(0))

    def sender(ipc, arg):
        k5.send(0, 1, (1, 2), b"hi")

    system = System(debug=True)
    ep = system.endpoint("ep")
    r = system.task("r", receiver, priority=20)
    s = system.task("s", sender, priority=10)
    system.give(r, 0, ep)
    system.give(s, 0, ep)
    system.run(50)
    assert log == [A.OK, (1, 2), A.OK]
