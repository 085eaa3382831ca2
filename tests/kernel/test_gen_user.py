"""tools/gen_user_c.py: the device's user API (native/k5arch/user.c) is made from k5/user.py."""

import ast
import inspect

import pytest

import k5
from k5 import user
from tools import gen_user_c

ROOT = gen_user_c.pathlib.Path(__file__).resolve().parents[2]
USER = (ROOT / "k5" / "user.py").read_text()
ABI = (ROOT / "k5" / "abi.py").read_text()


def _rows():
    rows, handwritten = gen_user_c.table(USER, ABI)
    return {r[0]: r for r in rows}, handwritten


def test_every_name_of_the_api_is_a_row_or_written_in_c():
    rows, handwritten = _rows()
    assert sorted(list(rows) + handwritten) == sorted(user.__all__)
    assert set(handwritten) == set(gen_user_c.HANDWRITTEN)
    # What `import k5` gives on the host is the same list.
    for name in user.__all__:
        assert getattr(k5, name) is getattr(user, name)


def test_a_row_has_the_functions_parameters_defaults_and_syscall():
    rows, _ = _rows()
    for name, (_, sysno, trim, params, order) in rows.items():
        signature = inspect.signature(getattr(user, name))
        assert [p for p, _ in params] == list(signature.parameters), name
        for (param, default), parameter in zip(params, signature.parameters.values()):
            assert (default is None) == (parameter.default is inspect.Parameter.empty), name
            if isinstance(parameter.default, int) and not isinstance(parameter.default, bool):
                assert default == "MP_ROM_INT(%d)" % parameter.default, (name, param)
        assert sorted(order) == list(range(len(params))), name
        assert sysno.startswith("SYS_")
    # The shapes user.py uses: a reordered request, and one cut at a default.
    assert rows["borrow_read"][4] == [2, 0, 1]  # (reply, offset, buffer)
    assert rows["call"][2] == 6  # lease None: neither lease nor its rights are sent
    assert rows["recv"][2] == 2 and rows["send"][2] == -1


def test_the_header_names_every_row_in_the_module_table():
    text = gen_user_c.header(USER, ABI)
    rows, handwritten = _rows()
    for name in rows:
        assert "MP_ROM_QSTR(MP_QSTR_%s), MP_ROM_PTR(&k5u_%s_obj)" % (name, name) in text
    for name in handwritten:
        assert "MP_ROM_PTR(&%s)" % gen_user_c.HANDWRITTEN[name] in text
    assert not text.rstrip().endswith("\\")


@pytest.mark.parametrize(
    "source, reason",
    [
        ("def f(slot):\n    return syscall(SYS_SEND, slot + 1)\n", "not a syscall"),
        ("def f(slot, label):\n    return syscall(SYS_SEND, slot)\n", "every parameter"),
        ("def f(slot):\n    print(slot)\n    return syscall(SYS_SEND, slot)\n", "not a syscall"),
        ("def f(*slots):\n    return syscall(SYS_SEND, *slots)\n", "plain parameters"),
        ("def f(slot):\n    return syscall(SYS_NOPE, slot)\n", "not in k5/abi.py"),
        ("def f(slot, x=[]):\n    return syscall(SYS_SEND, slot, x)\n", "cannot write"),
        (
            "def f(slot, reply=0):\n    if reply == NO_SLOT:\n"
            "        return syscall(SYS_RECV, slot)\n    return syscall(SYS_RECV, slot, reply)\n",
            "not a syscall",
        ),
        ("g = 1\n", "neither a def nor in C"),
        (
            "def f(a, b, c, d, e, f, g, h, i):\n"
            "    return syscall(SYS_SEND, a, b, c, d, e, f, g, h, i)\n",
            "more than 8 parameters",
        ),
    ],
)
def test_a_function_of_another_shape_stops_the_build_with_its_name(source, reason):
    name = "f" if "def f" in source else "g"
    text = source + "__all__ = (%r,)\n" % name
    ast.parse(text)
    with pytest.raises(gen_user_c.Refused, match=reason) as caught:
        gen_user_c.table(text, ABI)
    assert "k5/user.py" in str(caught.value)
