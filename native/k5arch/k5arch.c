// Task contexts, the stack arena, the MPU view, and the run loop behind arch.run().
//
// Why it is built this way:
// - Task state that a task must not touch (its saved registers, its MicroPython thread state,
//   the objects the kernel handed it, its console line) lives in .k5kernel, outside every region
//   a task maps. Task stacks live in an arena of their own, outside the GC heap (every task may
//   write the heap, so a stack there would be every task's to corrupt); each task maps only its
//   own stack.
// - Per-task VM state is MicroPython's `mp_state_thread_t` (stack bounds, NLR chain, GC lock
//   depth, pending exception, locals/globals), copied in and out of `mp_state_ctx.thread` around
//   every entry. MicroPython's thread seam (MICROPY_PY_THREAD) would make every MP_STATE_THREAD
//   access an indirection and bring the `_thread` module and the GC and qstr mutexes with it; a
//   task here is only ever switched at a trap, so one 40-byte copy each way is simpler and
//   cheaper (docs/port.md gives the numbers).
// - The run loop serves the traps that are mechanism only (console output, the microsecond
//   clock, garbage collection, console input) in C and resumes the task without returning to the
//   Python kernel; every other trap returns its code to the kernel.
// - The root task (the REPL) is a task like any other, with three differences that are all
//   mechanism: its console output is raw (no name, no line buffering: the REPL's protocols pass
//   through), it alone may make SVC_MACHINE (reset, power-off), and it maps the peripherals
//   (0x40000000..0x5fffffff) so that `machine.mem32` works on devices as on other boards. When
//   it has no console input it blocks on the console notification: the receive interrupt raises
//   interrupt line IRQ_CONSOLE, which the kernel turns into a signal (arch.interrupts()).
// - Preemption happens at the VM's safe points: SysTick sets k5_preempt_pending when the running
//   task's time limit has passed, and the VM's loop hook (MICROPY_VM_HOOK_LOOP) makes the task
//   trap with SVC_PREEMPT. The heap and the VM are consistent there. A task inside a long call
//   in C reaches no safe point until that call returns.
#include <string.h>
#include "py/gc.h"
#include "py/mphal.h"
#include "py/objfun.h"
#include "py/objstr.h"
#include "py/runtime.h"
#include "py/persistentcode.h"
#include "py/stackctrl.h"
#include "shared/readline/readline.h"
#include "shared/runtime/pyexec.h"
#include "mcu/cortex_m33.h"
#include "uart.h"
#include "k5arch.h"
#include "k5kept.h"
#include "k5log.h"
#include "k5ticks.h"

extern uint32_t _sarena, _earena, _k5_flash_start, _k5_flash_end, _k5_vmram_start, _evmram;
extern uint32_t _sstack, _estack, _k5_fs_start, _k5_fs_end, _heap_start;
void k5_task_start_image(size_t image_len, uint8_t *ipc);
void k5_task_start_own(size_t image_len, uint8_t *ipc, uint32_t heap_base, uint32_t heap_top,
    uint32_t stack_base);
void k5_task_start_root(mp_obj_t entry, uint8_t *ipc, uint32_t heap_base, uint32_t heap_top,
    uint32_t stack_base, uint32_t mode);

#define STACK_FILL (0xa5a5a5a5u)

K5_KERNEL_DATA static k5_ctx_t contexts[K5_MAX_CONTEXTS];
K5_KERNEL_DATA static mp_state_thread_t kernel_thread;
// The kernel's live VM state while a task with an interpreter of its own runs.
K5_KERNEL_DATA static uint32_t kernel_vm[K5_VM_STATE_MAX / 4];
K5_KERNEL_DATA k5_ctx_t *volatile k5_current;
K5_KERNEL_DATA volatile uint32_t k5_task_running;
K5_KERNEL_DATA volatile uint32_t k5_deadline;
// The root task's context (NULL until the kernel names one).
K5_KERNEL_DATA static k5_ctx_t *root_ctx;
// Interrupt lines raised and not yet taken by the kernel (bit n = line n, K5_IRQ_*).
K5_KERNEL_DATA static volatile uint32_t irq_pending;
// The root task found no console input and is about to wait for it: the next character raises
// IRQ_CONSOLE (only then, so that a stream of input costs no kernel entry per character).
K5_KERNEL_DATA static volatile uint8_t console_waiting;
// The context whose regions the MPU holds (swap_in reprograms it only for another one).
K5_KERNEL_DATA static k5_ctx_t *mpu_ctx;
// The console's interrupt character as the receive interrupt sees it while the root is not
// running: the root's own (pyexec sets mp_interrupt_char around each execution), taken from
// the VM's RAM when the root leaves and put back when it enters, so that what another task
// writes there reaches neither the interrupt nor the root.
K5_KERNEL_DATA static int root_interrupt_char;
// The REPL's mode (raw or friendly) as the last root left it: the next root starts in it, as
// MicroPython's REPL does after a soft reset (mpremote's soft reset from the raw REPL expects the
// raw REPL back). Taken from the live state at each of the root's exits; not cleared by
// k5arch_reset.
K5_KERNEL_DATA static uint8_t root_mode;
// Ctrl-C came while the root was not running: the kernel raises it in the root at its next
// entry (swap_in, once the root's VM state is the live one).
K5_KERNEL_DATA static volatile uint8_t root_break;

// Hardware interrupt lines the kernel delivers (unmasked at least once since the reset), and
// those that fired and were not yet taken (bit n of word n / 32 = line n).
#define IRQ_WORDS ((K5_BOARD_NUM_IRQS + 31) / 32)
K5_KERNEL_DATA static uint32_t irq_owned[IRQ_WORDS];
K5_KERNEL_DATA static volatile uint32_t irq_fired[IRQ_WORDS];

#if K5_BOARD_ATTACK_MODULE
// Fault injection (MACHINE_FAULT_INJECT): faults left to inject, ticks to the next one.
K5_KERNEL_DATA static volatile uint32_t inject_left;
K5_KERNEL_DATA static volatile uint32_t inject_wait;
K5_KERNEL_DATA static uint32_t inject_seed; // .k5kernel is zeroed at reset
K5_KERNEL_DATA static uint32_t inject_base;
#endif

// Read by tasks (safe points, _k5arch.spin, the raw-memory gate): in the VM's RAM.
volatile uint8_t k5_preempt_pending;
volatile uint32_t k5_user_cpu;
uint32_t k5_user_view[K5_WINDOW_REGIONS * 2];
uint8_t k5_user_raw;
__attribute__((section(".bss.k5_vm_own"))) uint8_t k5_vm_own;

// Bytes of live VM state (the .k5vm block) and the room a context saves them in, below its heap.
static size_t vm_size(void) {
    return (uint8_t *)_k5_vm_end - (uint8_t *)_k5_vm_start;
}

static size_t vm_room(void) {
    return (vm_size() + 31) & ~31u;
}

static uint8_t *vm_saved(k5_ctx_t *ctx) {
    return (uint8_t *)(ctx->heap_base - vm_room());
}

// --- MPU ----------------------------------------------------------------------------------------
// Region 0: code and read-only data, read/execute for all. Region 1: the VM's RAM (.data, .bss,
// the GC heap), read/write, execute-never. Region 2: the running task's stack, read/write,
// execute-never. Regions 3 and 4, for the root task only: the peripherals and the filesystem's
// flash area (mcu/flash.h), read/write, execute-never.
// Regions 3..7 of any other task: its device windows (k5arch_set_windows). The kernel uses the default map (PRIVDEFENA) for
// everything else: arena, kernel data, main stack, peripherals. The private peripheral bus
// (SCB, NVIC, SysTick, MPU) is privileged-only by architecture, whatever the MPU says.
#define MPU_REGION_CODE  (0)
#define MPU_REGION_VMRAM (1)
#define MPU_REGION_STACK (2)
#define MPU_REGION_PERIPH (3)
#define MPU_REGION_FS    (4)
#define MPU_REGION_EXEC  (K5_MPU_REGION_WINDOWS + K5_WINDOW_REGIONS - 1)
#define MPU_ATTR_NORMAL  (0)    // MAIR attribute index: normal memory, write-back
#define MPU_ATTR_DEVICE  (1)    // MAIR attribute index: device memory, nGnRE
#define MPU_AP_RW_ANY    (1)
#define MPU_AP_RO_ANY    (3)

// The MPU's task regions no longer match a live context (it was freed, or its regions change):
// the next entry reloads them. Region 7 goes at once: a machine-code area is read-only for the
// kernel too, and the arena under it may be written for a new context before that entry.
// Contract: the kernel's thread.
static void mpu_forget(void) {
    mpu_ctx = NULL;
    MPU->RNR = MPU_REGION_EXEC;
    MPU->RLAR = 0;
    __DSB();
    __ISB();
}

static void mpu_set(uint32_t region, uint32_t base, uint32_t limit, uint32_t ap, uint32_t xn) {
    MPU->RNR = region;
    MPU->RBAR = (base & MPU_RBAR_BASE_Msk) | (ap << MPU_RBAR_AP_Pos) | (xn << MPU_RBAR_XN_Pos);
    MPU->RLAR = ((limit - 1) & MPU_RLAR_LIMIT_Msk) | (MPU_ATTR_NORMAL << MPU_RLAR_AttrIndx_Pos)
        | MPU_RLAR_EN_Msk;
}

// The main stack below the boot's own frames is filled with STACK_FILL, so that
// k5arch_main_stack_used() can tell how deep the kernel ever went.
void k5arch_boot(void) {
    uint32_t sp = __get_MSP();
    for (uint32_t *word = &_sstack; (uint32_t)word < sp - 64; word++) {
        *word = STACK_FILL;
    }
    MPU->CTRL = 0;
    MPU->MAIR0 = 0x04ff; // attribute 0: normal memory, inner and outer write-back; 1: device
    mpu_set(MPU_REGION_CODE, (uint32_t)&_k5_flash_start, (uint32_t)&_k5_flash_end,
        MPU_AP_RO_ANY, 0);
    mpu_set(MPU_REGION_VMRAM, (uint32_t)&_k5_vmram_start, (uint32_t)&_evmram, MPU_AP_RW_ANY, 1);
    for (uint32_t region = MPU_REGION_STACK; region < 8; region++) {
        MPU->RNR = region;
        MPU->RLAR = 0;
    }
    MPU->CTRL = MPU_CTRL_PRIVDEFENA_Msk | MPU_CTRL_ENABLE_Msk;
    __DSB();
    __ISB();
    // Lazy FP stacking off: an extended frame always holds the FP registers (see trap.c).
    FPU->FPCCR = (FPU->FPCCR & ~FPU_FPCCR_LSPEN_Msk) | FPU_FPCCR_ASPEN_Msk;
    NVIC_SetPriority(SVCall_IRQn, K5_IRQ_PRIORITY_SVC);
    NVIC_SetPriority(PendSV_IRQn, K5_IRQ_PRIORITY_SVC);
}

void k5arch_reset(void) {
    k5wire_reset();
    for (uint32_t line = 0; line < K5_BOARD_NUM_IRQS; line++) {
        if (irq_owned[line / 32] & (1u << (line % 32))) {
            NVIC_DisableIRQ((IRQn_Type)line);
            NVIC_ClearPendingIRQ((IRQn_Type)line);
        }
    }
    memset(irq_owned, 0, sizeof(irq_owned));
    k5log_reset();
    memset((void *)irq_fired, 0, sizeof(irq_fired));
    memset(contexts, 0, sizeof(contexts));
    k5_current = NULL;
    k5_task_running = 0;
    k5_preempt_pending = 0;
    root_ctx = NULL;
    mpu_forget();
    irq_pending = 0;
    console_waiting = 0;
}

// The running task must leave: one with an interpreter of its own at once, wherever it is
// (PendSV); one in the kernel's interpreter at its next safe point, where that VM is consistent.
// Contract: handler mode, or the kernel's thread with interrupts masked.
static void preempt_running(void) {
    if (k5_current->heap_base != 0) {
        SCB->ICSR = SCB_ICSR_PENDSVSET_Msk;
    } else {
        k5_preempt_pending = 1;
    }
}

// The task was just entered (k5_enter_task, k5_task_running set): one already due (its
// deadline passed, or an interrupt line waits) leaves at once, a task with an interpreter of its
// own through PendSV as soon as the entry returns to it. Asked here, not by the kernel's thread
// before the entry: a SysTick in between would see no task running and pend nothing, and the
// task would keep the CPU until the next tick. (PendSV pended in the kernel's thread is taken
// there, and does nothing.)
// Contract: handler mode (SVCall, from k5_enter_task).
void k5arch_entered(void) {
    if ((int32_t)(k5_clock_ms - k5_deadline) >= 0 || irq_pending) {
        preempt_running();
    }
}

// Contract: handler mode or the kernel's thread.
static void raise_irq(uint32_t line) {
    irq_pending |= 1u << line;
    if (k5_task_running) {
        preempt_running();
    }
}

#if K5_BOARD_ATTACK_MODULE
K5_KERNEL_DATA static volatile uint8_t inject_now;
#endif

uint32_t k5arch_pendsv_reason(void) {
    #if K5_BOARD_ATTACK_MODULE
    if (inject_now) {
        inject_now = 0;
        if (k5_current->stack_base == inject_base) {
            return K5_TRAP_HW_FAULT;
        }
    }
    #endif
    if (k5_current->heap_base != 0
        && ((int32_t)(k5_clock_ms - k5_deadline) >= 0 || irq_pending)) {
        return K5_SVC_PREEMPT;
    }
    return 0;
}

// The interrupt lines raised since the last call (the kernel signals their notifications).
uint32_t k5arch_take_interrupts(void) {
    uint32_t state = disable_irq();
    uint32_t lines = irq_pending;
    irq_pending = 0;
    enable_irq(state);
    return lines;
}

void k5arch_make_root(k5_ctx_t *ctx) {
    root_ctx = ctx;
    root_interrupt_char = mp_interrupt_char;
    root_break = 0;
}

// The interrupt character the console's receive interrupt compares with. Contract: handler mode.
int k5arch_interrupt_char(void) {
    if (root_ctx == NULL || (k5_task_running && k5_current == root_ctx)) {
        return mp_interrupt_char; // no kernel yet, or the root's state is the live one
    }
    return root_interrupt_char;
}

k5_ctx_t *k5arch_root(void) {
    return root_ctx;
}

uint32_t k5arch_context_index(k5_ctx_t *ctx) {
    return ctx - contexts;
}

// --- Hardware interrupt lines -------------------------------------------------------------------

// What the kernel keeps for itself (the board's peripherals.toml [kept.*], tools/gen_kept_h.py):
// no IRQHandler takes one of these lines, no device window overlaps one of these ranges.
static const int16_t kept_irqs[] = K5_KEPT_IRQS;
static const k5_kept_range_t kept_ranges[] = K5_KEPT_RANGES;

bool k5arch_irq_valid(mp_int_t line) {
    if (line < 0 || line >= K5_BOARD_NUM_IRQS || line == K5_BOARD_UART_IRQ) {
        return false;
    }
    for (const int16_t *kept = kept_irqs; *kept >= 0; kept++) {
        if (*kept == line) {
            return false;
        }
    }
    return true;
}

size_t k5arch_kept_count(void) {
    return K5_KEPT_RANGE_COUNT;
}

const k5_kept_range_t *k5arch_kept(size_t i) {
    return &kept_ranges[i];
}

const char *k5arch_kept_overlap(uint32_t base, uint32_t limit) {
    for (size_t i = 0; i < K5_KEPT_RANGE_COUNT; i++) {
        if (base < kept_ranges[i].high && kept_ranges[i].low < limit) {
            return kept_ranges[i].what;
        }
    }
    return NULL;
}

void k5arch_irq_mask(uint32_t line) {
    NVIC_DisableIRQ((IRQn_Type)line);
    __DSB();
    __ISB();
    irq_fired[line / 32] &= ~(1u << (line % 32));
}

// The NVIC latched the line as pending while it was masked and its device still asserted it
// (before the driver serviced the device): that stale pending state is cleared, and a device
// that still asserts its line (level) pends it again at once, so it fires if and only if the
// device wants service.
void k5arch_irq_unmask(uint32_t line) {
    irq_owned[line / 32] |= 1u << (line % 32);
    NVIC_SetPriority((IRQn_Type)line, K5_IRQ_PRIORITY_DEVICE);
    NVIC_ClearPendingIRQ((IRQn_Type)line);
    NVIC_EnableIRQ((IRQn_Type)line);
}

mp_int_t k5arch_irq_take(void) {
    uint32_t state = disable_irq();
    for (uint32_t word = 0; word < IRQ_WORDS; word++) {
        uint32_t bits = irq_fired[word];
        if (bits) {
            uint32_t bit = __builtin_ctz(bits);
            irq_fired[word] = bits & ~(1u << bit);
            enable_irq(state);
            return word * 32 + bit;
        }
    }
    enable_irq(state);
    return -1;
}

// The line that interrupted masks itself until the kernel unmasks it (after its holder acks):
// the handler signals nothing itself, it only raises IRQ_HARDWARE for the kernel.
// Contract: handler mode only, from k5_irq_entry.
bool k5arch_irq_fired(void) {
    uint32_t line = __get_IPSR() - 16;
    if (line >= K5_BOARD_NUM_IRQS || !(irq_owned[line / 32] & (1u << (line % 32)))) {
        return false; // nobody's line: k5_irq_entry reports it as an unexpected exception
    }
    NVIC_DisableIRQ((IRQn_Type)line);
    irq_fired[line / 32] |= 1u << (line % 32);
    raise_irq(K5_IRQ_HARDWARE);
    return true;
}

// --- Device windows and the raw-memory gate -----------------------------------------------------

void k5arch_set_windows(k5_ctx_t *ctx, const uint32_t rbar_rlar[][2], size_t count) {
    mpu_forget();
    memset(ctx->windows, 0, sizeof(ctx->windows));
    for (size_t i = 0; i < count && i < K5_WINDOW_REGIONS; i++) {
        ctx->windows[i][0] = rbar_rlar[i][0];
        ctx->windows[i][1] = rbar_rlar[i][1];
    }
}

static uintptr_t mem_addr(mp_obj_t addr_obj, unsigned align, int write) {
    uintptr_t addr = mp_obj_get_int_truncated(addr_obj);
    if ((addr & (align - 1)) != 0) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("address 0x%08x is not aligned to %d bytes"), (unsigned)addr, align);
    }
    if (k5arch_root_rights()) {
        return addr;
    }
    uint32_t need = write ? MPU_AP_RW_ANY : MPU_AP_RO_ANY;
    for (size_t i = 0; i < K5_WINDOW_REGIONS; i++) {
        uint32_t base = k5_user_view[2 * i] & ~31u;
        uint32_t ap = k5_user_view[2 * i] & 3u;
        uint32_t limit = k5_user_view[2 * i + 1];
        if (addr >= base && addr < limit && align <= limit - addr
            && (ap == need || ap == MPU_AP_RW_ANY)) {
            return addr;
        }
    }
    mp_raise_msg_varg(&mp_type_OSError,
        MP_ERROR_TEXT("K5: no window to %s 0x%08x"), write ? "write" : "read", (unsigned)addr);
}

uintptr_t k5arch_mem_read_addr(mp_obj_t addr, uint align) {
    return mem_addr(addr, align, 0);
}

uintptr_t k5arch_mem_write_addr(mp_obj_t addr, uint align) {
    return mem_addr(addr, align, 1);
}

// --- Hooks for the port -------------------------------------------------------------------------

bool k5arch_in_task(void) {
    return __get_IPSR() == 0 && (__get_CONTROL() & CONTROL_nPRIV_Msk);
}

bool k5arch_root_rights(void) {
    return !k5arch_in_task() || k5_user_raw;
}

// Contract: handler mode only (SysTick), after k5_clock_ms was advanced.
void k5arch_tick(void) {
    if (k5_task_running) {
        k5_ctx_t *ctx = k5_current;
        ctx->cpu_ticks += 1;
        k5_user_cpu = ctx->cpu_ticks;
        if ((int32_t)(k5_clock_ms - k5_deadline) >= 0) {
            preempt_running();
        }
        #if K5_BOARD_ATTACK_MODULE
        if (inject_left > 0 && k5_current->stack_base == inject_base && --inject_wait == 0) {
            // PendSV (the lowest priority, as SVC) runs when SysTick returns, with the task's
            // frame on its stack: it faults the task at whatever instruction it was.
            inject_seed = inject_seed * 1103515245u + 12345u;
            inject_wait = 1 + ((inject_seed >> 16) & 3);
            inject_left -= 1;
            inject_now = 1;
            SCB->ICSR = SCB_ICSR_PENDSVSET_Msk;
        }
        #endif
    }
}

#if K5_BOARD_ATTACK_MODULE
// arg: the stack base of the victim task (1 KB aligned) | the number of faults (0..1023).
void k5arch_fault_inject(uint32_t arg) {
    inject_base = arg & ~(K5_STACK_ALIGN - 1);
    inject_left = arg & (K5_STACK_ALIGN - 1);
    inject_wait = 1;
}
#endif

void k5arch_safe_point(void) {
    if (k5arch_in_task()) {
        k5_svc_preempt();
    } else {
        k5_preempt_pending = 0;
    }
}

// Contract: handler mode only (the console's receive interrupt, for every character).
void k5arch_console_input(void) {
    if (console_waiting) {
        console_waiting = 0;
        raise_irq(K5_IRQ_CONSOLE);
    }
}

// Ctrl-C belongs to the root task (the REPL): never to another task, never to the kernel.
// Contract: handler mode only (the console's receive interrupt).
void k5arch_keyboard_interrupt(void) {
    k5_ctx_t *root = root_ctx;
    if (root == NULL) {
        mp_sched_keyboard_interrupt(); // no kernel yet (or the rescue REPL)
        return;
    }
    if (k5_task_running && k5_current == root) {
        mp_sched_keyboard_interrupt(); // the root's state is the live one
    } else {
        // The live VM state may be another interpreter's (a task with its own): the kernel
        // raises it in the root when it next enters it.
        root_break = 1;
    }
    raise_irq(K5_IRQ_BREAK); // the kernel ends the root's wait, if it is in one

}

// Contract: handler mode only (see k5_task_fault in trap.c).
void k5arch_record_fault(uint32_t kind, uint32_t *frame, uint32_t exc_return) {
    k5_ctx_t *ctx = k5_current;
    uint32_t cfsr = SCB->CFSR;
    ctx->fault_class = kind;
    ctx->fault_cfsr = cfsr;
    ctx->fault_valid = 0;
    ctx->fault_addr = 0;
    ctx->fault_pc = 0;
    if (cfsr & SCB_CFSR_MMARVALID_Msk) {
        ctx->fault_addr = SCB->MMFAR;
        ctx->fault_valid |= 1;
    } else if (cfsr & SCB_CFSR_BFARVALID_Msk) {
        ctx->fault_addr = SCB->BFAR;
        ctx->fault_valid |= 1;
    }
    // A stacking error or a stack-limit overflow leaves no frame to read.
    uint32_t frame_addr = (uint32_t)frame;
    if (!(cfsr & (SCB_CFSR_STKOF_Msk | SCB_CFSR_MSTKERR_Msk | SCB_CFSR_STKERR_Msk))
        && frame_addr >= ctx->stack_base && frame_addr + 32 <= ctx->stack_top) {
        ctx->fault_pc = frame[6];
        ctx->fault_valid |= 2;
    }
    SCB->CFSR = cfsr; // write one to clear
    SCB->HFSR = SCB->HFSR;
    // An `svc` whose exception entry faulted (its stacking hit PSPLIM or memory the task may not
    // write) stays pending: taken once the kernel's thread runs again, it would look like the
    // kernel's own entry into a task. Any pending SVC is the faulted task's: it goes with it.
    SCB->SHCSR &= ~SCB_SHCSR_SVCALLPENDED_Msk;
}

// --- The stack arena ----------------------------------------------------------------------------

// The ranges of the arena a context takes: its block, its machine-code area, the root's heap
// areas ([lo, hi); hi <= lo: none).
#define CTX_RANGES (2 + K5_HEAP_AREAS)

static void ctx_range(const k5_ctx_t *c, size_t i, uint32_t *lo, uint32_t *hi) {
    if (i == 0) {
        *lo = c->stack_base;
        *hi = c->block_top;
    } else if (i == 1) {
        *lo = c->exec_base;
        *hi = c->exec_base != 0 ? c->exec_base + c->exec_size : 0;
    } else {
        *lo = c->areas[i - 2][0];
        *hi = c->areas[i - 2][1];
    }
}

// Where the first range a context takes that overlaps [base, base + size) ends; 0: none does.
static uint32_t arena_overlap(uint32_t base, uint32_t size) {
    for (size_t k = 0; k < K5_MAX_CONTEXTS; k++) {
        const k5_ctx_t *c = &contexts[k];
        if (c->state == K5_CTX_FREE) {
            continue;
        }
        for (size_t i = 0; i < CTX_RANGES; i++) {
            uint32_t lo, hi;
            ctx_range(c, i, &lo, &hi);
            if (hi > lo && lo < base + size && base < hi) {
                return hi;
            }
        }
    }
    return 0;
}

// The lowest base of `size` free bytes of the arena (0: none).
static uint32_t arena_alloc(uint32_t size) {
    uint32_t base = (uint32_t)&_sarena;
    for (uint32_t end; (end = arena_overlap(base, size)) != 0;) {
        base = end;
    }
    if (base + size > (uint32_t)&_earena) {
        return 0;
    }
    return base;
}

// The longest run of the arena no context takes.
static uint32_t arena_largest_gap(void) {
    uint32_t best = 0;
    uint32_t base = (uint32_t)&_sarena;
    while (base < (uint32_t)&_earena) {
        uint32_t end = arena_overlap(base, 1);
        if (end != 0) {
            base = end;
            continue;
        }
        uint32_t next = (uint32_t)&_earena;
        for (size_t k = 0; k < K5_MAX_CONTEXTS; k++) {
            const k5_ctx_t *c = &contexts[k];
            for (size_t i = 0; c->state != K5_CTX_FREE && i < CTX_RANGES; i++) {
                uint32_t lo, hi;
                ctx_range(c, i, &lo, &hi);
                if (hi > lo && lo > base && lo < next) {
                    next = lo;
                }
            }
        }
        if (next - base > best) {
            best = next - base;
        }
        base = next;
    }
    return best;
}

size_t k5arch_arena_size(void) {
    return (uint32_t)&_earena - (uint32_t)&_sarena;
}

size_t k5arch_arena_free(void) {
    size_t used = 0;
    for (size_t k = 0; k < K5_MAX_CONTEXTS; k++) {
        for (size_t i = 0; contexts[k].state != K5_CTX_FREE && i < CTX_RANGES; i++) {
            uint32_t lo, hi;
            ctx_range(&contexts[k], i, &lo, &hi);
            if (hi > lo) {
                used += hi - lo;
            }
        }
    }
    return k5arch_arena_size() - used;
}

// Whether [addr, addr + len) lies in one of the context's added heap areas.
static bool in_areas(const k5_ctx_t *ctx, uint32_t addr, uint32_t len) {
    for (size_t i = 0; i < K5_HEAP_AREAS; i++) {
        if (ctx->areas[i][1] != 0 && addr >= ctx->areas[i][0] && addr <= ctx->areas[i][1]
            && len <= ctx->areas[i][1] - addr) {
            return true;
        }
    }
    return false;
}

// Bytes of the context's own heap: its block's, and the root's added areas.
size_t k5arch_heap_size(const k5_ctx_t *ctx) {
    if (ctx->heap_base == 0) {
        return 0;
    }
    size_t size = ctx->block_top - ctx->heap_base;
    for (size_t i = 0; i < K5_HEAP_AREAS; i++) {
        size += ctx->areas[i][1] - ctx->areas[i][0];
    }
    return size;
}

// The most bytes one new heap area of the context may have now: the root's only, while it has
// a free region for one and the arena keeps K5_ARENA_KEEP bytes in one piece for tasks (an area
// is placed at the lowest gap that holds it: in the largest, what is left of it is still that).
static uint32_t heap_area_room(const k5_ctx_t *ctx) {
    if (ctx != root_ctx || ctx->heap_base == 0) {
        return 0;
    }
    bool slot = false;
    for (size_t i = 0; i < K5_HEAP_AREAS; i++) {
        slot |= ctx->areas[i][1] == 0;
    }
    uint32_t gap = arena_largest_gap();
    if (!slot || gap <= K5_ARENA_KEEP) {
        return 0;
    }
    uint32_t room = gap - K5_ARENA_KEEP;
    room = room < K5_HEAP_AREA_MAX ? room : K5_HEAP_AREA_MAX;
    return room & ~(K5_STACK_ALIGN - 1u);
}

// SVC_HEAP (k5/abi.py): 0, how big a new area may be; 1, a new area of `arg` bytes (its base, 0:
// refused); 2, the area at `arg` goes back (0; -1: no such area). A new area is zeroed: nothing
// of a task that held the memory before. Its region is loaded at the next entry.
static uint32_t serve_heap(k5_ctx_t *ctx, uint32_t op, uint32_t arg) {
    if (op == 0) {
        return heap_area_room(ctx);
    }
    if (op == 1) {
        // (Bounded before it is rounded: found by session 19's review, a size near 2**32 rounded
        // to 0 and passed the room check, and arena_alloc(0) answered the arena's base.)
        if (arg == 0 || arg > K5_HEAP_AREA_MAX) {
            return 0;
        }
        uint32_t size = (arg + K5_STACK_ALIGN - 1) & ~(K5_STACK_ALIGN - 1u);
        if (size > heap_area_room(ctx)) {
            return 0;
        }
        uint32_t base = arena_alloc(size);
        for (size_t i = 0; base != 0 && i < K5_HEAP_AREAS; i++) {
            if (ctx->areas[i][1] == 0) {
                memset((void *)base, 0, size);
                ctx->areas[i][0] = base;
                ctx->areas[i][1] = base + size;
                mpu_forget();
                return base;
            }
        }
        return 0;
    }
    for (size_t i = 0; op == 2 && i < K5_HEAP_AREAS; i++) {
        if (ctx->areas[i][1] != 0 && ctx->areas[i][0] == arg) {
            ctx->areas[i][0] = 0;
            ctx->areas[i][1] = 0;
            mpu_forget();
            return 0;
        }
    }
    return (uint32_t)-1;
}

// Bytes of the kernel's main stack ever used (since boot: the fill is intact below that).
uint32_t k5arch_main_stack_used(void) {
    uint32_t *word = &_sstack;
    while (word < &_estack && *word == STACK_FILL) {
        word++;
    }
    return (uint32_t)&_estack - (uint32_t)word;
}

// Bytes of the stack ever written (the fill pattern below the deepest use is intact).
uint32_t k5arch_stack_used(k5_ctx_t *ctx) {
    uint32_t *word = (uint32_t *)ctx->stack_base;
    while ((uint32_t)word < ctx->stack_top && *word == STACK_FILL) {
        word++;
    }
    return ctx->stack_top - (uint32_t)word;
}

// Every word of the block counts, conservatively as the GC scans (stale stack words and raw
// data included): for a task with an interpreter of its own, none should name memory that is
// not its own, since nothing the kernel hands it is a reference.
// The saved state's map lookup cache is bytes (indices), not words: skipped. An end pointer (its
// block's top, which is where the next block may start) is its own.
static bool owns(const k5_ctx_t *c, uint32_t value) {
    // (A block's top is its own: an end pointer, where the next block may start.)
    return (value >= c->stack_base && value <= c->block_top) || in_areas(c, value, 0);
}

void k5arch_foreign_words(k5_ctx_t *ctx, uint32_t *kernel, uint32_t *other) {
    *kernel = 0;
    *other = 0;
    const uint8_t *state = vm_saved(ctx) + ((uint8_t *)&mp_state_ctx - (uint8_t *)_k5_vm_start);
    const uint8_t *cache = state + offsetof(mp_state_ctx_t, vm.map_lookup_cache);
    const uint8_t *cache_end = cache + sizeof(mp_state_ctx.vm.map_lookup_cache);
    for (size_t r = 0; r <= K5_HEAP_AREAS; r++) {
        uint32_t lo = r == 0 ? ctx->stack_base : ctx->areas[r - 1][0];
        uint32_t hi = r == 0 ? ctx->block_top : ctx->areas[r - 1][1];
        for (const uint32_t *word = (const uint32_t *)lo; (uint32_t)word < hi; word++) {
            if ((const uint8_t *)word >= cache && (const uint8_t *)word < cache_end) {
                continue;
            }
            uint32_t value = *word;
            if (value >= (uint32_t)&_heap_start && value < (uint32_t)&_evmram) {
                *kernel += 1;
                continue;
            }
            if (value >= (uint32_t)&_sarena && value < (uint32_t)&_earena && !owns(ctx, value)) {
                for (size_t i = 0; i < K5_MAX_CONTEXTS; i++) {
                    const k5_ctx_t *c = &contexts[i];
                    if (c != ctx && c->state != K5_CTX_FREE && owns(c, value)) {
                        *other += 1;
                        break;
                    }
                }
            }
        }
    }
}

// --- Contexts -----------------------------------------------------------------------------------

_Static_assert(K5_HEAP_AREAS <= K5_WINDOW_REGIONS - 3, "the root's heap areas take regions 5, 6");

// The kernel's heap reserve keeps an object no one frees in its first two blocks, so that no
// collection finds the reserve empty: MICROPY_GC_SPLIT_HEAP_AUTO unlinks an empty area (other
// than the first) and gives it back, and the kernel's reserve must stay. Called once the
// kernel's interpreter is made (ports/stm32l5/main.c).
MP_REGISTER_ROOT_POINTER(void *k5_reserve_pin);

void k5arch_pin_reserve(void) {
    MP_STATE_MEM(gc_last_free_area) = MP_STATE_MEM(area).next;
    MP_STATE_VM(k5_reserve_pin) = gc_alloc(2 * MICROPY_BYTES_PER_GC_BLOCK, 0);
    MP_STATE_MEM(gc_last_free_area) = &MP_STATE_MEM(area);
}

K5_KERNEL_DATA static uint32_t next_serial;

k5_ctx_t *k5arch_context_new(mp_obj_t entry, mp_obj_t arg, size_t stack_size,
    size_t heap_size, const char *name, uint32_t owner) {
    // 1 KB multiples (the MPU needs 32 bytes): in QEMU, a region boundary inside one of its 1 KB
    // pages makes every access to that page slow (see mcu/sections.ld). A task with an
    // interpreter of its own has one block: its stack (the IPC buffer on top), its saved VM
    // state, its heap.
    uint32_t stack = (stack_size + K5_STACK_ALIGN - 1) & ~(K5_STACK_ALIGN - 1u);
    uint32_t size = stack;
    if (heap_size > 0) {
        size = (stack + vm_room() + heap_size + K5_STACK_ALIGN - 1) & ~(K5_STACK_ALIGN - 1u);
    }
    k5_ctx_t *ctx = NULL;
    for (size_t i = 0; i < K5_MAX_CONTEXTS; i++) {
        if (contexts[i].state == K5_CTX_FREE) {
            ctx = &contexts[i];
            break;
        }
    }
    if (ctx == NULL) {
        mp_raise_msg_varg(&mp_type_MemoryError,
            MP_ERROR_TEXT("K5: all %d task contexts are in use"), K5_MAX_CONTEXTS);
    }
    uint32_t base = arena_alloc(size);
    if (base == 0) {
        mp_raise_msg_varg(&mp_type_MemoryError,
            MP_ERROR_TEXT("K5: no %u-byte stack left in the task arena (%u of %u bytes free)"),
            (unsigned)size, (unsigned)k5arch_arena_free(), (unsigned)k5arch_arena_size());
    }
    mpu_forget();
    memset(ctx, 0, sizeof(*ctx));
    ctx->serial = ++next_serial;
    ctx->owner = owner;
    ctx->stack_base = base;
    ctx->stack_top = base + stack;
    ctx->block_top = base + size;
    ctx->heap_base = heap_size > 0 ? ctx->stack_top + vm_room() : 0;
    // Nothing of a task that held this memory before: its saved state and heap start zeroed.
    memset((void *)ctx->stack_top, 0, ctx->block_top - ctx->stack_top);
    size_t n = strlen(name);
    if (n >= K5_NAME_MAX) {
        n = K5_NAME_MAX - 1;
    }
    memcpy(ctx->name, name, n);
    ctx->name[n] = 0;
    k5arch_context_reset(ctx, entry, arg);
    return ctx;
}

// The context's IPC buffer: the top K5_IPC_BUFFER_SIZE bytes of its stack block (ipcbuf.c).
uint8_t *k5arch_ipc_raw(k5_ctx_t *ctx) {
    return (uint8_t *)(ctx->stack_top - K5_IPC_BUFFER_SIZE);
}

// Builds a fresh start: the task is entered at its start function (k5_task_start_image,
// k5_task_start_own, k5_task_start_root) on an empty stack below its (cleared) IPC buffer, with
// MicroPython's per-thread state of a new thread.
void k5arch_context_reset(k5_ctx_t *ctx, mp_obj_t entry, mp_obj_t arg) {
    // A fresh interpreter has its block's heap only: the areas the last one added go back.
    memset(ctx->areas, 0, sizeof(ctx->areas));
    mpu_forget();
    uint8_t *ipc = k5arch_ipc_raw(ctx);
    for (uint32_t *word = (uint32_t *)ctx->stack_base; (uint8_t *)word < ipc; word++) {
        *word = STACK_FILL;
    }
    k5_ipcbuf_clear(ipc);
    uint32_t *frame;
    if (ctx->heap_base != 0) {
        // k5_task_start_own(image length, ipc, heap base, heap top, stack base), or for the
        // root k5_task_start_root(its body in C, ...): the fifth argument on the stack the
        // exception return leaves (8-byte aligned), and a fresh (zeroed) VM state for it to make
        // its interpreter in.
        frame = (uint32_t *)(ipc - 40);
        if (mp_obj_is_exact_type(entry, &mp_type_bytes)) {
            frame[0] = ((mp_obj_str_t *)MP_OBJ_TO_PTR(entry))->len;
            frame[6] = (uint32_t)k5_task_start_own & ~1u;
        } else {
            frame[0] = (uint32_t)entry; // checked by the caller: a function in C, in flash
            frame[6] = (uint32_t)k5_task_start_root & ~1u;
        }
        frame[1] = (uint32_t)ipc;
        frame[2] = ctx->heap_base;
        frame[3] = ctx->block_top;
        frame[9] = root_mode; // the sixth argument of k5_task_start_root
        frame[8] = ctx->stack_base;
        memset(vm_saved(ctx), 0, vm_room());
    } else {
        // k5_task_start_image(image length, ipc): in the kernel's interpreter, from an image.
        frame = (uint32_t *)(ipc - 32);
        frame[0] = ((mp_obj_str_t *)MP_OBJ_TO_PTR(entry))->len;
        frame[1] = (uint32_t)ipc;
        frame[2] = 0;
        frame[3] = 0;
        frame[6] = (uint32_t)k5_task_start_image & ~1u;
    }
    frame[4] = 0;
    frame[5] = 0xffffffff; // lr: the start function never returns
    frame[7] = 0x01000000; // xPSR: Thumb
    ctx->psp = (uint32_t)frame;
    ctx->exc_return = 0;
    memset(ctx->r4_r11, 0, sizeof(ctx->r4_r11));
    ctx->state = K5_CTX_FRESH;
    ctx->line_len = 0;
    ctx->fault_class = 0;
    ctx->fault_valid = 0;
    ctx->fault_cfsr = 0;
    ctx->fault_addr = 0;
    ctx->fault_pc = 0;
    ctx->has_result = 0;
    ctx->entry = entry;
    ctx->arg = arg;
    ctx->request_len = 0;
    ctx->lease_len = 0;
    ctx->result = MP_OBJ_NULL;
    ctx->decoded = MP_OBJ_NULL;
    ctx->exec_used = 0; // a restart's interpreter has none of the old code (the area stays)
    ctx->exec_pending = 0;
    memset(&ctx->thread, 0, sizeof(ctx->thread));
    ctx->thread.stack_top = (char *)ipc;
    ctx->thread.stack_limit = (uint32_t)ipc - ctx->stack_base - K5_STACK_MARGIN;
    ctx->thread.dict_locals = &MP_STATE_VM(dict_main);
    ctx->thread.dict_globals = &MP_STATE_VM(dict_main);
}

// Whether ctx is one of the contexts, in use (a pointer read from the kernel's heap is checked
// with this before the kernel follows it).
bool k5arch_context_valid(const k5_ctx_t *ctx) {
    uintptr_t at = (uintptr_t)ctx - (uintptr_t)contexts;
    return (uintptr_t)ctx >= (uintptr_t)contexts && at < sizeof(contexts)
           && at % sizeof(k5_ctx_t) == 0 && ctx->state != K5_CTX_FREE;
}

void k5arch_context_free(k5_ctx_t *ctx) {
    mpu_forget(); // the slot, and its memory, may come back for another context
    if (ctx == root_ctx) {
        root_ctx = NULL; // a context made in the slot later is not the root
    }
    memset(ctx, 0, sizeof(*ctx));
}

void k5arch_close_owner(uint32_t owner) {
    for (size_t i = 0; i < K5_MAX_CONTEXTS; i++) {
        if (contexts[i].state != K5_CTX_FREE && contexts[i].owner == owner) {
            k5arch_context_free(&contexts[i]);
        }
    }
}

// --- The task's first frame (unprivileged) ----------------------------------------------------

// A task's unhandled exception becomes text here, in the task (unprivileged, in its own time,
// charged to its budget): the kernel never sees the exception object, so no method of it can run
// on the kernel's thread. At most K5_FAULT_TEXT_MAX bytes, the rest dropped.
typedef struct {
    char *buf;
    size_t len;
} fault_text_t;

static void fault_text_strn(void *env, const char *str, size_t len) {
    fault_text_t *text = env;
    size_t room = K5_FAULT_TEXT_MAX - text->len;
    if (len > room) {
        len = room;
    }
    memcpy(text->buf + text->len, str, len);
    text->len += len;
}

// "ZeroDivisionError: divide by zero": the type's name, then the text of the first argument.
// If making that text fails (its __str__ raises, it nests too deep, the heap is full), a fixed
// text follows the name instead.
static size_t fault_text_format(mp_obj_t exc, char *buf) {
    fault_text_t text = { buf, 0 };
    mp_print_t print = { &text, fault_text_strn };
    mp_printf(&print, "%q", mp_obj_get_type(exc)->name);
    size_t name_len = text.len;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t value = mp_obj_exception_get_value(exc);
        if (value != mp_const_none) {
            mp_print_str(&print, ": ");
            mp_obj_print_helper(&print, value, PRINT_STR);
        }
        nlr_pop();
    } else {
        text.len = name_len;
        mp_print_str(&print, ": (its text could not be formatted)");
    }
    return text.len;
}

// How a task's body ended: an exception other than SystemExit is its fault, as text.
static NORETURN void task_end(mp_obj_base_t *exc) {
    if (mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(exc->type), MP_OBJ_FROM_PTR(&mp_type_SystemExit))) {
        k5_svc_exit();
    }
    char buf[K5_FAULT_TEXT_MAX];
    size_t len = fault_text_format(MP_OBJ_FROM_PTR(exc), buf);
    k5_svc_fault(buf, len);
}

// Unpacks the task's image (its body's code, the globals that code uses, its arg: image.c) and
// calls body(ipc, arg), in the task. The image's bytes, copied in by the kernel, are freed once
// unpacked: nothing of them stays in the task's heap.
static void run_image(size_t image_len, uint8_t *ipc) {
    byte *image = m_new(byte, image_len);
    if (k5_svc_image(image, image_len) != (int)image_len) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("K5: the task's image is missing"));
    }
    mp_obj_t body, arg;
    k5image_unpack(image, image_len, &body, &arg);
    m_del(byte, image, image_len);
    // The body's globals are the task's __main__ (exec and eval at its top level write there),
    // never the VM's own __main__ (the REPL's, for a task in the kernel's interpreter).
    mp_obj_t fun = body;
    if (mp_obj_is_type(fun, &mp_type_closure)) {
        fun = ((const k5_closure_t *)MP_OBJ_TO_PTR(fun))->fun;
    }
    if (mp_obj_is_type(fun, &mp_type_fun_bc)) {
        mp_obj_dict_t *globals = ((const mp_obj_fun_bc_t *)MP_OBJ_TO_PTR(fun))->context->module.globals;
        mp_globals_set(globals);
        mp_locals_set(globals);
    }
    mp_call_function_2(body, k5_ipcbuf_new(ipc), arg);
}

void k5_task_start_image(size_t image_len, uint8_t *ipc) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        run_image(image_len, ipc);
        nlr_pop();
        k5_svc_exit();
    }
    task_end(nlr.ret_val);
}

// A task with an interpreter of its own starts here, unprivileged, with a zeroed VM state: it
// makes its interpreter on its own heap, takes its image into that heap, and runs it. Nothing it
// has came from the kernel's heap: the image is raw bytes the kernel copied in.
static void own_heap_init(uint8_t *ipc, uint32_t heap_base, uint32_t heap_top,
    uint32_t stack_base) {
    k5_vm_own = 1;
    mp_stack_set_top(ipc);
    mp_stack_set_limit((uint32_t)ipc - stack_base - K5_STACK_MARGIN);
    gc_init((void *)heap_base, (void *)heap_top);
}

void k5_task_start_own(size_t image_len, uint8_t *ipc, uint32_t heap_base, uint32_t heap_top,
    uint32_t stack_base) {
    own_heap_init(ipc, heap_base, heap_top, stack_base);
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_init();
        run_image(image_len, ipc);
        nlr_pop();
        k5_svc_exit();
    }
    task_end(nlr.ret_val);
}

// The root (the REPL, a function of the kernel's in C, called as entry(ipc, None)) starts here,
// unprivileged, as a task with an interpreter of its own does, on its own heap. Its files are
// closed and its other finalisers run in it, by itself, before it ends (a soft reset): the
// kernel never runs the root's objects.
void k5_task_start_root(mp_obj_t entry, uint8_t *ipc, uint32_t heap_base, uint32_t heap_top,
    uint32_t stack_base, uint32_t mode) {
    own_heap_init(ipc, heap_base, heap_top, stack_base);
    pyexec_mode_kind = mode;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_init();
        readline_init0();
        mp_call_function_2(entry, k5_ipcbuf_new(ipc), mp_const_none);
        nlr_pop();
    } else {
        mp_obj_print_exception(&mp_plat_print, MP_OBJ_FROM_PTR(nlr.ret_val));
    }
    gc_sweep_all();
    k5_svc_exit();
}

// --- What a task's HAL calls (unprivileged) ------------------------------------------------

// MICROPY_GC_SPLIT_HEAP_AUTO: an allocation found no room after a collection. Only the root's
// interpreter grows (SVC_HEAP: the kernel says how much and maps the area); the kernel's heap,
// and with it every task in the kernel's interpreter, keeps its size, as does a task with an
// interpreter of its own (it asked for its heap with heap=).
size_t gc_get_max_new_split(void) {
    if (!k5arch_in_task() || !k5_vm_own) {
        return 0;
    }
    return k5_svc_heap(0, 0);
}

void *k5arch_heap_area_alloc(size_t size) {
    if (!k5arch_in_task() || !k5_vm_own) {
        return NULL;
    }
    return (void *)k5_svc_heap(1, size);
}

// A collection found the area empty (and unlinked it): it goes back to the arena. In the
// kernel's interpreter no area is ever added, and its reserve is pinned (k5arch_pin_reserve):
// only the end of the kernel's interpreter at a soft reset frees it, and its memory is static.
// MicroPython 1.25 gives an added area back when a sweep finds its last used block to be block
// 0 (py/gc.c, gc_sweep_free_blocks), which is also so when block 0 holds a live object of one
// block and nothing after it lives: that object would go with the area. Called by gc_collect()
// between marking and sweeping: in every added area whose block 0 is such a live object, block 1
// is marked too (a garbage object kept one more collection, or a free block made a one-block
// object nothing refers to), so the sweep finds a used block after block 0 and keeps the area.
// (The allocation table's encoding, two bits a block, four blocks a byte, 3 the mark, is gc.c's.)
void k5arch_keep_areas(void) {
    for (mp_state_mem_area_t *area = MP_STATE_MEM(area).next; area != NULL; area = area->next) {
        uint8_t atb = area->gc_alloc_table_start[0];
        if ((atb & 3) == 3 && ((atb >> 2) & 3) != 2) {
            area->gc_alloc_table_start[0] = atb | (3 << 2);
            // (The sweep looks only up to the last block ever allocated.)
            if (area->gc_last_used_block < 1) {
                area->gc_last_used_block = 1;
            }
        }
    }
}

void k5arch_heap_area_free(void *area) {
    if (!k5arch_in_task() || !k5_vm_own) {
        return;
    }
    // An area given back with a live object in block 0 (k5arch_keep_areas makes that not
    // happen) would lose the object under the REPL's feet: the REPL would stop with this text
    // instead (it starts again with a fresh interpreter). Block 0's two bits: 0 is free.
    mp_state_mem_area_t *a = area;
    if ((a->gc_alloc_table_start[0] & 3) != 0) {
        // (A fault's text is on the task's stack: the kernel copies it from there only.)
        char text[] = "K5: MicroPython gave back a heap area that holds a live object (gc.c)";
        k5_svc_fault(text, sizeof(text) - 1);
    }
    k5_svc_heap(2, (uint32_t)area);
}

// MP_PLAT_COMMIT_EXEC: the native emitter (or a .mpy's loader) finished `len` bytes of machine
// code in a buffer of the heap, which is execute-never. The kernel reserves where it will run in
// the task's execute-only area; the task applies a .mpy's relocations for that address in its own
// buffer (never the kernel: they are the task's data); then the kernel copies the bytes there.
void *k5arch_commit_exec(void *code, size_t len, void *reloc) {
    if (!k5arch_in_task() || (!k5_vm_own && !k5_user_raw)) {
        mp_raise_msg(&mp_type_RuntimeError,
            MP_ERROR_TEXT("K5: machine code runs only in the REPL or a task with an interpreter "
                "of its own (spawn it with heap=)"));
    }
    uint32_t at = k5_svc_exec(0, len);
    if (at == 0) {
        mp_raise_msg_varg(&mp_type_MemoryError,
            MP_ERROR_TEXT("K5: no room for %u bytes of machine code (a task has %u, the REPL %u)"),
            (unsigned)len, K5_EXEC_AREA_TASK, K5_EXEC_AREA_ROOT);
    }
    #if MICROPY_PERSISTENT_CODE_LOAD
    if (reloc != NULL) {
        mp_native_relocate(reloc, code, at);
    }
    #endif
    if (k5_svc_exec((uint32_t)code, len) != at) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("K5: the machine code was refused"));
    }
    return (void *)at;
}

// The requests of the HAL's waits are wire bytes on the task's stack, made without the heap: so
// waiting leaves no garbage (a byte of console input used to cost 16 bytes of heap, which
// fragmented it under a script compiled as it streams in) and works with the heap locked
// (micropython.heap_lock() around asyncio's waits).
static mp_obj_t syscall_pair(mp_int_t sysno, mp_int_t arg) {
    uint8_t buf[16];
    size_t len = k5wire_encode_pair(buf, sysno, arg);
    return k5_svc_syscall(buf, len);
}

// time.sleep_ms in a task blocks it in the kernel (others run meanwhile) until the tick after
// `ms` whole ticks have passed: at least `ms` ms from a start anywhere within a tick. A signal on
// the task's bound notification ends a sleep early, and Ctrl-C any wait of the root: pending events
// are handled then, and the sleep goes on for the time left.
void k5arch_task_sleep_ms(mp_uint_t ms) {
    while (ms > 0) {
        mp_uint_t chunk = ms < K5_TIME_MAX - 1 ? ms : K5_TIME_MAX - 1; // left <= K5_TIME_MAX
        uint32_t end = systick_ms + chunk + 1;
        for (int32_t left; (left = (int32_t)(end - systick_ms)) > 0;) {
            mp_obj_t err = syscall_pair(K5_SYS_SLEEP, left);
            mp_handle_pending(true); // first: Ctrl-C ends the root's sleep with ERR_STALE
            if (err != MP_OBJ_NEW_SMALL_INT(K5_OK)) {
                mp_raise_msg_varg(&mp_type_OSError, MP_ERROR_TEXT("K5: sleep failed: error %d"),
                    (int)mp_obj_get_int(err));
            }
        }
        ms -= chunk;
    }
}

// Console input of a task: the next character. The root task waits on its console notification
// while none is there; any other task has no console input (OSError).
int k5arch_task_getc(void) {
    for (;;) {
        int c = k5_svc_getc(0);
        if (c >= 0) {
            return c;
        }
        if (c == -2) {
            syscall_pair(K5_SYS_WAIT, K5_ROOT_SLOT_CONSOLE);
            mp_handle_pending(true); // Ctrl-C while waiting (input() at the REPL)
        } else if (c == -3) {
            mp_raise_msg(&mp_type_OSError,
                MP_ERROR_TEXT("K5: console input belongs to the root task (the REPL)"));
        }
    }
}

// time.sleep_us in a task: whole milliseconds block in the kernel (others run meanwhile), the
// rest is a short busy wait that traps at its time limit like any other served trap.
void k5arch_task_sleep_us(mp_uint_t us) {
    uint32_t start = k5_svc_clock();
    if (us >= 2000) {
        k5arch_task_sleep_ms(us / 1000 - 1); // at most us / 1000 ms: less than `us` has passed
    }
    while (k5_svc_clock() - start < us) {
    }
}

bool k5arch_task_input_ready(void) {
    return k5_svc_getc(1) > 0;
}

// MicroPython waiting for an event in C (select.poll's timeout, mp_event_wait_ms) would otherwise
// run `wfi` in the task: it reaches no safe point, so it would keep the CPU from every other task
// until its timeout. A tick's sleep is a trap instead; its error is of no use (the caller checks
// its events again).
void k5arch_task_wait_event(void) {
    syscall_pair(K5_SYS_SLEEP, 1);
}

// --- Console output of tasks --------------------------------------------------------------------

static bool range_in(uint32_t start, uint32_t len, uint32_t lo, uint32_t hi) {
    return start >= lo && start <= hi && len <= hi - start;
}

// Whether [addr, addr + len) lies inside one region the task maps: what it may pass to a trap.
// (Never a device window: the kernel touches no device on a task's word.)
bool k5arch_task_may_read(k5_ctx_t *ctx, uint32_t addr, uint32_t len) {
    if (ctx->heap_base != 0) {
        return range_in(addr, len, (uint32_t)&_k5_flash_start, (uint32_t)&_k5_flash_end)
               || range_in(addr, len, ctx->stack_base, ctx->stack_top)
               || range_in(addr, len, ctx->heap_base, ctx->block_top)
               || in_areas(ctx, addr, len);
    }
    return range_in(addr, len, (uint32_t)&_k5_flash_start, (uint32_t)&_k5_flash_end)
           || range_in(addr, len, (uint32_t)&_k5_vmram_start, (uint32_t)&_evmram)
           || range_in(addr, len, ctx->stack_base, ctx->stack_top);
}

// Only the GC heap and the task's own stack: .data and .bss hold the VM's state, which is the
// kernel's own while the kernel runs (mp_state_ctx.thread: its stack bounds and exception chain,
// swap_in/swap_out), so a buffer there would have the kernel write over itself.
bool k5arch_task_may_write(k5_ctx_t *ctx, uint32_t addr, uint32_t len) {
    if (ctx->heap_base != 0) {
        return range_in(addr, len, ctx->stack_base, ctx->stack_top)
               || range_in(addr, len, ctx->heap_base, ctx->block_top)
               || in_areas(ctx, addr, len);
    }
    return range_in(addr, len, (uint32_t)&_heap_start, (uint32_t)&_evmram)
           || range_in(addr, len, ctx->stack_base, ctx->stack_top);
}

bool k5arch_task_stack_holds(k5_ctx_t *ctx, uint32_t addr, uint32_t len) {
    return range_in(addr, len, ctx->stack_base, ctx->stack_top);
}

static void line_flush(k5_ctx_t *ctx) {
    uart_tx_strn(ctx->name, strlen(ctx->name));
    uart_tx_strn(": ", 2);
    uart_tx_strn(ctx->line, ctx->line_len);
    uart_tx_strn("\r\n", 2);
    ctx->line_len = 0;
}

// A task's output, written a whole line at a time with its name in front; the root's as it is.
// A task's control bytes (but tab) become '?': raw, they would be the console's protocol, not
// text: mpremote's raw-REPL markers (0x01..0x04 end a script's output early), the START of a
// log frame (a record `k5 logs` would show as the kernel's or another task's), ESC sequences.
// At most K5_PUTS_CHUNK bytes a trap, and only what the console's transmit ring has room for
// (uart.c): the kernel copies, it never waits for the wire. It answers how many bytes it took; 0
// when the ring is full, and the task's HAL waits a tick and comes back (so the waiting is the
// task's, in its own time). Text in the live VM state block of a task with an interpreter of its
// own (an exception's message made in MicroPython's emergency buffer while its heap is locked)
// is read from the task's saved copy: when the kernel serves the trap, the live block is the
// kernel's own.
static int serve_puts(k5_ctx_t *ctx, uint32_t addr, uint32_t len) {
    if (len > K5_PUTS_CHUNK) {
        len = K5_PUTS_CHUNK;
    }
    const char *text = (const char *)addr;
    uint32_t vm_start = (uint32_t)_k5_vm_start;
    if (ctx->heap_base != 0 && range_in(addr, len, vm_start, (uint32_t)_k5_vm_end)) {
        text = (const char *)vm_saved(ctx) + (addr - vm_start);
    } else if (!k5arch_task_may_read(ctx, addr, len)) {
        return -1;
    }
    if (ctx == root_ctx) {
        return uart_tx_put(text, len);
    }
    // The most one line's flush writes: its name, ": ", a full line, "\r\n".
    size_t flush = strlen(ctx->name) + 2 + K5_LINE_MAX + 2;
    for (uint32_t i = 0; i < len; i++) {
        char c = text[i];
        bool flushes = c == '\n' || (c != '\r' && ctx->line_len == K5_LINE_MAX);
        if (flushes && uart_tx_room() < flush) {
            return i;
        }
        if (c == '\n') {
            line_flush(ctx);
        } else if (c != '\r') {
            if (ctx->line_len == K5_LINE_MAX) {
                line_flush(ctx);
            }
            if (((uint8_t)c < 0x20 && c != '\t') || c == 0x7f) {
                c = '?';
            }
            ctx->line[ctx->line_len++] = c;
        }
    }
    return len;
}

// --- The run loop -------------------------------------------------------------------------------

uint32_t k5arch_now(void) {
    return k5_clock_ms & 0x3fffffff;
}

void k5arch_idle(uint32_t until) {
    // WFI until the tick `until` (kernel ticks modulo 2**30; -1: no tick) or until an interrupt
    // line is raised.
    for (;;) {
        uint32_t state = disable_irq();
        if (irq_pending || (until != (uint32_t)-1 && (int32_t)((until - k5_clock_ms) << 2) <= 0)) {
            enable_irq(state);
            return;
        }
        // With interrupts masked, a wake-up between the test and WFI still ends the WFI.
        __WFI();
        enable_irq(state);
    }
}

static bool frame_ok(k5_ctx_t *ctx) {
    return ctx->psp >= ctx->stack_base && ctx->psp + 32 <= ctx->stack_top;
}

// The task's own regions: its stack (region 2) and, for the root, the peripherals (region 3),
// for any other task its device windows (regions 3..7); and the raw-memory gate's copy of them.
static void mpu_load(k5_ctx_t *ctx) {
    // The VM's RAM: all of it for a task in the kernel's interpreter; for one with its own, only
    // .data and .bss (its live VM state is there while it runs), never the kernel's heap.
    MPU->RNR = MPU_REGION_VMRAM;
    MPU->RLAR = (((ctx->heap_base != 0 ? (uint32_t)_k5_vm_map_end : (uint32_t)&_evmram) - 1)
        & MPU_RLAR_LIMIT_Msk) | MPU_RLAR_EN_Msk;
    MPU->RNR = MPU_REGION_STACK;
    MPU->RLAR = 0;
    MPU->RBAR = ctx->stack_base | (MPU_AP_RW_ANY << MPU_RBAR_AP_Pos) | MPU_RBAR_XN_Msk;
    MPU->RLAR = ((ctx->block_top - 1) & MPU_RLAR_LIMIT_Msk) | MPU_RLAR_EN_Msk;
    if (ctx == root_ctx) {
        MPU->RNR = MPU_REGION_PERIPH;
        MPU->RLAR = 0;
        MPU->RBAR = K5_DEVICE_BASE | (MPU_AP_RW_ANY << MPU_RBAR_AP_Pos) | MPU_RBAR_XN_Msk;
        MPU->RLAR = ((K5_DEVICE_LIMIT - 1) & MPU_RLAR_LIMIT_Msk)
            | (MPU_ATTR_DEVICE << MPU_RLAR_AttrIndx_Pos) | MPU_RLAR_EN_Msk;
        MPU->RNR = MPU_REGION_FS;
        MPU->RLAR = 0;
        MPU->RBAR = (uint32_t)&_k5_fs_start | (MPU_AP_RW_ANY << MPU_RBAR_AP_Pos) | MPU_RBAR_XN_Msk;
        MPU->RLAR = (((uint32_t)&_k5_fs_end - 1) & MPU_RLAR_LIMIT_Msk) | MPU_RLAR_EN_Msk;
        // Regions 5 and 6: its added heap areas; 7: cleared, its machine code's below.
        for (uint32_t i = 2; i < K5_WINDOW_REGIONS; i++) {
            MPU->RNR = K5_MPU_REGION_WINDOWS + i;
            MPU->RLAR = 0;
            if (i - 2 < K5_HEAP_AREAS && ctx->areas[i - 2][1] != 0) {
                MPU->RBAR = ctx->areas[i - 2][0] | (MPU_AP_RW_ANY << MPU_RBAR_AP_Pos)
                    | MPU_RBAR_XN_Msk;
                MPU->RLAR = ((ctx->areas[i - 2][1] - 1) & MPU_RLAR_LIMIT_Msk)
                    | (MPU_ATTR_NORMAL << MPU_RLAR_AttrIndx_Pos) | MPU_RLAR_EN_Msk;
            }
        }
        k5_user_raw = 1;
    } else {
        for (uint32_t i = 0; i < K5_WINDOW_REGIONS; i++) {
            uint32_t rbar = ctx->windows[i][0];
            uint32_t rlar = ctx->windows[i][1];
            // Disabled first: PMSAv8 faults on any address two regions match, and the new base
            // with the old limit could span the kernel's own regions for a moment.
            MPU->RNR = K5_MPU_REGION_WINDOWS + i;
            MPU->RLAR = 0;
            MPU->RBAR = rbar;
            MPU->RLAR = rlar;
            // The gate's copy: base | AP, and the exclusive limit (0: no window).
            k5_user_view[2 * i] = (rbar & MPU_RBAR_BASE_Msk) | ((rbar >> MPU_RBAR_AP_Pos) & 3u);
            k5_user_view[2 * i + 1] = rlar ? (rlar & MPU_RLAR_LIMIT_Msk) + 32 : 0;
        }
        k5_user_raw = 0;
    }
    // Its machine code: read and execute, never write (by anyone: the kernel unmaps it to copy).
    if (ctx->exec_base != 0 && (ctx == root_ctx || ctx->windows[K5_WINDOW_REGIONS - 1][1] == 0)) {
        MPU->RNR = MPU_REGION_EXEC;
        MPU->RLAR = 0;
        MPU->RBAR = ctx->exec_base | (MPU_AP_RO_ANY << MPU_RBAR_AP_Pos);
        MPU->RLAR = ((ctx->exec_base + ctx->exec_size - 1) & MPU_RLAR_LIMIT_Msk)
            | (MPU_ATTR_NORMAL << MPU_RLAR_AttrIndx_Pos) | MPU_RLAR_EN_Msk;
    }
}

// The GC's tuning (gc.enable/disable, gc.threshold) of the kernel's interpreter, shared by every
// task in it: what such a task sets lasts until its next trap, then the kernel's setting is back.
K5_KERNEL_DATA static uint16_t gc_auto_saved;
K5_KERNEL_DATA static size_t gc_threshold_saved;
// The heap's reserve (its second area) while a task in the kernel's interpreter runs: unlinked
// from the area list, so that the task's allocations never reach it (collections run in the
// kernel's thread, with it linked again).
K5_KERNEL_DATA static mp_state_mem_area_t *reserve_area;

// Copies one VM state block (whole 32-byte lines, word aligned: mcu/sections.ld), eight words a
// load and a store: about a quarter of the instructions of the C library's word loop.
static void vm_copy(void *dst, const void *src) {
    uint32_t *to = dst;
    const uint32_t *from = src;
    const uint32_t *end = from + vm_size() / 4;
    __asm volatile (
        "1: ldmia %[from]!, {r2, r3, r4, r5, r6, r8, r9, r12}\n"
        "   stmia %[to]!, {r2, r3, r4, r5, r6, r8, r9, r12}\n"
        "   cmp %[from], %[end]\n"
        "   blo 1b\n"
        : [to] "+r" (to), [from] "+r" (from)
        : [end] "r" (end)
        : "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r12", "cc", "memory");
}

static void swap_in(k5_ctx_t *ctx, k5_ns_t *ns) {
    if (ctx->heap_base != 0) {
        // Its own interpreter: the whole live VM state is exchanged, nothing else.
        vm_copy(kernel_vm, _k5_vm_start);
        vm_copy(_k5_vm_start, vm_saved(ctx));
        if (ctx == root_ctx) {
            mp_interrupt_char = root_interrupt_char;
            if (root_break) {
                root_break = 0;
                mp_sched_keyboard_interrupt(); // into the root's state, now the live one
            }
        }
        if (ctx != mpu_ctx) {
            mpu_load(ctx);
            mpu_ctx = ctx;
        }
        k5_user_cpu = ctx->cpu_ticks;
        return;
    }
    kernel_thread = mp_state_ctx.thread;
    mp_state_ctx.thread = ctx->thread;
    k5ns_swap_in(ns);
    #if MICROPY_GC_ALLOC_THRESHOLD
    gc_threshold_saved = MP_STATE_MEM(gc_alloc_threshold);
    #endif
    gc_auto_saved = MP_STATE_MEM(gc_auto_collect_enabled);
    reserve_area = MP_STATE_MEM(area).next;
    MP_STATE_MEM(area).next = NULL;
    // The allocator starts where it last found room: never in the reserve for a task.
    MP_STATE_MEM(gc_last_free_area) = &MP_STATE_MEM(area);
    if (ctx != mpu_ctx) {
        mpu_load(ctx);
        mpu_ctx = ctx;
    }
    k5_user_cpu = ctx->cpu_ticks;
}

static void swap_out(k5_ctx_t *ctx, k5_ns_t *ns) {
    ctx->traps += 1;
    if (ctx->heap_base != 0) {
        if (ctx == root_ctx) {
            root_interrupt_char = mp_interrupt_char;
            root_mode = pyexec_mode_kind == PYEXEC_MODE_RAW_REPL ? PYEXEC_MODE_RAW_REPL
                : PYEXEC_MODE_FRIENDLY_REPL;
        }
        vm_copy(vm_saved(ctx), _k5_vm_start);
        vm_copy(_k5_vm_start, kernel_vm);
        return;
    }
    ctx->thread = mp_state_ctx.thread;
    mp_state_ctx.thread = kernel_thread;
    k5ns_swap_out(ns);
    MP_STATE_MEM(area).next = reserve_area;
    MP_STATE_MEM(gc_auto_collect_enabled) = gc_auto_saved;
    #if MICROPY_GC_ALLOC_THRESHOLD
    MP_STATE_MEM(gc_alloc_threshold) = gc_threshold_saved;
    #endif
}

// SVC_EXEC: a task's machine code (native/viper code it compiled, a .mpy's native code) goes
// into an area of the arena that it may execute and read but never write. buf 0: reserve len
// bytes, answering where they will run (the task relocates its code for that address in its own
// buffer); else commit len bytes from buf, which the task may read, into the piece just reserved,
// once. Only the root and tasks with an interpreter of their own have one: in the kernel's
// interpreter a task's code could reach the kernel's heap. 0 answers a refusal.
static uint32_t serve_exec(k5_ctx_t *ctx, uint32_t buf, uint32_t len) {
    if (ctx->heap_base == 0 && ctx != root_ctx) {
        return 0;
    }
    if (buf == 0) {
        if (ctx->exec_base == 0) {
            if (ctx != root_ctx && ctx->windows[K5_WINDOW_REGIONS - 1][1] != 0) {
                return 0; // every MPU region it has is a device window
            }
            uint32_t size = ctx == root_ctx ? K5_EXEC_AREA_ROOT : K5_EXEC_AREA_TASK;
            uint32_t base = arena_alloc(size);
            if (base == 0) {
                return 0;
            }
            memset((void *)base, 0, size); // nothing of a task that held this memory before
            ctx->exec_base = base;
            ctx->exec_size = size;
            ctx->exec_used = 0;
            mpu_ctx = NULL; // its next entry maps the area
        }
        uint32_t at = ctx->exec_base + ((ctx->exec_used + 7) & ~7u);
        if (len == 0 || len > ctx->exec_base + ctx->exec_size - at) {
            return 0;
        }
        ctx->exec_used = at + len - ctx->exec_base;
        ctx->exec_pending = at;
        ctx->exec_pending_len = len;
        return at;
    }
    uint32_t at = ctx->exec_pending;
    if (at == 0 || len != ctx->exec_pending_len || !k5arch_task_may_read(ctx, buf, len)) {
        return 0;
    }
    ctx->exec_pending = 0;
    mpu_forget(); // the region is read-only for the kernel too
    memcpy((void *)at, (const void *)buf, len);
    __DSB();
    __ISB();
    return at;
}

// Runs the task until it traps into the kernel or `limit` ticks have passed; returns TRAP_*.
// Contract: the kernel's thread (privileged thread mode).
mp_int_t k5arch_run(k5_ctx_t *ctx, k5_ns_t *ns, mp_int_t limit) {
    if (ctx->state == K5_CTX_FINISHED) {
        return K5_TRAP_EXIT;
    }
    if (ctx->state == K5_CTX_FAULTED) {
        return K5_TRAP_FAULT;
    }
    if (limit <= 0) {
        return K5_TRAP_PREEMPT;
    }
    uint32_t deadline = k5_clock_ms + limit;
    // A lease lasts while its lender waits in its call: whatever resumes it, the call is over.
    ctx->lease_len = 0;
    for (;;) {
        if (ctx->has_result) {
            if (ctx->state == K5_CTX_STARTED && frame_ok(ctx)) {
                // An interpreter of its own gets numbers only: no reference into the kernel's
                // heap ever reaches it.
                mp_obj_t result = ctx->result;
                if (ctx->heap_base != 0 && !mp_obj_is_small_int(result)) {
                    result = MP_OBJ_NEW_SMALL_INT(K5_ERR_INVALID_ARGUMENT);
                }
                ((uint32_t *)ctx->psp)[0] = (uint32_t)result;
            }
            ctx->has_result = 0;
            ctx->result = MP_OBJ_NULL;
        }
        swap_in(ctx, ns);
        // The tasks' copy of the clock is true at every entry: the task that ran last may have
        // written it just before it trapped (time.sleep_ms and ticks_ms read it).
        systick_ms = k5_clock_ms;
        k5_deadline = deadline;
        k5_current = ctx;
        #if K5_BOARD_ATTACK_MODULE
        inject_now = 0;
        #endif
        // Whether it is due already is asked at the entry itself (k5arch_entered): a tick between
        // here and there would otherwise go unseen until the next one.
        k5_preempt_pending = 0;
        ctx->state = K5_CTX_STARTED;
        uint32_t trap = k5_enter();
        swap_out(ctx, ns);
        uint32_t *frame = frame_ok(ctx) ? (uint32_t *)ctx->psp : NULL;
        switch (trap) {
            case K5_SVC_SYSCALL:
                ctx->request_addr = frame ? frame[0] : 0;
                ctx->request_len = frame ? frame[1] : 0;
                return K5_TRAP_SYSCALL;
            case K5_SVC_PREEMPT:
                if ((int32_t)(k5_clock_ms - deadline) >= 0 || irq_pending) {
                    return K5_TRAP_PREEMPT;
                }
                continue; // a stale request: carry on
            case K5_SVC_EXIT:
                ctx->state = K5_CTX_FINISHED;
                return K5_TRAP_EXIT;
            case K5_SVC_FAULT:
                // Its text stays where the task made it, on its own stack: a faulted task
                // never runs again, so nothing changes it before the kernel reads it
                // (arch.fault_text, at this trap); anything not on its stack is no text.
                ctx->state = K5_CTX_FAULTED;
                ctx->fault_class = K5_FAULT_CLASS_PYTHON;
                ctx->request_len = 0;
                ctx->fault_valid = 0;
                ctx->fault_addr = 0;
                ctx->fault_pc = 0;
                if (frame && frame[1] <= K5_FAULT_TEXT_MAX
                    && range_in(frame[0], frame[1], ctx->stack_base, ctx->stack_top)) {
                    ctx->fault_addr = frame[0];
                    ctx->fault_pc = frame[1];
                }
                return K5_TRAP_FAULT;
            case K5_TRAP_HW_FAULT:
                ctx->state = K5_CTX_FAULTED;
                ctx->request_len = 0;
                return K5_TRAP_FAULT;
            case K5_SVC_PUTS:
                if (frame) {
                    frame[0] = serve_puts(ctx, frame[0], frame[1]);
                }
                break;
            case K5_SVC_CLOCK:
                if (frame) {
                    frame[0] = mp_hal_ticks_us();
                }
                break;
            case K5_SVC_COLLECT:
                if (ctx->heap_base == 0) {
                    gc_collect(); // an interpreter of its own collects its own heap itself
                }
                break;
            case K5_SVC_IMAGE:
                // A task takes its image into its heap: the kernel copies raw bytes to where
                // its private records say the task's own heap is, or (a task in the kernel's
                // interpreter) to memory the task may write. The image is a bytes object in
                // the kernel's heap, which tasks in the kernel's interpreter can write: its
                // data pointer is checked too (found by session 16's attack review: a forged
                // one made this copy a privileged read of kernel data, other tasks' memory or
                // a device). The kernel reads only the heap for a task of its own interpreter,
                // and only what the task may read itself for one in the kernel's.
                if (frame) {
                    const mp_obj_str_t *image = MP_OBJ_TO_PTR(ctx->entry);
                    bool ok = mp_obj_is_exact_type(ctx->entry, &mp_type_bytes)
                        && frame[1] == image->len
                        && (ctx->heap_base != 0
                            ? range_in(frame[0], frame[1], ctx->heap_base, ctx->block_top)
                              && range_in((uint32_t)image->data, image->len,
                                  (uint32_t)&_heap_start, (uint32_t)&_evmram)
                            : k5arch_task_may_write(ctx, frame[0], frame[1])
                              && k5arch_task_may_read(ctx, (uint32_t)image->data, image->len));
                    if (ok) {
                        memcpy((void *)frame[0], image->data, image->len);
                    }
                    frame[0] = ok ? image->len : (uint32_t)-1;
                }
                break;
            case K5_SVC_EXEC:
                if (frame) {
                    frame[0] = serve_exec(ctx, frame[0], frame[1]);
                }
                break;
            case K5_SVC_HEAP:
                if (frame) {
                    frame[0] = serve_heap(ctx, frame[0], frame[1]);
                }
                break;
            case K5_SVC_GETC:
                if (frame && frame[0] == 1) {
                    // A peek (select.poll on stdin): only the root is told of console input.
                    frame[0] = ctx == root_ctx && uart_rx_any();
                } else if (frame && ctx != root_ctx) {
                    // Console input is the root's (the REPL's) alone: no other task reads it.
                    frame[0] = (uint32_t)-3;
                } else if (frame) {
                    int c = uart_rx_char();
                    if (c < 0) {
                        // -2: the root blocks on the console notification (k5arch_task_getc).
                        console_waiting = 1;
                        c = uart_rx_any() ? uart_rx_char() : -2;
                        if (c >= 0) {
                            console_waiting = 0;
                        }
                    }
                    frame[0] = (uint32_t)c;
                }
                break;
            case K5_SVC_LOG:
                // 0: written; 1: the console's transmit ring has no room for the frame now (the
                // task waits a tick and comes back); -1: a bad request.
                if (frame) {
                    bool ok = frame[1] <= 4 + K5_ARGS_MAX && frame[1] >= 2
                        && k5arch_task_may_read(ctx, frame[0], frame[1]);
                    uint32_t answer = ok ? 0 : (uint32_t)-1;
                    if (ok && !k5log_fits(ctx, frame[1])) {
                        answer = 1;
                    } else if (ok) {
                        k5log_serve(ctx, ctx - contexts, (const uint8_t *)frame[0], frame[1]);
                    }
                    frame[0] = answer;
                }
                break;
            case K5_SVC_MACHINE:
                // The root's alone, but for the facts of the boot, which every task may read.
                if (frame && (ctx == root_ctx || frame[0] == K5_MACHINE_FACT)) {
                    frame[0] = (uint32_t)k5_port_machine_op(frame[0], frame[1]);
                    break;
                }
                MP_FALLTHROUGH
            default:
                // An `svc` with a number the ABI does not have: the task's mistake.
                ctx->state = K5_CTX_FAULTED;
                ctx->fault_class = K5_FAULT_CLASS_USAGE;
                ctx->fault_cfsr = 0;
                ctx->fault_valid = 0;
                ctx->request_len = 0;
                return K5_TRAP_FAULT;
        }
        // A trap served here is a point where the task may be switched away, as at a safe
        // point: a task in a loop of served traps (a busy wait on the clock, a flood of output)
        // leaves at its time limit like one in a loop of bytecode.
        if ((int32_t)(k5_clock_ms - deadline) >= 0 || irq_pending) {
            return K5_TRAP_PREEMPT;
        }
    }
}

// The log channel changed (log.c): a task's next record is preceded by its name again.
void k5arch_log_unname(void) {
    for (size_t i = 0; i < K5_MAX_CONTEXTS; i++) {
        contexts[i].log_named = 0;
    }
}

// --- GC roots -----------------------------------------------------------------------------------

// Contract: from gc_collect() in the kernel's thread (the kernel's own state is the live one).
void k5arch_gc_roots(void) {
    const size_t thread_roots = (sizeof(mp_state_thread_t)
        - offsetof(mp_state_thread_t, dict_locals)) / sizeof(void *);
    for (size_t i = 0; i < K5_MAX_CONTEXTS; i++) {
        k5_ctx_t *ctx = &contexts[i];
        if (ctx->state == K5_CTX_FREE) {
            continue;
        }
        gc_collect_root(&ctx->entry, 4); // entry .. decoded
        if (ctx->heap_base != 0) {
            continue; // its stack and state point into its own heap, not the kernel's
        }
        gc_collect_root((void **)&ctx->thread.dict_locals, thread_roots);
        gc_collect_root((void **)ctx->r4_r11, 8);
        if ((ctx->state == K5_CTX_FRESH || ctx->state == K5_CTX_STARTED) && frame_ok(ctx)) {
            gc_collect_root((void **)ctx->psp, (ctx->stack_top - ctx->psp) / sizeof(void *));
        }
    }
}
