// K5's trap layer for the Cortex-M33: task contexts, the stack arena, entry and exit of tasks.
//
// The kernel's policy is Python (k5/); this module is mechanism only. The port calls the
// k5arch_* hooks declared at the end (boot, SysTick, faults, the VM's safe points, the GC and the
// console), and module `_k5arch` (modk5arch.c) gives the kernel its arch facade.
#ifndef K5_INCLUDED_K5ARCH_H
#define K5_INCLUDED_K5ARCH_H

#include <stdint.h>
#include <stdbool.h>
#include "py/mpstate.h"
#include "py/obj.h"
#include "k5abi.h"
#include "k5wire.h"

// At most this many task contexts exist at once (the root task included).
#define K5_MAX_CONTEXTS         (18)
// Stack size of a task when the kernel asks for none, and the smallest allowed.
#define K5_STACK_DEFAULT        (4096)
// ... and of a task with an interpreter of its own, which runs its image's loader and its
// modules' code on it too (the syscall fuzzer's puppets hit the recursion limit at 4 KB; at
// 5 KB they and make bench's backtracking regex run).
#define K5_STACK_DEFAULT_OWN    (5120)
// The least: every task starts from an image it unpacks on its stack, and of 1 KB the IPC buffer
// and the margin below left 64 bytes (every such task faulted at its start).
#define K5_STACK_MIN            (2048)
#define K5_STACK_ALIGN          (1024)
// Bytes kept below MicroPython's stack-limit check on a task stack: room for the exception frame
// of a trap (26 words with FP state) and the C code that raises RecursionError.
#define K5_STACK_MARGIN         (768)
// A task's console line is flushed at a newline or when this many bytes are buffered.
#define K5_LINE_MAX             (56)
// Console bytes written in one trap (SVC_PUTS): 5.6 ms of the NUCLEO's 115,200 baud.
#define K5_PUTS_CHUNK           (64)
#define K5_NAME_MAX             (16)
// MPU regions of a task's device windows (ARMv8-M has 8: flash, VM RAM and the stack take 3).
#define K5_WINDOW_REGIONS       (5)
#define K5_MPU_REGION_WINDOWS   (3)

// The GC heap's second area (ports/stm32l5/main.c): only the kernel and the root task allocate
// from it, so that a task holding the rest of the heap cannot keep the REPL from stopping it.
#define K5_HEAP_RESERVE         (8 * 1024)

// A task with an interpreter of its own (k5arch_context_new with a heap): the smallest heap it
// may ask for, and the most bytes of live VM state (mcu/sections.ld's .k5vm block) it saves.
#define K5_TASK_HEAP_MIN        (1024)
#define K5_VM_STATE_MAX         (1536)

// Machine code of a task (the native and viper emitters, a .mpy's native code): an area of the
// arena that the task may read and execute but never write, taken at its first commit; the
// kernel copies each piece of finished code in (k5arch_commit_exec). A task with an interpreter
// of its own gets this many bytes of it, the REPL more (MicroPython's native tests run there).
// Its MPU region is the last window's: a task with K5_WINDOW_REGIONS windows has none.
#define K5_EXEC_AREA_TASK       (4096)
#define K5_EXEC_AREA_ROOT       (16384)

// The REPL's heap grows (MICROPY_GC_SPLIT_HEAP_AUTO, SVC_HEAP): by at most K5_HEAP_AREAS areas
// of the arena (the root's free MPU regions, 5 and 6), each at most K5_HEAP_AREA_MAX bytes,
// and only while K5_ARENA_KEEP bytes of the arena stay free for tasks. An area goes back when
// a collection finds it empty, and all of them when the REPL's interpreter ends.
#define K5_HEAP_AREAS           (2)
#define K5_HEAP_AREA_MAX        (32768)
#define K5_ARENA_KEEP           (32768)

// Trap codes that only the exit path produces (beyond the SVC numbers of k5abi.h).
#define K5_TRAP_HW_FAULT        (0x80)

// Kernel-private RAM (.k5kernel, mcu/sections.ld): no task maps it.
#define K5_KERNEL_DATA __attribute__((section(".k5kernel")))

// Words of extmod/modrandom.c's static state (placed in one block by mcu/sections.ld).
#define K5_RANDOM_WORDS         (4)

// A context's share of the VM's global state (namespace.c): what swap_in/swap_out exchange with
// the VM's around every entry, so that no two tasks share a module table.
typedef struct _k5_ns_t {
    mp_map_t modules;           // sys.modules
    struct _mp_obj_dict_t *builtins; // builtins overrides (NULL: none yet)
    mp_obj_t path;              // sys.path
    mp_obj_base_t *exception;   // sys.exc_info()
    struct _mp_vfs_mount_t *vfs_mounts; // the mounted filesystems (the root's: the flash)
    struct _mp_vfs_mount_t *vfs_cur;    // the current directory's filesystem
    mp_uint_t optimise;         // micropython.opt_level()
    mp_obj_t asyncio_context;   // extmod/modasyncio.c's core context
    uint32_t random[K5_RANDOM_WORDS]; // extmod/modrandom.c's generator (seeded on first import)
} k5_ns_t;

typedef enum {
    K5_CTX_FREE = 0,    // slot unused
    K5_CTX_FRESH,       // stack built, never entered (starts at its entry on first run)
    K5_CTX_STARTED,     // has run; resumes where it trapped
    K5_CTX_FINISHED,    // body returned or exited: never entered again
    K5_CTX_FAULTED,     // body raised or the task took a hardware fault: never entered again
} k5_ctx_state_t;

// The saved state of one task. Lives in kernel-private RAM (.k5kernel), which tasks cannot map.
// The first fields are used by trap.c's assembly: keep their offsets in step with K5_CTX_*.
typedef struct _k5_ctx_t {
    uint32_t psp;               // 0: the task's stack pointer at its last trap
    uint32_t exc_return;        // 4: the EXC_RETURN that resumes it (FType tells if FP is saved)
    uint32_t r4_r11[8];         // 8: callee-saved core registers
    uint32_t s16_s31[16];       // 40: callee-saved FP registers (valid when FType == 0)
    uint32_t stack_base;        // 104: PSPLIM and the MPU region's base
    // Below: used from C only.
    uint32_t windows[K5_WINDOW_REGIONS][2]; // RBAR, RLAR of MPU regions 3.. (RLAR 0: unused)
    uint32_t stack_top;         // the stack's top (its IPC buffer is the last bytes below it)
    uint32_t block_top;         // the top of its memory block (the MPU region, the arena)
    uint32_t heap_base;         // its own interpreter's heap [heap_base, block_top), its saved
                                // VM state just below; 0: it runs in the kernel's interpreter
    uint32_t exec_base;         // its machine code's area in the arena (0: none yet), its size,
    uint32_t exec_size;         // the bytes of it reserved so far, and the piece reserved and
    uint32_t exec_used;         // not yet committed (0: none)
    uint32_t exec_pending;
    uint32_t exec_pending_len;
    uint32_t areas[K5_HEAP_AREAS][2]; // the root's added heap areas: [base, top) (top 0: none)
    uint8_t state;              // k5_ctx_state_t
    uint8_t line_len;
    uint8_t fault_class;        // K5_FAULT_CLASS_*
    uint8_t has_result;
    uint8_t fault_valid;        // bit 0: fault_addr is valid; bit 1: fault_pc is valid
    uint8_t log_named;          // its name went out before its first log record (log.c)
    uint16_t owner;             // the Arch that created it (Arch.close frees its contexts)
    uint32_t fault_cfsr;
    uint32_t fault_addr;        // MMFAR or BFAR when valid, else 0; a Python fault: its text
    uint32_t fault_pc;          // stacked PC, or 0 when no frame was stacked (STKOF); a Python
                                // fault: its text's length (the text is on the task's stack)
    uint32_t cpu_ticks;         // SysTick ticks taken while this task was running
    uint32_t traps;             // traps taken (all kinds)
    uint32_t serial;            // unique per allocation: a stale handle never reaches a new task
    mp_state_thread_t thread;   // the task's share of MicroPython's per-thread state
    // Python objects the kernel handed over (GC roots, scanned by k5arch_gc_roots).
    mp_obj_t entry;
    mp_obj_t arg;
    mp_obj_t result;            // pending result, written into r0 on resume
    mp_obj_t decoded;           // the kernel's copy of its last request of plain words (wire.c)
    uint32_t request_addr;      // the last syscall's wire bytes (on the task's stack)
    uint32_t request_len;
    uint32_t lease_addr;        // the buffer it lends with its call in progress (k5/lease.py),
    uint32_t lease_len;         // checked when lent; 0: none (it ends when the task next runs),
    uint32_t lease_rights;      // and the rights it lends it with (K5_RIGHT_READ, _WRITE)
    char name[K5_NAME_MAX];
    char line[K5_LINE_MAX];
} k5_ctx_t;

#define K5_CTX_PSP          (0)
#define K5_CTX_EXC_RETURN   (4)
#define K5_CTX_R4           (8)
#define K5_CTX_S16          (40)
#define K5_CTX_STACK_BASE   (104)

// --- State shared between the kernel thread, trap.c's handlers and SysTick ---------------------
extern k5_ctx_t *volatile k5_current;       // the context being entered / running
extern volatile uint32_t k5_task_running;   // 1 from task entry to trap exit
extern volatile uint32_t k5_deadline;       // systick_ms value at which the running task is due
// Set by SysTick when the running task is due; read at the VM's safe points (tasks may read it).
extern volatile uint8_t k5_preempt_pending;
// CPU ticks of the running task (tasks may read it: _k5arch.spin counts with it).
extern volatile uint32_t k5_user_cpu;
// The running task's device windows as the raw-memory gate (k5arch_mem_addr) sees them: pairs of
// (base | rights, limit), limit 0 when unused; k5_user_raw is 1 while the root task runs (it
// reaches every address the MPU lets it). Tasks read these (the gate runs in the task).
extern uint32_t k5_user_view[K5_WINDOW_REGIONS * 2];
extern uint8_t k5_user_raw;
// 1 in a task that runs an interpreter of its own (k5_task_start_own). It lies in the live VM
// state (mcu/sections.ld's .k5vm block), so every interpreter has its own: only that
// interpreter's code reads it (its imports, its collections), and the kernel never trusts it.
extern uint8_t k5_vm_own;
// The live VM state every interpreter swaps in and out as one block (mcu/sections.ld), and the
// end of what a task with an interpreter of its own maps of the VM's RAM (1 KB aligned).
extern uint32_t _k5_vm_start[], _k5_vm_end[], _k5_vm_map_end[];

// --- trap.c ------------------------------------------------------------------------------------
// Enter k5_current unprivileged on its stack; returns the trap code when it leaves.
// Contract: privileged thread mode (the kernel's thread), on the main stack.
uint32_t k5_enter(void);
// Traps a task makes (unprivileged thread mode).
mp_obj_t k5_svc_syscall(const uint8_t *request, size_t len); // the wire's bytes
void k5_svc_preempt(void);
NORETURN void k5_svc_exit(void);
NORETURN void k5_svc_fault(const char *text, size_t len);
int k5_svc_puts(const char *text, size_t len);
uint32_t k5_svc_clock(void);
void k5_svc_collect(void);
int k5_svc_getc(uint32_t peek);
int k5_svc_machine(uint32_t op, uint32_t arg);
int k5_svc_log(const uint8_t *body, size_t len);
int k5_svc_image(uint8_t *buf, size_t len);
uint32_t k5_svc_exec(uint32_t buf, size_t len);
uint32_t k5_svc_heap(uint32_t op, uint32_t arg);
// MP_PLAT_COMMIT_EXEC (mpconfigport.h): finished machine code into the task's execute-only area.
void *k5arch_commit_exec(void *code, size_t len, void *reloc);

// --- k5arch.c: hooks for the port --------------------------------------------------------------
// The interrupt character the console's receive interrupt compares with (handler mode).
int k5arch_interrupt_char(void);
void k5arch_boot(void);              // once at start-up: the MPU's fixed regions
void k5arch_reset(void);             // at each (soft) reset: forget every context
void k5arch_tick(void);              // SysTick, handler mode
void k5arch_safe_point(void);        // MICROPY_VM_HOOK_LOOP when k5_preempt_pending is set
void k5arch_gc_roots(void);          // from gc_collect(): every task's stack and saved state
bool k5arch_in_task(void);           // unprivileged thread mode: a task is calling
bool k5arch_root_rights(void);       // the kernel's thread or the root task is calling
void k5arch_keyboard_interrupt(void); // Ctrl-C, handler mode: to the root task (the REPL)
void k5arch_console_input(void);      // any received character, handler mode
void k5arch_fault_inject(uint32_t count); // MACHINE_FAULT_INJECT (emulated board only)
void k5_pendsv_entry(void);          // PendSV: preemption anywhere, the injected fault
// Contract: PendSV only, when it interrupted a running task: 0 (nothing to do), K5_SVC_PREEMPT
// (the task is due: it leaves as if it trapped there) or K5_TRAP_HW_FAULT (an injected fault).
uint32_t k5arch_pendsv_reason(void);
// The task was just entered: leave at once if already due (trap.c, handler mode).
void k5arch_entered(void);
// A task's blocking sleep and console input (traps; unprivileged thread mode).
void k5arch_task_sleep_ms(mp_uint_t ms);
int k5arch_task_getc(void);
void k5arch_task_sleep_us(mp_uint_t us);
bool k5arch_task_input_ready(void); // the root: console input is waiting (select.poll on stdin)
void k5arch_task_wait_event(void);   // a task waiting in C for an event: one tick, yielding the CPU
// Contract: handler mode only, from the fault trampoline, when a task took the fault.
void k5arch_record_fault(uint32_t kind, uint32_t *frame, uint32_t exc_return);
// What the root task asks of the machine (K5_MACHINE_*), in the port (modmachine.c).
// Contract: the kernel's thread, on behalf of the root task only.
int k5_port_machine_op(uint32_t op, uint32_t arg);

// --- k5arch.c: the mechanisms behind module _k5arch --------------------------------------------
// heap_size 0: the task runs in the kernel's interpreter; else it gets one of its own on a heap
// of that size in its memory block, and entry is its image (bytes, k5/image.py).
k5_ctx_t *k5arch_context_new(mp_obj_t entry, mp_obj_t arg, size_t stack_size,
    size_t heap_size, const char *name, uint32_t owner);
void k5arch_close_owner(uint32_t owner);
void k5arch_context_reset(k5_ctx_t *ctx, mp_obj_t entry, mp_obj_t arg);
uint8_t *k5arch_ipc_raw(k5_ctx_t *ctx);
void k5arch_context_free(k5_ctx_t *ctx);
void k5arch_make_root(k5_ctx_t *ctx);
k5_ctx_t *k5arch_root(void);
// MICROPY_GC_SPLIT_HEAP_AUTO's hooks (mpconfigport.h): only the root's interpreter grows.
void *k5arch_heap_area_alloc(size_t size);
void k5arch_heap_area_free(void *area);
// The kernel's heap keeps its reserve (its second area) even when a collection finds it empty.
void k5arch_pin_reserve(void);
void k5arch_keep_areas(void); // from gc_collect(), between marking and sweeping
size_t k5arch_heap_size(const k5_ctx_t *ctx); // its own heap's bytes, added areas included
// The root task's body, in C (the port's: MicroPython's REPL). The only function a context
// starts from (every other task starts from an image).
extern const mp_obj_fun_builtin_fixed_t k5_root_body_obj;
uint32_t k5arch_take_interrupts(void);
// Hardware interrupt lines (IRQ caps): the kernel unmasks a line it delivers; the line masks
// itself when it fires, and irq_take() names it once.
bool k5arch_irq_valid(mp_int_t line);
void k5arch_irq_mask(uint32_t line);
void k5arch_irq_unmask(uint32_t line);
mp_int_t k5arch_irq_take(void);
// Contract: handler mode only, from k5_irq_entry (trap.c); false if the kernel owns no such line.
bool k5arch_irq_fired(void);
void k5_irq_entry(void);
// Device windows: the device memory a window may cover, and a context's windows.
#define K5_DEVICE_BASE          (0x40000000u)
#define K5_DEVICE_LIMIT         (0x60000000u)
// Device memory the kernel keeps for itself (the console, its clock, ...): [low, high).
typedef struct _k5_kept_range_t {
    uint32_t low;
    uint32_t high;
    const char *what;
} k5_kept_range_t;
size_t k5arch_kept_count(void);
const k5_kept_range_t *k5arch_kept(size_t i);
// What [base, limit) overlaps of the kept ranges, or NULL.
const char *k5arch_kept_overlap(uint32_t base, uint32_t limit);
void k5arch_set_windows(k5_ctx_t *ctx, const uint32_t rbar_rlar[][2], size_t count);
// machine.mem8/16/32 (MICROPY_MACHINE_MEM_GET_READ/WRITE_ADDR): a task may reach only its
// device windows, with their rights; the root task and the kernel reach any address.
uintptr_t k5arch_mem_read_addr(mp_obj_t addr, uint align);
uintptr_t k5arch_mem_write_addr(mp_obj_t addr, uint align);
mp_int_t k5arch_run(k5_ctx_t *ctx, k5_ns_t *ns, mp_int_t limit);
uint32_t k5arch_now(void);
void k5arch_idle(uint32_t until);
size_t k5arch_arena_free(void);
size_t k5arch_arena_size(void);
uint32_t k5arch_main_stack_used(void);
uint32_t k5arch_stack_used(k5_ctx_t *ctx);
// The walker: words of a task's block (stack, saved VM state, heap) that point into the
// kernel's heap, and into another context's block. Contract: the kernel's thread (ctx stopped).
void k5arch_foreign_words(k5_ctx_t *ctx, uint32_t *kernel, uint32_t *other);

// --- log.c: compact log records --------------------------------------------------------------
// Contract: the kernel's thread (k5log_serve for SVC_LOG; events from the fault and restart
// paths of modk5arch.c).
void k5log_serve(k5_ctx_t *ctx, uint32_t index, const uint8_t *body, size_t len);
bool k5log_fits(k5_ctx_t *ctx, size_t len); // k5log_serve's frames have room now
void k5log_event(k5_ctx_t *ctx, uint32_t format, const char *text);
void k5log_events(bool on);
int k5log_rtt(bool on);           // MACHINE_LOG_RTT: 0, or -1 when no memory for the buffer
void k5log_reset(void);
void k5arch_log_unname(void);  // k5arch.c: every context sends its name frame again
uint32_t k5log_fault_format(void);
uint32_t k5log_restart_format(void);
uint32_t k5arch_context_index(k5_ctx_t *ctx);
MP_DECLARE_CONST_FUN_OBJ_3(k5log_obj);

// --- namespace.c: per-task namespaces ----------------------------------------------------------
// Contract: init and the swaps run on the kernel's thread.
void k5ns_init(k5_ns_t *ns, bool root);
void k5ns_swap_in(k5_ns_t *ns);
void k5ns_swap_out(k5_ns_t *ns);

// The layout of MicroPython's closure object (py/objclosure.c keeps it and its type private).
extern const mp_obj_type_t mp_type_closure;
typedef struct _k5_closure_t {
    mp_obj_base_t base;
    mp_obj_t fun;
    size_t n_closed;
    mp_obj_t closed[];
} k5_closure_t;

// --- code.c: a function's parts, for a task's image (k5/image.py), in the caller's time ------
// fun_parts(f) -> (function, defaults, keyword defaults, cells' values): each None when absent.
// make_fun(code, globals, defaults, keyword defaults, cells' values): the function again.
// code_names(f) -> the global names f's code (and its nested code) uses, a tuple of str.
extern const mp_obj_fun_builtin_fixed_t k5code_fun_parts_obj;
extern const mp_obj_fun_builtin_fixed_t k5code_names_obj;
extern const mp_obj_fun_builtin_var_t k5code_make_fun_obj;
mp_obj_t k5code_loads(const uint8_t *data, size_t len); // marshal.loads of raw bytes

// --- image.c: a task's image (k5/image.py's format), unpacked in the task, in its time ------
// (body, arg) of the image's bytes, made in the running interpreter: ValueError if damaged.
void k5image_unpack(const uint8_t *data, size_t len, mp_obj_t *body, mp_obj_t *arg);

// --- code.c: bytecode compiled at run time, and module marshal on it -----------------------------
// Contract: in the caller's own time and heap (a task's, the REPL's, the kernel's).
// One unit of bytecode: its heap block, and its table of children (nested code) if any.
typedef struct _k5code_unit_t {
    const uint8_t *code;
    size_t size;                    // the block's bytes (the instructions and zero padding)
    const void *const *children;    // mp_proto_fun_t entries
    size_t n_children;              // the child table's room
} k5code_unit_t;
#define K5CODE_PRELUDE_NAME (0)     // on_arg's op for a name of the prelude (MP_BC_BASE_RESERVED)
typedef void (*k5code_fn_t)(void *env, uint8_t op, size_t arg);
bool k5code_unit(const void *proto_fun, k5code_unit_t *unit);
bool k5code_unit_of(const uint8_t *code, const void *const *children, k5code_unit_t *unit);
size_t k5code_walk(const k5code_unit_t *unit, k5code_fn_t on_arg, void *env);
bool k5code_is_make_function(uint8_t op);
struct _mp_module_constants_t;
void k5code_tables(const struct _mp_module_constants_t *consts, size_t *n_qstrs, size_t *n_objs);

// --- ipcbuf.c: the IPC buffer in raw memory (the top of each context's stack block) ------------
#define K5_IPC_BUFFER_SIZE ((8 + K5_MSG_MAX_WORDS) * 4 + K5_MSG_MAX_BYTES)
extern const mp_obj_type_t k5_ipcbuf_type;
void k5_ipcbuf_clear(uint8_t *raw);
mp_obj_t k5_ipcbuf_new(uint8_t *raw);  // a view of it, from the caller's heap
void k5_ipcbuf_put(mp_obj_t ipc, mp_int_t label, mp_int_t badge, size_t count,
    const mp_obj_t *words);

// --- modk5arch.c, user.c: what tasks call -------------------------------------------------------
// syscall(sysno, *args) (args[0] is the number): the request's bytes on this stack, then the
// trap; the kernel's result. trap(request) and spin(ticks) are also k5's user API.
mp_obj_t k5arch_syscall(size_t n_args, const mp_obj_t *args);
extern const mp_obj_fun_builtin_fixed_t k5arch_trap_obj;
extern const mp_obj_fun_builtin_fixed_t k5arch_spin_obj;

// --- wire.c: the syscall wire (k5/wire.py) ----------------------------------------------------
// The task's side (unprivileged): a request's bytes into buf (K5_WIRE_MAX bytes); their length.
size_t k5wire_encode(uint8_t *buf, mp_obj_t request);
size_t k5wire_encode_args(uint8_t *buf, size_t n, const mp_obj_t *args); // the tuple of args
size_t k5wire_encode_pair(uint8_t *buf, mp_int_t first, mp_int_t second);
// The kernel's side: the request the task's bytes at [addr, addr + len) encode, built from the
// kernel's own objects, or MP_OBJ_NULL when they do not decode. May raise MemoryError only.
// Contract: the kernel's thread, while ctx is stopped in its trap.
mp_obj_t k5wire_decode(k5_ctx_t *ctx, uint32_t addr, uint32_t len);
extern const mp_obj_base_t k5wire_foreign_obj;
void k5wire_reset(void); // at each (soft) reset: the scratch tuples were in the old heap
// The builder's answers: the kernel writes one of its values into the root's buffer [buf,
// buf + len) (its length in the first K5_ANSWER_HEAD bytes, then its bytes when they fit) and
// gets that length, or -1 for a value no answer carries; the root reads it back into objects
// of its own (ValueError when the bytes do not decode).
#define K5_ANSWER_HEAD (4)
mp_int_t k5wire_write_answer(uint8_t *buf, size_t len, mp_obj_t value);
mp_obj_t k5wire_read_answer(const uint8_t *buf, size_t len);
// What a task may name in a trap (k5arch.c): memory it may read (flash, the VM's RAM, its own
// stack), memory it may write (the VM's RAM, its own stack), its own stack.
bool k5arch_context_valid(const k5_ctx_t *ctx);
bool k5arch_task_may_read(k5_ctx_t *ctx, uint32_t addr, uint32_t len);
bool k5arch_task_may_write(k5_ctx_t *ctx, uint32_t addr, uint32_t len);
bool k5arch_task_stack_holds(k5_ctx_t *ctx, uint32_t addr, uint32_t len);

// The IPC fast path in C (fastpath.c) and the result setter it shares with Arch.set_result.
mp_obj_t k5arch_native_fast_path(mp_obj_t py_call, mp_obj_t py_reply_recv, mp_obj_t kinds);
void k5arch_set_result_obj(mp_obj_t ctx_obj, mp_obj_t value);

#endif // K5_INCLUDED_K5ARCH_H
