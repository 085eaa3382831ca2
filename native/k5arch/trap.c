// Entry into and exit from unprivileged tasks: the SVC handler and the task side of every trap.
//
// Why it is built this way: the kernel is ordinary MicroPython code in privileged thread mode on
// the main stack, and a task is MicroPython code in unprivileged thread mode on its own stack
// (PSP, PSPLIM at its base). Switching between the two is one exception round trip each way,
// with no scheduler in C:
// - The kernel calls k5_enter(), which pushes the kernel's callee-saved registers on the main
//   stack and executes `svc #SVC_ENTER`. The handler sees it came from the main stack
//   (EXC_RETURN.SPSEL = 0), loads k5_current's callee-saved registers, PSP and PSPLIM, sets
//   CONTROL.nPRIV and returns into the task. The kernel's exception frame stays on the main
//   stack, exactly where the hardware put it.
// - When the task traps (any `svc` from the process stack, or a fault the trampoline in the
//   port's fault.c routes here), the handler saves the task's callee-saved registers and PSP,
//   clears nPRIV, writes the trap code into r0 of the kernel's frame (the main stack pointer at
//   entry points at it, because nothing else was pushed there while the task ran) and returns
//   with the kernel's EXC_RETURN: k5_enter() returns the trap code.
// So the kernel always runs to completion (it is never preempted by a task), a task is resumed
// only by the kernel, and interrupts taken meanwhile use the main stack below the kernel's frame.
// Lazy FP stacking is off (k5arch_boot), so an extended frame always holds s0-s15 and FPSCR; the
// handler saves s16-s31 of a task only when its EXC_RETURN says it used the FPU (FType = 0), and
// k5_enter saves the kernel's own. A task entered with a basic frame gets s0-s31 zeroed: they
// would otherwise hold the last FP user's values (another task's, or the kernel's).
#include "k5arch.h"

// What a task entered with a basic frame finds in s0-s31 (k5_enter_task).
__attribute__((used, section(".rodata.k5_fp_zeros"))) const uint32_t k5_fp_zeros[32] = { 0 };

// The kernel's EXC_RETURN, recorded on every entry (the exit path returns through it).
__attribute__((section(".k5kernel"))) uint32_t k5_kernel_exc_return;

// Contract: privileged thread mode, main stack, interrupts enabled (the kernel's thread).
__attribute__((naked)) uint32_t k5_enter(void) {
    __asm volatile (
        "push {r4-r11, lr}\n"
        "vpush {s16-s31}\n"
        "svc %[enter]\n"
        // The task trapped: r0 holds the trap code that the exit path wrote into our frame.
        "vpop {s16-s31}\n"
        "pop {r4-r11, pc}\n"
        :
        : [enter] "i" (K5_SVC_ENTER)
        );
}

// Contract: handler mode (SVCall), the only SVC handler of the system.
__attribute__((naked)) void SVC_Handler(void) {
    __asm volatile (
        "tst lr, #4\n"
        "beq k5_enter_task\n"
        // From a task: the trap code is the immediate of the `svc` before the stacked PC (the
        // hardware wrote that PC: the `svc` is one the task executed, from flash or from its
        // machine-code area, which it cannot write).
        // An immediate the ABI does not have (a task running machine code of its own can use any)
        // becomes 0xff, which the kernel takes for a usage fault: never one of the trap codes
        // that only the exit path makes (K5_TRAP_HW_FAULT).
        "mrs r1, psp\n"
        "ldr r1, [r1, #24]\n"
        "ldrb r0, [r1, #-2]\n"
        "cmp r0, %[count]\n"
        "it hs\n"
        "movhs r0, #0xff\n"
        "b k5_exit_task\n"
        :
        : [count] "i" (K5_SVC_COUNT)
        );
}

// Contract: handler mode, reached from SVC_Handler with lr = the kernel's EXC_RETURN.
__attribute__((naked, used)) void k5_enter_task(void) {
    __asm volatile (
        "movw r2, #:lower16:k5_kernel_exc_return\n"
        "movt r2, #:upper16:k5_kernel_exc_return\n"
        "str lr, [r2]\n"
        "movw r0, #:lower16:k5_current\n"
        "movt r0, #:upper16:k5_current\n"
        "ldr r0, [r0]\n"
        "ldr r1, [r0, #4]\n"
        // A fresh task has no EXC_RETURN yet: the kernel's, switched to the process stack and a
        // basic (no FP) frame, keeps the security-state bits right on either board.
        "cbnz r1, 1f\n"
        "orr r1, lr, #0x14\n"
        "str r1, [r0, #4]\n"
        "1:\n"
        "tst r1, #0x10\n"
        "bne 3f\n"
        "add r2, r0, #40\n"
        "vldmia r2, {s16-s31}\n"
        "b 2f\n"
        // A basic frame: the task has no FP context saved, and the registers hold what the
        // kernel or the task before left there. Zeroed (FPSCR is set from FPDSCR by the
        // hardware at the task's first FP instruction).
        "3:\n"
        "movw r2, #:lower16:k5_fp_zeros\n"
        "movt r2, #:upper16:k5_fp_zeros\n"
        "vldmia r2, {s0-s31}\n"
        "2:\n"
        "add r2, r0, #8\n"
        "ldmia r2, {r4-r11}\n"
        "ldr r2, [r0, #104]\n"
        "msr psplim, r2\n"
        "ldr r2, [r0, #0]\n"
        "msr psp, r2\n"
        "mrs r2, control\n"
        "orr r2, r2, #1\n"
        "msr control, r2\n"
        "isb\n"
        "movw r2, #:lower16:k5_task_running\n"
        "movt r2, #:upper16:k5_task_running\n"
        "movs r3, #1\n"
        "str r3, [r2]\n"
        // Already due? (k5arch_entered: r4-r11 are the task's, and callee-saved.)
        "push {r1, lr}\n"
        "bl k5arch_entered\n"
        "pop {r1, lr}\n"
        "bx r1\n"
        );
}

// Contract: handler mode, r0 = trap code, lr = the task's EXC_RETURN (thread mode, process
// stack), the main stack pointer at the kernel's exception frame.
__attribute__((naked, used)) void k5_exit_task(void) {
    __asm volatile (
        "movw r1, #:lower16:k5_current\n"
        "movt r1, #:upper16:k5_current\n"
        "ldr r1, [r1]\n"
        "mrs r2, psp\n"
        "str r2, [r1, #0]\n"
        "str lr, [r1, #4]\n"
        "add r2, r1, #8\n"
        "stmia r2, {r4-r11}\n"
        "tst lr, #0x10\n"
        "bne 1f\n"
        "add r2, r1, #40\n"
        "vstmia r2, {s16-s31}\n"
        "1:\n"
        "movw r2, #:lower16:k5_task_running\n"
        "movt r2, #:upper16:k5_task_running\n"
        "movs r3, #0\n"
        "str r3, [r2]\n"
        "mrs r2, control\n"
        "bic r2, r2, #1\n"
        "msr control, r2\n"
        "isb\n"
        "str r0, [sp]\n"
        "movw r2, #:lower16:k5_kernel_exc_return\n"
        "movt r2, #:upper16:k5_kernel_exc_return\n"
        "ldr lr, [r2]\n"
        "bx lr\n"
        );
}

// A fault taken in a task: r0 = fault kind (fault.c's numbering = K5_FAULT_CLASS_*),
// lr = EXC_RETURN. Records the fault, then leaves the task as a trap.
// Contract: handler mode, entered from the port's fault trampoline only when the fault came from
// thread mode on the process stack while a task was running.
__attribute__((naked, used)) void k5_task_fault(void) {
    __asm volatile (
        "mrs r1, psp\n"
        "mov r2, lr\n"
        "push {r0, lr}\n"
        "bl k5arch_record_fault\n"
        "pop {r0, lr}\n"
        "movs r0, %[code]\n"
        "b k5_exit_task\n"
        :
        : [code] "i" (K5_TRAP_HW_FAULT)
        );
}

// PendSV, pended by SysTick or an interrupt line when the running task must leave now: a task
// with an interpreter of its own is preempted wherever it is (nothing else uses its state), and
// on the emulated board a task can be made to fault at any instruction (fault injection). If
// PendSV did not interrupt a running task (thread mode, process stack), or the reason is gone,
// nothing happens.
// Contract: handler mode only (PendSV, at the priority of SVC, so it never preempts a trap).
__attribute__((naked)) void k5_pendsv_entry(void) {
    __asm volatile (
        "tst lr, #8\n"          // EXC_RETURN.Mode: from thread mode?
        "beq 1f\n"
        "tst lr, #4\n"          // EXC_RETURN.SPSEL: on the process stack?
        "beq 1f\n"
        "movw r1, #:lower16:k5_task_running\n"
        "movt r1, #:upper16:k5_task_running\n"
        "ldr r1, [r1]\n"
        "cbz r1, 1f\n"
        // The task's r4-r11 survive the call (callee-saved): the exit path saves them.
        "push {r4, lr}\n"
        "bl k5arch_pendsv_reason\n"
        "pop {r4, lr}\n"
        "cbz r0, 1f\n"
        "cmp r0, %[fault]\n"
        "bne k5_exit_task\n"   // r0 = SVC_PREEMPT: as if the task had trapped here
        "movs r0, %[kind]\n"
        "b k5_task_fault\n"
        "1:\n"
        "bx lr\n"
        :
        : [kind] "i" (K5_FAULT_CLASS_INJECTED), [fault] "i" (K5_TRAP_HW_FAULT)
        );
}

// Every external interrupt. A line the kernel delivers masks itself and raises IRQ_HARDWARE
// (k5arch_irq_fired); any other goes on to Default_Handler with the exception state untouched
// (lr = EXC_RETURN, the frame where the hardware stacked it), which reports it.
// Contract: handler mode only (the vector table's external entries).
__attribute__((naked)) void k5_irq_entry(void) {
    __asm volatile (
        "push {r4, lr}\n"
        "bl k5arch_irq_fired\n"
        "pop {r4, lr}\n"
        "cbz r0, 1f\n"
        "bx lr\n"
        "1:\n"
        "b Default_Handler\n"
        );
}

// --- The task side: each is one `svc`; the kernel's answer (if any) comes back in r0. -----------
// The whole register state survives the trap (callee-saved registers in the context, the rest in
// the exception frame), so these are plain calls to the C that uses them.

__attribute__((naked)) mp_obj_t k5_svc_syscall(const uint8_t *request, size_t len) {
    __asm volatile ("svc %[n]\n bx lr\n" : : [n] "i" (K5_SVC_SYSCALL));
}

__attribute__((naked)) void k5_svc_preempt(void) {
    __asm volatile ("svc %[n]\n bx lr\n" : : [n] "i" (K5_SVC_PREEMPT));
}

__attribute__((naked)) void k5_svc_exit(void) {
    __asm volatile ("svc %[n]\n b .\n" : : [n] "i" (K5_SVC_EXIT));
}

__attribute__((naked)) void k5_svc_fault(const char *text, size_t len) {
    __asm volatile ("svc %[n]\n b .\n" : : [n] "i" (K5_SVC_FAULT));
}

__attribute__((naked)) int k5_svc_puts(const char *text, size_t len) {
    __asm volatile ("svc %[n]\n bx lr\n" : : [n] "i" (K5_SVC_PUTS));
}

__attribute__((naked)) uint32_t k5_svc_clock(void) {
    __asm volatile ("svc %[n]\n bx lr\n" : : [n] "i" (K5_SVC_CLOCK));
}

__attribute__((naked)) void k5_svc_collect(void) {
    __asm volatile ("svc %[n]\n bx lr\n" : : [n] "i" (K5_SVC_COLLECT));
}

__attribute__((naked)) int k5_svc_getc(uint32_t peek) {
    __asm volatile ("svc %[n]\n bx lr\n" : : [n] "i" (K5_SVC_GETC));
}

__attribute__((naked)) int k5_svc_log(const uint8_t *body, size_t len) {
    __asm volatile ("svc %[n]\n bx lr\n" : : [n] "i" (K5_SVC_LOG));
}

__attribute__((naked)) int k5_svc_image(uint8_t *buf, size_t len) {
    __asm volatile ("svc %[n]\n bx lr\n" : : [n] "i" (K5_SVC_IMAGE));
}

__attribute__((naked)) uint32_t k5_svc_exec(uint32_t buf, size_t len) {
    __asm volatile ("svc %[n]\n bx lr\n" : : [n] "i" (K5_SVC_EXEC));
}

__attribute__((naked)) uint32_t k5_svc_heap(uint32_t op, uint32_t arg) {
    __asm volatile ("svc %[n]\n bx lr\n" : : [n] "i" (K5_SVC_HEAP));
}

__attribute__((naked)) int k5_svc_machine(uint32_t op, uint32_t arg) {
    __asm volatile ("svc %[n]\n bx lr\n" : : [n] "i" (K5_SVC_MACHINE));
}
