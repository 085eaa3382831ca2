"""A task's image: what every task but the root starts from.

The spawner (the REPL, a task calling tcb_configure, the kernel for its own app tasks and
supervisor) packs the task's body and arg into bytes in its own interpreter; the kernel copies
those bytes into the new task's heap without reading them (native/k5arch, SVC_IMAGE); the task
unpacks them into objects of its own (native/k5arch/image.c; k5/image_host.py on the host) and
calls body(ipc, arg).
Nothing else crosses, so nothing of the spawner's (or the kernel's) is ever reachable from it.

What an image carries (the rules of a body's globals, as for every task):
- the body: a function of the script (its code, as `marshal` makes it: K5's, native/k5arch/
  code.c, on the device) or a function of a module (by name: the task imports the module
  itself);
- each global name the body's code uses (and the code of the script's functions it reaches):
  plain values (None, bool, int, float, str, bytes and tuples of these) by value, modules by
  name (imported again in the task), functions of the script by code, functions of modules by
  name; anything else (a list, an instance, a class of the script) becomes a stand-in that
  raises a clear error when used;
- the arg: a plain value.
A function of the script travels as its code, nested code included (functions, lambdas,
comprehensions and classes defined inside it, 8 deep at most), with its default arguments and,
for a closure, the values of its cells, each under the rules of a global (a tuple's items one by
one); no machine code (`@micropython.native`, `viper`): `pack` says so when it meets one it
cannot carry. A cell not yet bound arrives as None. A closure of a module cannot travel by name:
it becomes a stand-in.

Format (version 1): b"K5I" 0x01, then three values: the globals (a tuple of (name, value)
tuples), the body, the arg. A value is a tag byte and its fields; lengths and counts are
unsigned LEB128 varints; an int is its decimal text, a float its repr.
"""

from k5._compat import const

# Tags. The decoder builds objects of the task's own interpreter from each.
_IMAGE_NONE = const(0)
_IMAGE_FALSE = const(1)
_IMAGE_TRUE = const(2)
_IMAGE_INT = const(3)  # text
_IMAGE_FLOAT = const(4)  # text
_IMAGE_STR = const(5)  # text
_IMAGE_BYTES = const(6)  # data
_IMAGE_TUPLE = const(7)  # count, values
_IMAGE_MODULE = const(8)  # name (text): imported again in the task
# name (text), code (data: marshal.dumps of the function's code, nested included), then three
# values: its defaults (a tuple or None), its keyword defaults ((name, value) pairs or None), its
# cells' values (a tuple or None: not a closure)
_IMAGE_FUNCTION = const(9)
_IMAGE_ATTR = const(10)  # module (text), name (text): a function of a module
_IMAGE_UNSHARED = const(11)  # name (text), type name (text): a stand-in that raises when used

_MAGIC = b"K5I\x01"
# What a function of Python is called (a generator function is "generator" on MicroPython).
_FUNCTION_KINDS = ("function", "closure", "generator")

try:
    import _k5arch  # the device: a function's parts from C (native/k5arch/code.c)
except ImportError:
    _k5arch = None
_IMAGE_DEPTH = const(8)  # tuples nest at most this deep


class ImageError(ValueError):
    pass


# --- Encoding (the spawner's side) --------------------------------------------------------------


def _varint(out, n):
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _data(out, data):
    _varint(out, len(data))
    out.extend(data)


def _text(out, text):
    _data(out, text.encode())


def unplain(value, depth=0):
    """None if `value` is plain (None, bool, int, float, str, bytes, tuples of these nested at
    most 8 deep); else the type of the first value in it that is not. It reads types only, so
    it runs none of a value's code (the root service checks the REPL's arguments with it)."""
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is float:
        return None
    if kind is str or kind is bytes:
        return None
    if kind is tuple and depth < _IMAGE_DEPTH:
        for item in value:
            inner = unplain(item, depth + 1)
            if inner is not None:
                return inner
        return None
    return kind


def _put_plain(out, value):
    kind = type(value)
    if value is None:
        out.append(_IMAGE_NONE)
    elif kind is bool:
        out.append(_IMAGE_TRUE if value else _IMAGE_FALSE)
    elif kind is int:
        out.append(_IMAGE_INT)
        _text(out, str(value))
    elif kind is float:
        out.append(_IMAGE_FLOAT)
        _text(out, repr(value))
    elif kind is str:
        out.append(_IMAGE_STR)
        _text(out, value)
    elif kind is bytes:
        out.append(_IMAGE_BYTES)
        _data(out, value)
    else:
        out.append(_IMAGE_TUPLE)
        _varint(out, len(value))
        for item in value:
            _put_plain(out, item)


def encode_plain(out, value, depth=0):
    """Append a plain value (None, bool, int, float, str, bytes, tuples of these); False if it
    is not one (nothing appended then)."""
    if unplain(value, depth) is not None:
        return False
    _put_plain(out, value)
    return True


def _globals_of(fun):
    try:
        return fun.__globals__
    except AttributeError:
        return None  # a function in C


def _code_of(fun):
    """marshal's bytes of a function's code, nested code included."""
    import marshal
    import sys

    if sys.implementation.name == "micropython":
        return marshal.dumps(fun)  # K5's marshal takes the function (native/k5arch/code.c)
    return marshal.dumps(fun.__code__)  # CPython's takes its code, nested code included


def _parts(fun):
    """(function, defaults, keyword defaults, cells' values) of a function or closure."""
    if _k5arch is not None:
        return _k5arch.fun_parts(fun)
    closure = fun.__closure__
    cells = None
    if closure is not None:
        values = []
        for cell in closure:
            try:
                values.append(cell.cell_contents)
            except ValueError:
                values.append(None)  # not bound yet
        cells = tuple(values)
    return fun, fun.__defaults__, fun.__kwdefaults__, cells


def _make(code, globs, defaults, kwdefaults, cells):
    """The function of marshal.loads' code with these globals and parts."""
    if _k5arch is not None:
        return _k5arch.make_fun(code, globs, defaults, kwdefaults, cells)
    import types

    if cells is not None:
        cells = tuple(types.CellType(value) for value in cells)
    fun = types.FunctionType(code, globs, None, defaults, cells)
    fun.__kwdefaults__ = kwdefaults
    return fun


def _function(out, name, fun, script, pending, level=0):
    """A function: by code (and its defaults and cells) if it is the script's, by name if a
    module's; False if neither, or if it lies inside _IMAGE_DEPTH functions already (in their
    defaults and cells: the task's reader takes no more)."""
    if level >= _IMAGE_DEPTH:
        return False
    try:
        fun, defaults, kwdefaults, cells = _parts(fun)
    except (ValueError, TypeError, AttributeError):
        return False  # a function in C
    globs = _globals_of(fun)
    if globs is None:
        return False
    if globs is script:
        try:
            code = _code_of(fun)
        except (ValueError, AttributeError) as exc:
            raise ImageError(
                "K5: "
                + name
                + " cannot go to a task with an interpreter of its own: "
                + (str(exc) or type(exc).__name__)
            )
        out.append(_IMAGE_FUNCTION)
        _text(out, name)
        _data(out, code)
        pending.append(fun)
        _global(out, name, defaults, script, pending, 0, level + 1)
        pairs = None
        if kwdefaults is not None:
            pairs = tuple([(key, kwdefaults[key]) for key in kwdefaults])
        _global(out, name, pairs, script, pending, 0, level + 1)
        _global(out, name, cells, script, pending, 0, level + 1)
        return True
    module = globs.get("__name__")
    if type(module) is not str or module == "__main__" or cells is not None:
        return False
    out.append(_IMAGE_ATTR)
    _text(out, module)
    _text(out, fun.__name__)
    return True


def _global(out, name, value, script, pending, depth=0, level=0):
    if encode_plain(out, value):
        return
    kind = type(value).__name__
    if kind == "tuple" and depth < _IMAGE_DEPTH:
        out.append(_IMAGE_TUPLE)
        _varint(out, len(value))
        for item in value:
            _global(out, name, item, script, pending, depth + 1, level)
        return
    if kind in _FUNCTION_KINDS and _function(out, name, value, script, pending, level):
        return
    if kind == "module":
        out.append(_IMAGE_MODULE)
        _text(out, value.__name__)
        return
    out.append(_IMAGE_UNSHARED)
    _text(out, name)
    _text(out, kind)


def pack(body, arg=None, code_names=None):
    """The image of body(ipc, arg) (bytes). code_names(fun) lists the global names a function's
    code uses (the device's _k5arch.code_names)."""
    if code_names is None:
        from _k5arch import code_names
    kind = type(body).__name__
    inner = _parts(body)[0] if kind in _FUNCTION_KINDS else None
    if inner is None or _globals_of(inner) is None:
        raise ImageError("K5: a task's body must be a function in Python, not a " + kind)
    script = _globals_of(inner)
    module = script.get("__name__")
    if type(module) is str and module != "__main__":
        # A function of a module: the task imports the module itself and takes it by name.
        script = None
    # The body first: its code, and the functions its defaults and cells hold, join `pending`.
    pending = []
    head = bytearray()
    if script is None:
        if inner is not body:
            raise ImageError("K5: a task's body cannot be a closure of a module")
        head.append(_IMAGE_ATTR)
        _text(head, module)
        _text(head, body.__name__)
    elif not _function(head, inner.__name__, body, script, pending):
        raise ImageError("K5: a task's body must be a function of a script or a module")
    # The globals: every name the code reaches uses, once each.
    seen = {}
    entries = bytearray()
    count = 0
    i = 0
    while i < len(pending):
        fun = pending[i]
        i += 1
        if _globals_of(fun) is not script:
            continue
        for name in code_names(fun):
            if name in seen or name not in script:
                continue
            seen[name] = True
            entries.append(_IMAGE_TUPLE)
            _varint(entries, 2)
            entries.append(_IMAGE_STR)
            _text(entries, name)
            _global(entries, name, script[name], script, pending)
            count += 1
    out = bytearray(_MAGIC)
    out.append(_IMAGE_TUPLE)
    _varint(out, count)
    out.extend(entries)
    out.extend(head)
    if not encode_plain(out, arg):
        raise ImageError(
            "K5: a task's arg must be plain (None, bool, int, float, str, bytes or a tuple of"
            " these), not a " + type(arg).__name__
        )
    return bytes(out)


def host_code_names(fun):
    """code_names on CPython: the names a function's code (and its nested code) uses."""
    names = []
    todo = [fun.__code__]
    while todo:
        code = todo.pop()
        names.extend(code.co_names)
        for item in code.co_consts:
            if hasattr(item, "co_names"):
                todo.append(item)
    return names


# --- Decoding (the task's side, in its own interpreter) ---------------------------------------


class Unshared:
    """What a global the image could not carry becomes: using it says why."""

    def __init__(self, name, kind):
        self._why = (
            "K5: "
            + name
            + " (a "
            + kind
            + ") is the spawner's: a task gets plain values, modules and functions only"
        )

    def __getattr__(self, attr):
        raise NameError(self._why)

    def __call__(self, *args, **kwargs):
        raise NameError(self._why)

    def __getitem__(self, key):
        raise NameError(self._why)

    def __setitem__(self, key, value):
        raise NameError(self._why)

    def __delitem__(self, key):
        raise NameError(self._why)

    def __iter__(self):
        raise NameError(self._why)

    def __len__(self):
        raise NameError(self._why)

    def __contains__(self, item):
        raise NameError(self._why)

    def __add__(self, other):
        raise NameError(self._why)
