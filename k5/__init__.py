"""K5: the policy of a capability-based microkernel, in Python."""

# Task code uses the user API at top level: `import k5`, then `err = k5.call(EP, 1, (2, 3))`
# (see k5/user.py; `from k5 import user as k` works too). The import chain k5.user -> k5.arch
# -> k5.arch_host uses only k5.abi, k5.ticks and k5._compat, so importing any k5 module first
# (k5.kernel, k5.system) runs this file without an import cycle.

from k5.user import (  # noqa: F401
    borrow_info,
    borrow_read,
    borrow_write,
    call,
    cancel_badged_sends,
    copy,
    delete,
    exit,
    identify,
    irq_ack,
    irq_clear,
    irq_control_get,
    irq_set_notification,
    mint,
    move,
    mutate,
    nbrecv,
    nbsend,
    nbsend_recv,
    now,
    poll,
    puts,
    recv,
    reply,
    reply_recv,
    revoke,
    sc_bind,
    sc_configure,
    sc_consumed,
    sc_unbind,
    send,
    set_timer,
    signal,
    sleep,
    spin,
    tcb_bind_notification,
    tcb_configure,
    tcb_copy_cap,
    tcb_info,
    tcb_restart,
    tcb_resume,
    tcb_set_handler,
    tcb_set_mcp,
    tcb_set_priority,
    tcb_suspend,
    tcb_unbind_notification,
    trap,
    untyped_retype,
    wait,
    window_info,
    yield_,
)


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
