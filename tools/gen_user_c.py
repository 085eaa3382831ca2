"""Generate the device's user API (the C module _k5user) from k5/user.py, its single source."""

# Usage: python3 tools/gen_user_c.py k5/user.py k5/abi.py OUT.h
#
# Each name of user.py's __all__ becomes an object of flash, so a task that imports k5 pays
# only its package's table of names, not a function object per call (docs/interpreters.md).
# A function of user.py whose body forwards its parameters, in order, to
# `syscall(SYS_NAME, ...)` becomes a row of the table: its syscall number, its parameters'
# names and defaults (literals or k5/abi.py's constants). One shape more is taken, as user.py
# writes it:
#
#     if P is None:                      (or P == NO_SLOT)
#         return syscall(SYS_X, <the parameters before P>)
#     return syscall(SYS_X, <every parameter>)
#
# (P at its default is not sent, nor anything after it). Any other name must be one written
# in C (HANDWRITTEN: native/k5arch/user.c, modk5arch.c); a function of another shape stops
# the build with its name. The file is rewritten only when its text changes.

import ast
import pathlib
import re
import sys

# The most parameters a row may have (user.c's K5USER_MAX_PARAMS).
MAX_PARAMS = 8

# What user.py's __all__ may name that is not a forwarding function, and its C object.
HANDWRITTEN = {
    "now": "k5user_now_obj",
    "window_info": "k5user_window_info_obj",
    "tcb_configure": "k5user_tcb_configure_obj",
    "spin": "k5arch_spin_obj",
    "trap": "k5arch_trap_obj",
}

_CONST = re.compile(r"^([A-Z][A-Z0-9_]*) = const\((-?(?:0x[0-9A-Fa-f]+|[0-9]+))\)", re.M)


class Refused(Exception):
    pass


def _abi(abi_text):
    return {name: int(value, 0) for name, value in _CONST.findall(abi_text)}


def _default(node, abi, where):
    """The C initialiser of a parameter's default (an mp_rom_obj_t)."""
    if isinstance(node, ast.Constant):
        value = node.value
        if value is None:
            return "MP_ROM_NONE"
        if isinstance(value, bool):
            return "MP_ROM_TRUE" if value else "MP_ROM_FALSE"
        if isinstance(value, int):
            return "MP_ROM_INT(%d)" % value
        if isinstance(value, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            return "MP_ROM_QSTR(MP_QSTR_%s)" % value
    if isinstance(node, ast.Tuple) and not node.elts:
        return "MP_ROM_PTR(&mp_const_empty_tuple_obj)"
    if isinstance(node, ast.Name) and node.id in abi:
        return "MP_ROM_INT(%d)" % abi[node.id]
    raise Refused("%s: a default the generator cannot write: %s" % (where, ast.dump(node)))


def _forward(node, params):
    """(SYS_ name, parameter names in the request's order) if node is `return syscall(SYS_X, ..)`
    whose arguments are parameters, each at most once."""
    if not (isinstance(node, ast.Return) and isinstance(node.value, ast.Call)):
        return None
    call = node.value
    if not (isinstance(call.func, ast.Name) and call.func.id == "syscall") or call.keywords:
        return None
    args = call.args
    if not args or not isinstance(args[0], ast.Name) or not args[0].id.startswith("SYS_"):
        return None
    names = [a.id if isinstance(a, ast.Name) else None for a in args[1:]]
    if any(n not in params for n in names) or len(set(names)) != len(names):
        return None
    return args[0].id, names


def _trim(node, params, defaults):
    """P if node is `if P is None:` / `if P == NO_SLOT:` with P compared to its default."""
    test = node.test
    if not (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and len(test.ops) == 1
        and isinstance(test.ops[0], (ast.Is, ast.Eq))
        and test.left.id in defaults
        and ast.dump(test.comparators[0]) == ast.dump(defaults[test.left.id])
    ):
        return None
    return test.left.id


def row(fun, abi):
    """(name, SYS_ name, the request's length when trimmed or -1, [(param, C default or None)],
    the parameter at each place of the request) of a forwarding def."""
    where = "k5/user.py: %s" % fun.name
    args = fun.args
    if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
        raise Refused("%s: only plain parameters can be written in C" % where)
    params = [a.arg for a in args.args]
    if len(params) > MAX_PARAMS:
        raise Refused("%s: more than %d parameters" % (where, MAX_PARAMS))
    defaults = dict(zip(params[len(params) - len(args.defaults) :], args.defaults))
    body = fun.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    refused = Refused("%s: not a syscall of its parameters (see tools/gen_user_c.py)" % where)
    trim = -1
    if len(body) == 2 and isinstance(body[0], ast.If) and not body[0].orelse:
        kept = _trim(body[0], params, defaults)
        short = _forward(body[0].body[0], params) if len(body[0].body) == 1 else None
        full = _forward(body[1], params)
        if not (kept and short and full and short[0] == full[0]) or kept not in full[1]:
            raise refused
        trim = full[1].index(kept)
        if short[1] != full[1][:trim]:
            raise refused
        sysno, order = full
    elif len(body) == 1 and _forward(body[0], params):
        sysno, order = _forward(body[0], params)
    else:
        raise refused
    if sorted(order) != sorted(params):
        raise Refused("%s: every parameter must reach the syscall" % where)
    if sysno not in abi:
        raise Refused("%s: %s is not in k5/abi.py" % (where, sysno))
    cparams = [
        (p, _default(defaults[p], abi, where + "(" + p + ")") if p in defaults else None)
        for p in params
    ]
    return fun.name, sysno, trim, cparams, [params.index(n) for n in order]


def table(user_text, abi_text):
    tree = ast.parse(user_text)
    exported = None
    functions = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            functions[node.name] = node
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            exported = [e.value for e in node.value.elts]
    if exported is None:
        raise Refused("k5/user.py: no __all__")
    abi = _abi(abi_text)
    rows, handwritten = [], []
    for name in exported:
        if name in HANDWRITTEN:
            handwritten.append(name)
        elif name in functions:
            rows.append(row(functions[name], abi))
        else:
            raise Refused("k5/user.py: %s is exported but is neither a def nor in C" % name)
    return rows, handwritten


def header(user_text, abi_text):
    rows, handwritten = table(user_text, abi_text)
    out = [
        "// Generated from k5/user.py by tools/gen_user_c.py: do not edit.",
        "// Included once, by native/k5arch/user.c.",
        "",
    ]
    for name, sysno, trim, params, order in rows:
        if params:
            out.append("static const mp_arg_t k5u_%s_params[] = {" % name)
            for param, default in params:
                flags, value = "MP_ARG_OBJ", default
                if default is None:
                    flags, value = "MP_ARG_REQUIRED | MP_ARG_OBJ", "MP_ROM_NONE"
                out.append("    { MP_QSTR_%s, %s, {.u_rom_obj = %s} }," % (param, flags, value))
            out.append("};")
        required = sum(1 for _, default in params if default is None)
        out.append(
            "static const k5user_fun_t k5u_%s_obj = { { &k5user_fun_type }, MP_QSTR_%s, K5_%s, "
            "%d, %d, %d, { %s }, %s };"
            % (
                name,
                name,
                sysno,
                len(params),
                required,
                trim,
                ", ".join(map(str, order or [0])),
                "k5u_%s_params" % name if params else "NULL",
            )
        )
    out.append("")
    out.append("#define K5USER_GLOBALS \\")
    for name, *_ in rows:
        out.append("    { MP_ROM_QSTR(MP_QSTR_%s), MP_ROM_PTR(&k5u_%s_obj) }, \\" % (name, name))
    for name in handwritten:
        out.append(
            "    { MP_ROM_QSTR(MP_QSTR_%s), MP_ROM_PTR(&%s) }, \\" % (name, HANDWRITTEN[name])
        )
    out.append("    /* the end of the table */")
    out.append("")
    return "\n".join(out)


def main(argv):
    user, abi, out = (pathlib.Path(a) for a in argv[1:4])
    try:
        text = header(user.read_text(), abi.read_text())
    except Refused as exc:
        sys.exit("gen_user_c: %s" % exc)
    if not out.exists() or out.read_text() != text:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)


if __name__ == "__main__":
    main(sys.argv)
