// MicroPython configuration for K5's STM32L5 port (Cortex-M33, ARMv8-M Mainline).
//
// Both boards (the NUCLEO-L552ZE-Q and QEMU's mps2-an505 standing in for it) share this file;
// what differs between them lives in boards/<BOARD>/mpconfigboard.h.

#include <stdint.h>
#include <alloca.h>

#include "mpconfigboard.h"

#ifndef K5_BOARD_ATTACK_MODULE
#define K5_BOARD_ATTACK_MODULE                  (0)
#endif

#define MICROPY_CONFIG_ROM_LEVEL                (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)

// Emitters. The Thumb emitter is there for frozen code: the kernel's hot path is frozen as
// @micropython.native machine code, which runs from flash like any frozen bytecode (the same
// source runs as bytecode on the host). The heap is execute-never for every task (the MPU): native
// code compiled at run time, or loaded from a .mpy, is written in the heap and committed into an
// area the task may execute but not write (native/k5arch, k5arch_commit_exec: the REPL and tasks
// with an interpreter of their own; a task in the kernel's interpreter is refused).
#define MICROPY_EMIT_THUMB                      (1)
#define MICROPY_EMIT_INLINE_THUMB               (0)
#define MICROPY_MAKE_POINTER_CALLABLE(p)        ((void *)((uintptr_t)(p) | 1))
void *k5arch_commit_exec(void *code, size_t len, void *reloc);
#define MP_PLAT_COMMIT_EXEC(code, len, reloc)   k5arch_commit_exec(code, len, reloc)
#define MICROPY_PERSISTENT_CODE_LOAD            (1)
// The VM dispatches opcodes through a table of labels: about 10% fewer instructions, 1 KB.
#define MICROPY_OPT_COMPUTED_GOTO               (1)
// The attribute-lookup cache is indexed by qstr, and a qstr object's tag leaves every other
// entry unused: 256 bytes give 128 entries, enough that the kernel's hot attributes rarely
// evict each other (the null syscall varied by 10% with qstr numbering at the default 128).
#define MICROPY_OPT_MAP_LOOKUP_CACHE_SIZE       (256)

// Memory, GC and the VM.
#define MICROPY_ALLOC_PATH_MAX                  (256)
#define MICROPY_ENABLE_GC                       (1)
// The kernel's heap has two areas: the heap it shares with the tasks in its interpreter, and a
// reserve only the kernel allocates from (native/k5arch), so that such a task hoarding the heap
// cannot keep the kernel from serving the REPL.
#define MICROPY_GC_SPLIT_HEAP                   (1)
// The REPL's heap grows by areas of the task arena (native/k5arch, SVC_HEAP); no other grows.
#define MICROPY_GC_SPLIT_HEAP_AUTO              (1)
void *k5arch_heap_area_alloc(size_t size);
void k5arch_heap_area_free(void *area);
#define MP_PLAT_ALLOC_HEAP(size)                k5arch_heap_area_alloc(size)
#define MP_PLAT_FREE_HEAP(ptr)                  k5arch_heap_area_free(ptr)
// The collector's mark stacks (two with the split heap) are VM state that every task with an
// interpreter of its own saves at each switch: 32 entries, not 64, take 256 B off each saved
// state and about 400 instructions off a round trip between two of them. A mark that overflows
// them rescans the heap: the kernel's collection of a 31 KB heap took 446 us, not 201 us.
#define MICROPY_ALLOC_GC_STACK_SIZE             (32)
#define MICROPY_STACK_CHECK                     (1)
#define MICROPY_ENABLE_PYSTACK                  (0)
#define MICROPY_LONGINT_IMPL                    (MICROPY_LONGINT_IMPL_MPZ)
#define MICROPY_FLOAT_IMPL                      (MICROPY_FLOAT_IMPL_FLOAT)
#define MP_NEED_LOG2                            (1)
// No scheduler: micropython.schedule() would let a task queue a callback that runs wherever
// pending events are handled next, the kernel's privileged thread included. Ctrl-C and the
// pending exceptions of tasks do not need it.
#define MICROPY_ENABLE_SCHEDULER                (0)
#define MICROPY_KBD_EXCEPTION                   (1)
#define MICROPY_HELPER_REPL                     (1)
#define MICROPY_REPL_AUTO_INDENT                (1)
#define MICROPY_ENABLE_EMERGENCY_EXCEPTION_BUF  (1)
#define MICROPY_EMERGENCY_EXCEPTION_BUF_SIZE    (256)
#define MICROPY_WARNINGS                        (1)
#define MICROPY_ERROR_REPORTING                 (MICROPY_ERROR_REPORTING_DETAILED)
// The filesystem: littlefs2 (MICROPY_VFS_LFS2, set in the Makefile) on the board's flash area
// (flashbdev.c), mounted at / by the root task (modules/_boot.py). Tasks have none (native/k5arch).
#define MICROPY_READER_VFS                      (1)
#define MICROPY_VFS                             (1)
#define MICROPY_ENABLE_EXTERNAL_IMPORT          (1)

// Built-in modules.
#define MICROPY_PY_SYS_PLATFORM                 "k5"
#define MICROPY_PY_SYS_STDIO_BUFFER             (1)
#define MICROPY_PY_SYS_STDFILES                 (1)
#define MICROPY_PY_SYS_EXIT                     (1)
#define MICROPY_PY_OS                           (1)
#define MICROPY_PY_OS_UNAME                     (1)
#define MICROPY_PY_OS_URANDOM                   (0)
#define MICROPY_PY_TIME                         (1)
#define MICROPY_PY_TIME_TIME_TIME_NS            (0)
#define MICROPY_PY_TIME_GMTIME_LOCALTIME_MKTIME (0)
// random.seed() with no argument: the cycle count, plus an odd multiple of the number of calls so
// that two seeds never repeat even if the count has not moved between them (QEMU's SysTick stalls
// at the end of a period while the host is busy).
#define MICROPY_PY_RANDOM_SEED_INIT_FUNC        ({ \
        extern mp_uint_t mp_hal_ticks_cpu(void); \
        static uint32_t k5_seed_calls; \
        mp_hal_ticks_cpu() ^ (++k5_seed_calls * 2654435761u); \
    })
#define MICROPY_PY_MACHINE                      (1)
#define MICROPY_PY_MACHINE_INCLUDEFILE          "ports/stm32l5/modmachine.c"
#define MICROPY_PY_MACHINE_RESET                (1)
#define MICROPY_PY_MACHINE_BARE_METAL_FUNCS     (1)
#define MICROPY_PY_MACHINE_MEMX                 (1)
// machine.mem8/16/32 in a task reach only its device windows (native/k5arch).
#define MICROPY_MACHINE_MEM_GET_READ_ADDR       k5arch_mem_read_addr
#define MICROPY_MACHINE_MEM_GET_WRITE_ADDR      k5arch_mem_write_addr
#define MICROPY_PY_MACHINE_PIN_BASE             (0)
#define MICROPY_PY_MACHINE_SIGNAL               (0)
#define MICROPY_PY_MACHINE_SOFTI2C              (0)
#define MICROPY_PY_MACHINE_SOFTSPI              (0)
#define MICROPY_PY_MACHINE_DISABLE_IRQ_ENABLE_IRQ (1)
#define MICROPY_PY_SELECT                       (1)
#define MICROPY_PY_SOCKET                       (0)
#define MICROPY_PY_NETWORK                      (0)
#define MICROPY_PY_BTREE                        (0)
#define MICROPY_PY_DEFLATE_COMPRESS             (1)
#define MICROPY_PY_FRAMEBUF                     (1)
// uctypes reaches any address (struct views of raw memory) and MicroPython gives it no gate:
// off, so that machine.mem8/16/32 below is the only raw-memory path.
#define MICROPY_PY_UCTYPES                      (0)
#define MICROPY_PY_THREAD                       (0)

// Language and library features beyond the EXTRA_FEATURES level that MicroPython's test suite
// exercises; all are self-contained C (no hardware or filesystem support needed).
#define MICROPY_PY_FUNCTION_ATTRS_CODE          (1)
// marshal is native/k5arch/code.c's: MicroPython's dumps writes past its bit vectors (there).
#define MICROPY_PY_MARSHAL                      (0)
#define MICROPY_PY_BUILTINS_MEMORYVIEW_ITEMSIZE (1)
#define MICROPY_PY_BUILTINS_RANGE_BINOP         (1)
#define MICROPY_PY_ALL_INPLACE_SPECIAL_METHODS  (1)
#define MICROPY_PY_COLLECTIONS_NAMEDTUPLE__ASDICT (1)
#define MICROPY_PY_IO_BUFFEREDWRITER            (1)
#define MICROPY_PY_MICROPYTHON_HEAP_LOCKED      (1)
#define MICROPY_PY_SYS_EXC_INFO                 (1)
// No command line, so no sys.argv: a list every task could append to (a task gets its arg).
#define MICROPY_PY_SYS_ARGV                     (0)
#define MICROPY_PY_SYS_GETSIZEOF                (1)
#define MICROPY_PY_SYS_TRACEBACKLIMIT           (1)
#define MICROPY_PY_RE_MATCH_GROUPS              (1)
#define MICROPY_PY_RE_MATCH_SPAN_START_END      (1)

// Identity.
#define MICROPY_BANNER_MACHINE                  MICROPY_HW_BOARD_NAME " with " MICROPY_HW_MCU_NAME

// Type definitions for the specific machine.
#define MP_SSIZE_MAX                            (0x7fffffff)
#define UINT_FMT                                "%u"
#define INT_FMT                                 "%d"
typedef int mp_int_t;
typedef unsigned mp_uint_t;
typedef long mp_off_t;

#define MP_STATE_PORT                           MP_STATE_VM

// K5's trap layer (native/k5arch): a task whose time is up traps at the VM's next safe point.
extern volatile uint8_t k5_preempt_pending;
void k5arch_safe_point(void);
#define MICROPY_VM_HOOK_LOOP                    if (k5_preempt_pending) { k5arch_safe_point(); }
#define MICROPY_VM_HOOK_RETURN                  if (k5_preempt_pending) { k5arch_safe_point(); }

// Waiting for an event (select.poll's timeout): the kernel's thread sleeps until the next
// interrupt (SysTick fires every millisecond); a task sleeps a tick through the kernel.
#define MICROPY_INTERNAL_WFE(TIMEOUT_MS)        do { \
        extern bool k5arch_in_task(void); \
        extern void k5arch_task_wait_event(void); \
        if (k5arch_in_task()) { \
            k5arch_task_wait_event(); \
        } else { \
            __asm volatile ("wfi"); \
        } \
    } while (0)

// The REPL UART's receive ring buffer (filled by its interrupt handler): room for a whole
// raw-paste window (MICROPY_REPL_STDIN_BUFFER_MAX, 256) and half as much again.
#define MICROPY_HW_STDIN_BUFFER_LEN             (384)

// Imports go through K5's per-task namespaces (native/k5arch/namespace.c): the k5 modules the
// kernel lends, and every other module the importing task's own.
#define mp_builtin___import__ k5_import
