"""K5 ABI: syscall numbers, errors, rights, types, states, message layout."""

# Single source of truth: the C header for the native layer is generated from this file, so keep
# it to plain `NAME = const(value)` assignments grouped under comments.

from k5._compat import const

# --- Syscall numbers (first item of a request tuple) ---------------------------------------------
# IPC. Request: (SYS, slot, label, words, data, cap_slot, recv_slot); see "Message layout".
# recv: (SYS_RECV, ep, recv_slot[, reply_slot]); reply: (SYS_REPLY, reply_slot, label, words,
# data, cap_slot), reply_slot NO_SLOT for the implicit reply; reply_recv: (SYS_REPLY_RECV, ep,
# label, words, data, cap_slot, recv_slot[, reply_slot]).
SYS_SEND = const(1)
SYS_NBSEND = const(2)
SYS_RECV = const(3)
SYS_NBRECV = const(4)
SYS_CALL = const(5)
SYS_REPLY = const(6)
SYS_REPLY_RECV = const(7)
# Notifications. Request: (SYS, slot).
SYS_SIGNAL = const(8)
SYS_WAIT = const(9)
SYS_POLL = const(10)
# Thread control of the caller itself.
SYS_YIELD = const(11)
SYS_EXIT = const(12)
SYS_DEBUG_PUTS = const(13)
# Block the caller for n ticks (time.sleep_ms in a task). Request: (SYS_SLEEP, ticks).
SYS_SLEEP = const(14)
# NBSend on one endpoint, then receive on another (seL4_NBSendRecv). Request: (SYS, send_ep,
# label, words, data, cap_slot, recv_ep, recv_slot, reply_slot).
SYS_NBSEND_RECV = const(15)
# CNode invocations on the caller's CSpace.
SYS_CNODE_COPY = const(16)
SYS_CNODE_MINT = const(17)
SYS_CNODE_MOVE = const(18)
SYS_CNODE_MUTATE = const(19)
SYS_CNODE_DELETE = const(20)
SYS_CNODE_REVOKE = const(21)
SYS_CNODE_IDENTIFY = const(22)
# Wake every sender queued with the badge of an endpoint cap (needs all rights).
SYS_CNODE_CANCEL_BADGED_SENDS = const(23)
# TCB invocations (first argument: a TCB cap slot).
SYS_TCB_RESUME = const(24)
SYS_TCB_SUSPEND = const(25)
SYS_TCB_SET_PRIORITY = const(26)
SYS_TCB_SET_MCP = const(27)
SYS_TCB_BIND_NOTIFICATION = const(28)
SYS_TCB_UNBIND_NOTIFICATION = const(29)
SYS_TCB_RESTART = const(30)
SYS_TCB_INFO = const(31)
# SchedContext invocations.
SYS_SC_CONFIGURE = const(32)
SYS_SC_BIND = const(33)
SYS_SC_UNBIND = const(34)
SYS_SC_CONSUMED = const(35)
# Dynamic systems: create objects from an Untyped quota and set up new threads.
SYS_UNTYPED_RETYPE = const(36)
SYS_TCB_CONFIGURE = const(37)
SYS_TCB_COPY_CAP = const(38)
SYS_TCB_SET_HANDLER = const(39)
# Leases (Hubris): a call may lend the caller's bytearray/memoryview to the server until the
# reply: (SYS_CALL, ..., recv_slot, lease, lease_rights) with RIGHT_READ/RIGHT_WRITE bits.
# The server reaches it through the reply: (SYS, reply_slot, offset, buffer) for read/write,
# (SYS, reply_slot) for info; reply_slot NO_SLOT names the implicit reply.
SYS_BORROW_READ = const(40)
SYS_BORROW_WRITE = const(41)
SYS_BORROW_INFO = const(42)
# Interrupts (seL4's IRQControl and IRQHandler): get: (SYS, irq_control_slot, line, dest_slot)
# makes an IRQHandler cap for one interrupt line; set_notification: (SYS, handler_slot,
# ntfn_slot) binds it (the notification cap's badge is signalled) and unmasks the line; ack:
# (SYS, handler_slot) unmasks it again after a delivery; clear: (SYS, handler_slot) unbinds
# and masks it.
SYS_IRQ_CONTROL_GET = const(43)
SYS_IRQ_SET_NOTIFICATION = const(44)
SYS_IRQ_ACK = const(45)
SYS_IRQ_CLEAR = const(46)
# Device windows: (SYS, window_slot) -> (base, size, rights mapped) into ipc.words[0:3].
SYS_WINDOW_INFO = const(47)
# The root task's builder front end (k5/front.py): (SYS_BUILD, op name, args tuple), served by
# the root service (k5/rootsrv.py) on the kernel's thread; only the root task may make it.
SYS_BUILD = const(48)
# A notification at a deadline (k5/timer.py): (SYS_SET_TIMER, ntfn_slot, ticks), -1 cancels.
SYS_SET_TIMER = const(49)
# The kernel's clock: (SYS_NOW,) -> the tick count (modulo 2**30) in ipc.words[0].
SYS_NOW = const(50)
# Pseudo-syscall handled by the host arch backend, never by the kernel: burn n ticks of CPU.
SYS_SPIN = const(63)
SYS_COUNT = const(64)

# --- Error codes (result of every syscall; 0 = OK) ---------------------------------------------
OK = const(0)
ERR_INVALID_SYSCALL = const(1)
ERR_INVALID_ARGUMENT = const(2)
ERR_RANGE = const(3)
ERR_EMPTY_SLOT = const(4)
ERR_WRONG_TYPE = const(5)
ERR_RIGHTS = const(6)
ERR_SLOT_OCCUPIED = const(7)
ERR_WOULD_BLOCK = const(8)
ERR_NO_REPLY = const(9)
ERR_REVOKED = const(10)
ERR_STALE = const(11)
ERR_ILLEGAL_OPERATION = const(12)
ERR_NOT_ENOUGH_MEMORY = const(13)
ERR_COUNT = const(14)

# --- Rights bits ---------------------------------------------------------------------------------
RIGHT_READ = const(1)
RIGHT_WRITE = const(2)
RIGHT_GRANT = const(4)
RIGHT_GRANT_REPLY = const(8)
RIGHTS_ALL = const(15)
RIGHTS_RW = const(3)

# --- Object types --------------------------------------------------------------------------------
TYPE_NULL = const(0)
TYPE_ENDPOINT = const(1)
TYPE_NOTIFICATION = const(2)
TYPE_TCB = const(3)
TYPE_SCHED_CONTEXT = const(4)
TYPE_CNODE = const(5)
TYPE_REPLY = const(6)
TYPE_SCHED_CONTROL = const(7)
TYPE_UNTYPED = const(8)
TYPE_IRQ_CONTROL = const(9)
TYPE_IRQ_HANDLER = const(10)
TYPE_WINDOW = const(11)

# --- Thread states -------------------------------------------------------------------------------
STATE_INACTIVE = const(0)
STATE_RUNNING = const(1)
STATE_BLOCKED_SEND = const(2)
STATE_BLOCKED_RECV = const(3)
STATE_BLOCKED_REPLY = const(4)
STATE_BLOCKED_NOTIFICATION = const(5)
STATE_FAULTED = const(6)
STATE_EXITED = const(7)
STATE_BLOCKED_SLEEP = const(8)

# --- Trap kinds returned by arch.run() -----------------------------------------------------------
TRAP_SYSCALL = const(1)
TRAP_PREEMPT = const(2)
TRAP_FAULT = const(3)
TRAP_EXIT = const(4)

# --- Supervisor calls of the device (`svc #n`; native/k5arch) ----------------------------------
# SVC_ENTER comes from the kernel's thread (enter a task); every other one from a task. Those
# marked "served in C" never reach the Python kernel: arch.run() serves them and resumes the task.
SVC_ENTER = const(0)
SVC_SYSCALL = const(1)  # r0, r1 = the request's bytes (k5/wire.py); the result back in r0
SVC_PREEMPT = const(2)  # the task reached a safe point after its time limit
SVC_EXIT = const(3)  # the task's body returned (or raised SystemExit)
SVC_FAULT = const(4)  # the task's body raised: r0, r1 = its text (formatted in the task)
SVC_PUTS = const(5)  # served in C: r0 = text, r1 = length; r0 = bytes written (at most 64)
SVC_CLOCK = const(6)  # served in C: microseconds since boot in r0
SVC_COLLECT = const(7)  # served in C: run the garbage collector (privileged)
SVC_GETC = const(8)  # served in C: a console character in r0, -1 if none, -3 not the root's
SVC_MACHINE = const(9)  # served in C, root task only: r0 = MACHINE_* operation, r1 = argument
SVC_LOG = const(10)  # served in C: r0 = a log record's body, r1 = its length (k5/log.py)
# served in C, a task with an interpreter of its own: r0, r1 = a buffer in its heap for its
# image (k5/image.py), which the kernel copies in; r0 = the image's length, or -1
_SVC_IMAGE = const(11)
# served in C, a task with an interpreter of its own or the root: r0 = 0 reserves r1 bytes of its
# machine-code area (r0 = where they will run, 0: no room); r0 = a buffer of its own commits r1
# bytes of machine code from it into the piece reserved (r0 = its address, 0: refused)
_SVC_EXEC = const(12)
# served in C, the root (the REPL) only: its heap grows by an area of the arena (MICROPY_GC_SPLIT_
# HEAP_AUTO). r0 = 0: r0 = the most bytes one new area may have now (0: none); r0 = 1: r0 = the
# base of a new area of r1 bytes (0: refused); r0 = 2: the area at r1 goes back (r0 = 0, or -1)
_SVC_HEAP = const(13)
SVC_COUNT = const(14)
# SVC_MACHINE operations: what only the root task may ask of the machine.
MACHINE_RESET = const(0)  # machine.reset()
MACHINE_POWEROFF = const(1)  # machine.poweroff(status): leaves QEMU with status (semihosting)
MACHINE_KERNEL_FAULT = const(2)  # test of the kernel's epitaph: a privileged load from r1
MACHINE_IRQ_TEST = const(3)  # test of the epitaph: enable and pend external interrupt r1
# Fault injection (emulated board only): r1 = a task's stack base | n (n < 1024): fault that
# task at the next n SysTicks that find it running, each 1..4 ticks after the last (n = 0
# stops). Tests of the VM's consistency when a task dies at any instruction.
MACHINE_FAULT_INJECT = const(4)
MACHINE_LOG_EVENTS = const(5)  # r1 = 1: kernel events (faults, restarts) join the log stream
MACHINE_LOG_RTT = const(6)  # r1 = 1: log frames go to the RTT buffer (a debug probe), 0: console
# Any task: r1 = _FACT_*, r0 = the kernel's own copy of a fact of the boot (what a task could
# write in .data/.bss and another would read: machine.reset_cause(), unique_id(), freq()).
_MACHINE_FACT = const(7)
_FACT_RESET_CAUSE = const(0)
_FACT_CPUID = const(1)
_FACT_CORE_HZ = const(2)
# --- Interrupt lines the kernel delivers to notifications (arch.interrupts() bits) -------------
IRQ_CONSOLE = const(0)  # console input for the root task (the REPL waits for it)
IRQ_BREAK = const(1)  # Ctrl-C for the root task: the kernel ends whatever wait it is in
IRQ_HARDWARE = const(2)  # hardware interrupts are pending: arch.irq_take() names them
IRQ_LINES = const(3)  # soft lines: a notification can be bound to lines below this
# The root task's CSpace: slot 0 holds the console notification (bound to it), slot 1 the
# IRQControl cap (authority over every interrupt line the arch may hand out).
ROOT_SLOT_CONSOLE = const(0)
ROOT_SLOT_IRQ_CONTROL = const(1)
ROOT_SLOTS = const(16)
# Hardware fault classes of a task (the kernel's fault text names them).
FAULT_CLASS_PYTHON = const(0)
FAULT_CLASS_HARD = const(1)
FAULT_CLASS_MEMMANAGE = const(2)
FAULT_CLASS_BUS = const(3)
FAULT_CLASS_USAGE = const(4)
FAULT_CLASS_SECURE = const(5)
FAULT_CLASS_INJECTED = const(6)  # MACHINE_FAULT_INJECT
# A Python fault's text (type and first argument) is formatted by the task itself, in its own
# time, and reaches the kernel as at most this many bytes. (Private: a 168th name would grow this
# module's globals table by 448 B; k5/arch_host.py keeps a copy, checked by tests/kernel.)
_FAULT_TEXT_MAX = const(120)

# --- Message layout ------------------------------------------------------------------------------
# A message is a label, up to MSG_MAX_WORDS word registers, up to MSG_MAX_BYTES payload bytes and
# at most one capability. Words, labels and badges are small ints: WORD_MIN <= w < WORD_LIMIT.
MSG_MAX_WORDS = const(8)
MSG_MAX_BYTES = const(128)
WORD_LIMIT = const(0x40000000)
WORD_MIN = const(-0x40000000)
# The largest word. WORD_LIMIT itself is no small int on the MCU (2**30 needs a big int), so the
# kernel's range checks compare with WORD_MAX: a comparison with a big int costs ~10x more.
WORD_MAX = const(0x3FFFFFFF)
NO_SLOT = const(-1)
# Request tuple positions for IPC syscalls.
REQ_SYS = const(0)
REQ_SLOT = const(1)
REQ_LABEL = const(2)
REQ_WORDS = const(3)
REQ_DATA = const(4)
REQ_CAP = const(5)
REQ_RECV_SLOT = const(6)
REQ_IPC_LENGTH = const(7)
# What woke a receiver (IpcBuffer.source).
SOURCE_ENDPOINT = const(0)
SOURCE_NOTIFICATION = const(1)

# --- Badges --------------------------------------------------------------------------------------
# A badge with BADGE_GEN_FLAG set encodes the generation of the endpoint's owner in
# BADGE_GEN_SHIFT..; a send through such a cap after the owner restarted fails with ERR_STALE.
BADGE_GEN_FLAG = const(0x20000000)
BADGE_GEN_SHIFT = const(22)
BADGE_GEN_MASK = const(0x7F)
BADGE_USER_MASK = const(0x3FFFFF)

# --- Fault messages (label of the message a fault handler receives) ------------------------------
FAULT_NONE = const(0)
FAULT_EXCEPTION = const(0x7F01)
FAULT_TIMEOUT = const(0x7F02)
FAULT_CAP = const(0x7F03)
# Fault message words: [0] = faulting thread id, [1] = its generation, [2] = fault count.

# --- Handlers (SYS_TCB_SET_HANDLER) ----------------------------------------------------------
HANDLER_FAULT = const(0)
HANDLER_TIMEOUT = const(1)
# Dynamic TCBs: CSpace size limits and the limits of a task argument passed to TCB_CONFIGURE.
CSPACE_MAX = const(256)
ARG_MAX_ITEMS = const(8)

# --- Priorities and scheduling -------------------------------------------------------------------
PRIORITY_MIN = const(0)
PRIORITY_MAX = const(255)
PRIORITY_COUNT = const(256)
REFILLS_MIN = const(2)
REFILLS_MAX = const(16)

# Times (sleep, set_timer, budgets and periods): 0..k5.ticks.TIME_MAX, the time-range rule.
