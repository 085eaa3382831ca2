"""Compatibility shims so k5 runs on CPython and MicroPython alike."""

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


try:
    import micropython
except ImportError:

    class micropython:  # noqa: N801 (the decorator's spelling must be micropython.native)
        # MicroPython's compiler takes `@micropython.native` by its name and never evaluates
        # it; CPython runs the same source as plain Python.
        @staticmethod
        def native(function):
            return function


__all__ = (
    "const",
    "micropython",
)  # a tuple: every task holds this module (no shared mutable object)
