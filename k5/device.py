"""Hardware through capabilities: device windows (MPU) and interrupt lines."""

# Device windows. A DeviceWindow is a range of device memory (MMIO) that the root task cut out
# of the arch's device ranges; a task's MPU view maps every window it holds a cap to (READ:
# read-only, READ|WRITE: read/write; a cap without READ maps nothing, since the MPU cannot give
# write without read). "Holding is mapping": the view is solved again (k5.regions) whenever a
# window cap enters or leaves the task's CSpace, so a delete or revoke unmaps at once.
#
# The admission rule keeps every later change solvable: the windows a task holds are pairwise
# disjoint, and there are at most WINDOW_REGIONS of them. Disjoint windows need at most one
# region each, so no delete (which can split a merged run) can need more regions than the view
# has; the solver still merges adjacent windows of equal rights. A cap that would break the
# rule is refused (ERR_ILLEGAL_OPERATION for an overlap, ERR_NOT_ENOUGH_MEMORY for the count);
# in an IPC cap transfer it is not transferred, as seL4 drops a cap it cannot place.
#
# Interrupts (seL4's IRQControl / IRQHandler). IRQControl makes one IRQHandler per interrupt
# line the arch may hand out; the handler is bound to a notification (whose cap's badge is
# signalled). The arch masks a line when it fires; the kernel signals the notification and the
# line stays masked until the holder acks. The last cap of a handler going masks the line and
# frees it for a new handler.

from k5 import abi, cdt, regions
from k5.notification import do_signal
from k5._compat import const
from k5.decode import dest_slot, ipc_words, lookup
from k5.objects import SchedControl

# MPU regions left for device windows (ARMv8-M: 8, minus flash, VM RAM and the task's stack).
WINDOW_REGIONS = const(5)
# The MPU's granule (k5.regions.GRANULE).
_GRANULE = const(32)
_NO_REGIONS = ()


class DeviceWindow:
    """A window of device memory that a task maps by holding a cap to it.

    **Invariants:**
    - base and size are multiples of _GRANULE, size > 0, and [base, base + size) lies
      inside one of the arch's device ranges (never RAM, flash or kernel memory) and
      overlaps none of its kept ranges (the console, the kernel's clock, ...);
      _GRANULE is k5.regions.GRANULE.
    """

    __slots__ = ("base", "size", "name", "oid", "cap_count")

    def __init__(self, base, size, name="", oid=0):
        self.base = base
        self.size = size
        self.name = name
        self.oid = oid
        self.cap_count = 0


def irq_control():
    """The IRQControl: authority to make an IRQHandler for any line the arch hands out (an
    object of no state but its name, like the SchedControl: one class serves both)."""
    return SchedControl("irq_control")


class IRQHandler:
    """Authority over one interrupt line (seL4's IRQHandler).

    **Invariants:**
    - kernel.irq_handlers[line] is self while any cap to it exists (one handler per line);
    - the line is unmasked only while ntfn is set and no delivery awaits an ack (not pending);
    - ntfn_cap, the notification cap it was bound through, is alive and names ntfn while ntfn
      is set: deleting or revoking that cap unbinds the line (seL4 keeps a derived cap in the
      handler, which revoke removes).
    """

    __slots__ = (
        "line",
        "ntfn",
        "badge",
        "pending",
        "count",
        "name",
        "oid",
        "cap_count",
        "ntfn_cap",
    )

    def __init__(self, line, name="", oid=0):
        self.line = line
        self.ntfn = None
        self.ntfn_cap = None
        self.badge = 0
        self.pending = False
        self.count = 0
        self.name = name
        self.oid = oid
        self.cap_count = 0


# --- device windows ----------------------------------------------------------------------------


def check_window(arch, base, size):
    """None if [base, base + size) may be a device window, else the reason (text)."""
    if type(base) is not int or type(size) is not int:
        return "base and size must be ints"
    if base < 0 or size <= 0 or base % _GRANULE or size % _GRANULE:
        return "base and size must be positive multiples of " + str(_GRANULE)
    inside = False
    for low, high in arch.device_ranges():
        if low <= base and size <= high - base:
            inside = True
    if not inside:
        return "not inside the device memory of this machine"
    # What the kernel keeps for itself (the console, its clock, ...), every alias of it.
    for low, high, what in arch.kept_ranges():
        if base < high and low < base + size:
            return "overlaps " + what + ", which the kernel keeps for itself"
    return None


def new_window(kernel, base, size, name=""):
    """A DeviceWindow (builder: the root task's authority); ValueError when it may not be."""
    reason = check_window(kernel.arch, base, size)
    if reason is not None:
        raise ValueError("window " + hex(base) + "+" + hex(size) + ": " + reason)
    return DeviceWindow(base, size, name, kernel._new_id())


def _held(cnode):
    # (window, rights) of every window the CSpace maps, caps to one window merged (their rights
    # OR'ed).
    held = []
    for cap in cnode.slots:
        if cap is None or cap.obj_type != abi.TYPE_WINDOW:
            continue
        rights = cap.rights & abi.RIGHTS_RW
        if not rights & abi.RIGHT_READ:
            continue
        window = cap.obj
        for i in range(len(held)):
            if held[i][0] is window:
                held[i] = (window, held[i][1] | rights)
                window = None
                break
        if window is not None:
            held.append((window, rights))
    return held


def admit(kernel, tcb, cap, rights):
    """abi.OK if a cap like `cap` with `rights` may join tcb's CSpace (decode: changes nothing).

    Only window caps are checked: the task's view must stay solvable (see the rule above)."""
    if cap.obj_type != abi.TYPE_WINDOW or not rights & abi.RIGHT_READ or tcb is kernel.root:
        return abi.OK
    window = cap.obj
    held = _held(tcb.cspace)
    for other, _ in held:
        if other is window:
            return abi.OK
    for other, _ in held:
        if other.base < window.base + window.size and window.base < other.base + other.size:
            return abi.ERR_ILLEGAL_OPERATION
    if len(held) >= WINDOW_REGIONS:
        return abi.ERR_NOT_ENOUGH_MEMORY
    return abi.OK


def derive(kernel, tcb, parent, rights, badge, slot):
    """Derive a cap from `parent` into tcb's CSpace slot, its MPU view following (perform after
    the slot was checked): the new Cap, or the error code admit() gave (nothing changed)."""
    err = admit(kernel, tcb, parent, rights)
    if err != abi.OK:
        return err
    cap = cdt.derive(parent, rights, badge, tcb.cspace, slot)
    if cap.obj_type == abi.TYPE_WINDOW:
        refresh(kernel, tcb)
    return cap


def view(tcb):
    """The solved MPU regions of tcb's windows: (base, limit, rights, device) tuples."""
    windows = []
    for window, rights in _held(tcb.cspace):
        windows.append((window.base, window.size, rights, True))
    return regions.solve(windows, WINDOW_REGIONS)


def refresh(kernel, tcb):
    """Program tcb's MPU view from the windows it holds (perform: admitted views always fit).

    With the heap full the view cannot be solved: the task then maps no window at all (less
    than it holds, never more: a window just deleted is gone either way)."""
    if tcb is None or tcb.context is None or tcb is kernel.root:
        return
    try:
        regions_now = view(tcb)
    except MemoryError:
        regions_now = _NO_REGIONS
    kernel.arch.memory_view(tcb.context, regions_now)


def holder(kernel, cnode):
    """The TCB whose CSpace `cnode` is (None for the builder's CNode)."""
    for tcb in kernel.tcbs:
        if tcb.cspace is cnode:
            return tcb
    return None


def sys_window_info(kernel, tcb, sysno, request):
    # (SYS_WINDOW_INFO, window_slot): base, size, rights into ipc.words[0:3]
    if len(request) != 2:
        return abi.ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], abi.TYPE_WINDOW, 0)
    if type(cap) is int:
        return cap
    words = ipc_words(tcb)
    # Word registers hold values below 2**30: the base goes in 32-byte units.
    words[0] = cap.obj.base // _GRANULE
    words[1] = cap.obj.size
    words[2] = cap.rights & abi.RIGHTS_RW
    tcb.ipc.count = 3
    return abi.OK


# --- interrupts --------------------------------------------------------------------------------


def check_line(kernel, line):
    """abi.OK if `line` may get an IRQHandler now (decode)."""
    if type(line) is not int or not kernel.arch.irq_valid(line):
        return abi.ERR_RANGE
    table = kernel.irq_handlers
    if table is not None and table[line] is not None:
        return abi.ERR_ILLEGAL_OPERATION
    return abi.OK


def new_handler(kernel, line, name=""):
    """Make the IRQHandler of a free, valid line (perform; check_line first). Masked."""
    table = kernel.irq_handlers
    if table is None:
        table = [None] * kernel.arch.irq_count()
        kernel.irq_handlers = table
    handler = IRQHandler(line, name or "irq" + str(line), kernel._new_id())
    table[line] = handler
    kernel.arch.irq_mask(line)
    return handler


def bind(kernel, handler, ntfn_cap, badge):
    """Deliver the line to the notification of `ntfn_cap` with `badge` while that cap lives,
    and unmask it (perform)."""
    handler.ntfn = ntfn_cap.obj
    handler.ntfn_cap = ntfn_cap
    handler.badge = badge if badge else 1
    handler.pending = False
    kernel.arch.irq_unmask(handler.line)


def sys_irq_control_get(kernel, tcb, sysno, request):
    # (SYS_IRQ_CONTROL_GET, irq_control_slot, line, dest_slot)
    if len(request) != 4:
        return abi.ERR_INVALID_ARGUMENT
    control = lookup(tcb, request[1], abi.TYPE_IRQ_CONTROL, 0)
    if type(control) is int:
        return control
    err = check_line(kernel, request[2])
    if err != abi.OK:
        return err
    err = dest_slot(tcb, request[3])
    if err != abi.OK:
        return err
    handler = new_handler(kernel, request[2])
    cap = cdt.Cap(handler, abi.TYPE_IRQ_HANDLER, abi.RIGHTS_ALL, 0)
    # A child of the IRQControl cap: revoking IRQControl takes every handler made from it.
    cdt.insert(tcb.cspace, request[3], cap, control)
    return abi.OK


def sys_irq_handler(kernel, tcb, sysno, request):
    # set_notification: (SYS, handler_slot, ntfn_slot)  ack, clear: (SYS, handler_slot)
    if len(request) != (3 if sysno == abi.SYS_IRQ_SET_NOTIFICATION else 2):
        return abi.ERR_INVALID_ARGUMENT
    cap = lookup(tcb, request[1], abi.TYPE_IRQ_HANDLER, 0)
    if type(cap) is int:
        return cap
    handler = cap.obj
    if sysno == abi.SYS_IRQ_SET_NOTIFICATION:
        ntfn_cap = lookup(tcb, request[2], abi.TYPE_NOTIFICATION, abi.RIGHT_WRITE)
        if type(ntfn_cap) is int:
            return ntfn_cap
        bind(kernel, handler, ntfn_cap, ntfn_cap.badge)
    elif sysno == abi.SYS_IRQ_ACK:
        if handler.ntfn is None:
            return abi.ERR_ILLEGAL_OPERATION
        handler.pending = False
        kernel.arch.irq_unmask(handler.line)
    else:
        unbind(kernel, handler)
    return abi.OK


def unbind(kernel, handler):
    handler.ntfn = None
    handler.ntfn_cap = None
    handler.pending = False
    kernel.arch.irq_mask(handler.line)


def deliver(kernel):
    """Signal the notification of every hardware line the arch took (perform)."""
    arch = kernel.arch
    table = kernel.irq_handlers
    line = arch.irq_take()
    while line >= 0:
        handler = table[line] if table is not None else None
        if handler is not None and handler.ntfn is not None:
            # The arch masked the line; it stays masked until the holder acks.
            handler.pending = True
            handler.count += 1
            do_signal(kernel, handler.ntfn, handler.badge)
        else:
            arch.irq_mask(line)
        line = arch.irq_take()


def destroy_handler(kernel, handler):
    """The last cap of an IRQHandler went: the line is masked and free again (perform)."""
    unbind(kernel, handler)
    table = kernel.irq_handlers
    if table is not None and table[handler.line] is handler:
        table[handler.line] = None


def notification_gone(kernel, ntfn, cap=None):
    """A notification was destroyed (`ntfn`), or one of its caps deleted or revoked (`cap`):
    the handlers bound to it, or through that cap, are unbound (perform)."""
    table = kernel.irq_handlers
    if table is None:
        return
    for handler in table:
        if handler is not None and (
            handler.ntfn_cap is cap if cap is not None else handler.ntfn is ntfn
        ):
            unbind(kernel, handler)
