// Fault reporting for both Cortex-M33 boards.
//
// Why it is built this way: a fault means the machine state can no longer be trusted, so the
// report uses nothing but the polled console transmitter and a hand-rolled hex formatter (no
// MicroPython printing, no heap, no locks). Each fault class has its own entry so the report can
// name it; all share one assembly trampoline that finds the stacked exception frame (MSP or PSP,
// per EXC_RETURN.SPSEL) and passes it, with EXC_RETURN, to fault_report(). A stack overflow
// caught by a stack limit register (UsageFault STKOF) stacks no frame, so the PC is reported as
// unknown rather than read from garbage. After the report the board restarts (the emulated
// board reboots), so a fault is never a silent hang.
//
// A fault taken by an unprivileged task (thread mode, process stack, a task running) is not a
// fault of the system: the trampoline hands it to the trap layer (native/k5arch, k5_task_fault),
// which records it and leaves the task, so that the kernel makes it a fault message for the
// task's supervisor. What is reported here is a fault of the kernel itself.
#include <stdint.h>
#include "mcu/cortex_m33.h"
#include "mcu/board.h"
#include "uart.h"

#define FAULT_HARD      1
#define FAULT_MEMMANAGE 2
#define FAULT_BUS       3
#define FAULT_USAGE     4
#define FAULT_SECURE    5
#define FAULT_UNEXPECTED 6

static const char *const fault_names[] = {
    "?", "HardFault", "MemManage", "BusFault", "UsageFault", "SecureFault",
    "unexpected exception",
};

static void put_str(const char *s) {
    size_t n = 0;
    while (s[n]) {
        n++;
    }
    uart_tx_strn(s, n);
}

static void put_hex(const char *label, uint32_t value) {
    char buf[11] = "0x";
    for (int i = 0; i < 8; i++) {
        buf[2 + i] = "0123456789abcdef"[(value >> (28 - 4 * i)) & 0xf];
    }
    buf[10] = 0;
    put_str(label);
    put_str(buf);
}

// Contract: handler mode only, entered from fault_entry with interrupts of lower priority masked.
NORETURN void fault_report(uint32_t *frame, uint32_t exc_return, uint32_t kind) {
    uint32_t cfsr = SCB->CFSR;
    uint32_t hfsr = SCB->HFSR;
    put_str("\r\n*** FATAL FAULT: ");
    put_str(fault_names[kind <= FAULT_UNEXPECTED ? kind : 0]);
    put_str(" ***\r\n");
    put_hex("IPSR ", __get_IPSR());
    put_str(" ");
    put_hex("CFSR ", cfsr);
    put_hex(" HFSR ", hfsr);
    if (cfsr & SCB_CFSR_MMARVALID_Msk) {
        put_hex(" MMFAR ", SCB->MMFAR);
    }
    if (cfsr & SCB_CFSR_BFARVALID_Msk) {
        put_hex(" BFAR ", SCB->BFAR);
    }
    put_hex(" EXC_RETURN ", exc_return);
    put_str("\r\n");
    if (cfsr & SCB_CFSR_STKOF_Msk) {
        put_hex("stack overflow (STKOF): no frame stacked, PC unknown; SP ", (uint32_t)frame);
    } else {
        put_hex("PC ", frame[6]);
        put_hex(" LR ", frame[5]);
        put_hex(" xPSR ", frame[7]);
        put_hex(" SP ", (uint32_t)frame);
        put_hex("\r\nR0 ", frame[0]);
        put_hex(" R1 ", frame[1]);
        put_hex(" R2 ", frame[2]);
        put_hex(" R3 ", frame[3]);
        put_hex(" R12 ", frame[4]);
    }
    put_str("\r\nrestarting\r\n");
    board_fault_restart();
}

// Shared trampoline: r0 = fault kind. Lifts the main stack's limit (the fault may be its overflow,
// and the report never returns), then picks the stack the frame was pushed on.
__attribute__((naked, used)) void fault_entry(void) {
    __asm volatile (
        "cmp r0, %0\n"          // an unclaimed exception is nobody's fault but the system's
        "beq 1f\n"
        "tst lr, #8\n"          // EXC_RETURN.Mode: from thread mode?
        "beq 1f\n"
        "tst lr, #4\n"          // EXC_RETURN.SPSEL: on the process stack?
        "beq 1f\n"
        "movw r1, #:lower16:k5_task_running\n"
        "movt r1, #:upper16:k5_task_running\n"
        "ldr r1, [r1]\n"
        "cbz r1, 1f\n"
        "b k5_task_fault\n"
        "1:\n"
        "movs r3, #0\n"
        "msr msplim, r3\n"
        "mov r2, r0\n"
        "mov r1, lr\n"
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r0, msp\n"
        "mrsne r0, psp\n"
        "b fault_report\n"
        :
        : "i" (FAULT_UNEXPECTED)
        );
}

#define FAULT_HANDLER(name, kind) \
    __attribute__((naked)) void name(void) { \
        __asm volatile ("movs r0, %0\n b fault_entry\n" : : "i" (kind)); \
    }

FAULT_HANDLER(HardFault_Handler, FAULT_HARD)
FAULT_HANDLER(MemManage_Handler, FAULT_MEMMANAGE)
FAULT_HANDLER(BusFault_Handler, FAULT_BUS)
FAULT_HANDLER(UsageFault_Handler, FAULT_USAGE)
FAULT_HANDLER(SecureFault_Handler, FAULT_SECURE)
// Every vector nobody claimed: an interrupt or exception that should never have been taken.
FAULT_HANDLER(Default_Handler, FAULT_UNEXPECTED)
