"""K5: the policy of a capability-based microkernel, in Python."""

# Task code uses the user API at top level: `import k5`, then `err = k5.call(EP, 1, (2, 3))`
# (see k5/user.py; `from k5 import user as k` works too). The import chain k5.user -> k5.arch
# -> k5.arch_host uses only k5.abi, k5.ticks and k5._compat, so importing any k5 module first
# (k5.kernel, k5.system) runs this file without an import cycle.

try:
    # The device: the same API as objects in flash (native/k5arch/user.c, made from k5/user.py),
    # so that a task importing k5 holds no function object for it.
    from _k5user import *  # noqa: F403
    import _k5user as user
    import sys

    sys.modules["k5.user"] = user  # `import k5.user` finds it (k5/user.py is not frozen)
    del sys
except ImportError:
    from k5.user import *  # noqa: F403


# The REPL's side (k5/root.py), imported on first use so that task code importing k5 does not
# pull in the kernel.
def spawn(body, arg=None, **options):
    """Start body(ipc, arg) as a task of the REPL's system (see k5.root.spawn)."""
    from k5 import root

    return root.spawn(body, arg, **options)


def ps(show_caps=True):
    """Print the live state of every task of the REPL's system."""
    from k5 import root

    root.ps(show_caps)


def tasks():
    """Every task of the REPL's system as a dict (times in ticks: 1 ms on the device)."""
    from k5 import root

    return root.tasks()


def endpoint(name=""):
    """A new endpoint of the REPL's system. (A notification is k5.root.notification(): the name
    k5.notification is the kernel's module k5/notification.py, which the kernel imports.)"""
    from k5 import root

    return root.endpoint(name)
