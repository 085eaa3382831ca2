"""Compatibility shims so k5 runs on CPython and MicroPython alike."""

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


__all__ = ("const",)  # a tuple: every task holds this module (no shared mutable object)
