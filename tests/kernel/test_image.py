"""k5/image.py: what a task with an interpreter of its own starts from (the host's half)."""

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from k5 import image, image_host
from k5.abi import RIGHT_GRANT_REPLY, RIGHT_READ, RIGHT_WRITE
from k5.system import BuildError, System

plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda inner: st.tuples(inner, inner) | st.tuples(inner),
    max_leaves=12,
)


def body_with(arg_seen):
    def body(ipc, arg):
        arg_seen.append(arg)

    return body


def echo(ipc, arg):
    return arg


@given(plain)
def test_plain_args_cross_unchanged(value):
    data = image.pack(echo, value, image.host_code_names)
    body, arg = image_host.unpack(data)
    assert arg == value
    assert type(arg) is type(value)
    assert body(None, arg) == value


SCALE = 3

# A script, as the REPL or `mpremote run` has it: its functions travel by code.
SCRIPT = """
import os
SCALE = 3
NAME = "scale"
TABLE = [1, 2]

def helper(n):
    return n * SCALE

def uses_globals(ipc, arg):
    return (helper(arg), NAME, os.sep, TABLE)
"""


def script():
    names = {"__name__": "__main__"}
    exec(SCRIPT, names)
    return names


def test_the_globals_the_code_uses_travel_by_their_kind():
    names = script()
    body, arg = image_host.unpack(image.pack(names["uses_globals"], 5, image.host_code_names))
    # Plain values by value, the script's functions by code, modules by name; the list, the
    # spawner's alone, is a stand-in that says why when used.
    helped, name, sep, table = body(None, arg)
    assert (helped, name, sep) == (15, "scale", os.sep)
    assert isinstance(table, image.Unshared)
    with pytest.raises(NameError, match="TABLE .a list. is the spawner's"):
        table.append(3)
    # The copies are the task's: the functions run in globals of their own.
    assert body.__globals__ is not names
    assert body.__globals__["helper"] is not names["helper"]
    assert "TABLE" in body.__globals__ and "SCALE" in body.__globals__


# Closures and default arguments: the body a part of a test makes, as the scenarios do.
PARTS = """
STEP = 2

def twice(n):
    return n * STEP

def make(base, seen):
    def body(ipc, arg, scale=10, *, extra=(twice, 1), log=seen):
        return (base + arg * scale, extra[0](extra[1]), log, inner())

    def inner():
        return base

    return body
"""


def test_closures_and_defaults_travel_with_their_values():
    names = {"__name__": "__main__"}
    exec(PARTS, names)
    body, arg = image_host.unpack(image.pack(names["make"](100, [1]), 4, image.host_code_names))
    total, doubled, log, base = body(None, arg)
    # The cell's int by value, the default's function by code (with the global it uses), the
    # list the spawner's: a stand-in.
    assert (total, doubled, base) == (140, 2, 100)
    assert isinstance(log, image.Unshared)
    assert body(None, 1, 1)[0] == 101


def test_a_module_function_travels_by_name():
    body, arg = image_host.unpack(image.pack(os.path.join, ("a", "b"), image.host_code_names))
    assert body is os.path.join and arg == ("a", "b")


def test_a_mutable_arg_is_refused():
    with pytest.raises(image.ImageError, match="arg must be plain"):
        image.pack(echo, [1], image.host_code_names)


@pytest.mark.parametrize(
    "data, why",
    [
        (b"", "not a task image"),
        (b"K5I\x01", "truncated"),
        (b"K5I\x01\x07\x00\x63", "unknown tag"),
        (b"K5I\x01\x07\x00\x00\x00\x00", "after its end"),
        (b"K5I\x01\x07\xff\xff\xff\xff\xff\x01", "too long"),
    ],
)
def test_bad_images_are_refused(data, why):
    with pytest.raises(image.ImageError, match=why):
        image_host.unpack(data)


def server(ipc, arg):
    import k5

    k5.recv(1)
    while True:
        k5.reply_recv(1, 0, (ipc.words[0] * SCALE + arg,), b"ok")


def client(ipc, arg):
    import k5

    for i in range(arg):
        k5.call(1, 0, (i,))
    k5.exit(ipc.words[0])


def test_tasks_with_heaps_of_their_own_do_ipc():
    system = System()
    ep = system.endpoint("ep")
    s = system.task("server", server, priority=20, arg=1, heap=8192)
    c = system.task("client", client, priority=20, arg=5, heap=8192)
    system.give(s, 1, ep, RIGHT_READ)
    system.give(c, 1, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY)
    system.run(50)
    assert system.info(c)["state"] == "exited"
    assert system.info(c)["exit_code"] == 4 * SCALE + 1
    system.close()


def test_a_heap_must_be_an_int():
    system = System()
    with pytest.raises(BuildError, match="heap must be an int"):
        system.task("t", echo, heap="big")
    system.close()


def test_functions_in_defaults_nest_eight_deep_and_the_ninth_is_a_stand_in():
    # The task's reader (native/k5arch/image.c, image_host here) takes 8 functions inside each
    # other; the packer makes the ninth a stand-in rather than an image the task refuses.
    source = (
        "def fun(ipc, n=None):\n    return n\n"
        "for _ in range(10):\n    def fun(ipc, n=fun):\n        return n\n"
    )
    script = {"__name__": "__main__"}
    exec(source, script)
    body, arg = image_host.unpack(image.pack(script["fun"], None, image.host_code_names))
    for _ in range(8):
        body = body(None)
    with pytest.raises(NameError, match="is the spawner's"):
        body(None)
