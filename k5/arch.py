"""The arch facade: the kernel reaches hardware only through arch.new()."""

# Every backend provides the same names (see HostArch in k5/arch_host.py for the contract):
#   now() -> ticks; idle(until); context_new(entry, arg, stack, name[, heap]) -> ctx (with a
#   heap: an interpreter of its own, entry its image, bytes of k5/image.py, and arg None);
#   context_heap(ctx) -> bytes of its own heap (0: in the kernel's interpreter);
#   lease_set(ctx, buffer, rights) -> whether the task may lend buffer with the call it makes
#     now (the device records it, and the rights, where no task reaches, until it next runs);
#   lease_copy(ctx, lease, offset, buffer, count, into_lease) -> False if refused: a borrow;
#   context_reset(ctx, entry, arg); ipc_buffer(ctx) -> the kernel's view of the context's IPC
#   buffer (the task gets a view of its own as its body's first argument);
#   run(ctx, limit) -> TRAP_*; request(ctx);
#   set_result(ctx, value); write_answer(buffer, value) -> length or -1 (the builder's answer
#   into the root's buffer as bytes, k5/wire.py); fault_text(ctx); memory_view(ctx, regions);
#   context_free(ctx);
#   interrupts() -> the interrupt lines raised since the last call (bit n = line n);
#   device_ranges() -> ((low, high), ...) where device windows may lie;
#   kept_ranges() -> ((low, high, what), ...) device memory the kernel keeps (no window);
#   irq_count(); irq_valid(line) (false for a line the kernel keeps); irq_mask(line);
#   irq_unmask(line); irq_take() -> a fired line or -1;
#   console_write(line) -> whether the line went to the console (False: no room now; the
#     kernel never waits for the wire on a task's behalf); console_room() -> the bytes it has
#     room for now.
# and, for task code (k5.user), two module-level functions:
#   trap(request) -> result: perform one syscall from the calling task (a request tuple goes
#     to the kernel as bytes, k5/wire.py); syscall(sysno, *args) is trap((sysno, *args));
#   spin(ticks): burn `ticks` ticks of CPU time;
#   read_answer(buffer): the builder's answer the kernel wrote into the root's buffer.
# On the device `_k5arch` (native) provides them; on the host the simulated backend does.

try:
    import _k5arch
except ImportError:
    _k5arch = None

# True on the board: tasks are real (unprivileged, on their own stacks, in real time).
DEVICE = _k5arch is not None

if _k5arch is not None:
    trap = _k5arch.trap
    syscall = _k5arch.syscall
    spin = _k5arch.spin
    read_answer = _k5arch.read_answer
else:
    from k5.arch_host import spin, syscall, trap  # noqa: F401
    from k5.wire import read_answer  # noqa: F401


def new(**options):
    """Create the arch backend: the native one when present, else the host simulation."""
    if _k5arch is not None:
        return _k5arch.Arch(**options)
    from k5.arch_host import HostArch

    return HostArch(**options)
