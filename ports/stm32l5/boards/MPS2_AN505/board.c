// QEMU mps2-an505: clocks are fixed at 20 MHz; power-off and reset leave QEMU via semihosting.
#include <stdint.h>
#include "mcu/cortex_m33.h"
#include "mcu/board.h"
#include "uart.h"

uint32_t system_core_clock_hz;

// The IoT Kit's secure privilege control block (ARM ECM0601256): its peripheral protection
// controllers also gate unprivileged accesses, which they answer with zeros by default.
#define SPCB_BASE            (0x50080000)
#define SPCB_AHBSPPPCEXP(n)  (*(volatile uint32_t *)(SPCB_BASE + 0xa0 + 4 * (n)))
#define SPCB_APBSPPPC(n)     (*(volatile uint32_t *)(SPCB_BASE + 0xb0 + 4 * (n)))
#define SPCB_APBSPPPCEXP(n)  (*(volatile uint32_t *)(SPCB_BASE + 0xc0 + 4 * (n)))

void board_init(void) {
    system_core_clock_hz = 20000000;
    // Let unprivileged code reach every peripheral: the MPU decides which task maps which (the
    // root task maps them all; see native/k5arch/k5arch.c), as on the STM32L5, whose TrustZone
    // controller allows unprivileged accesses out of reset.
    for (int n = 0; n < 4; n++) {
        SPCB_AHBSPPPCEXP(n) = 0xffffffff;
        SPCB_APBSPPPCEXP(n) = 0xffffffff;
    }
    SPCB_APBSPPPC(0) = 0xffffffff;
    SPCB_APBSPPPC(1) = 0xffffffff;
}

// QEMU's SysTick is a timer on its virtual clock. Under -icount, while the guest idles, that
// clock follows the host's; when QEMU's thread was kept off the CPU it advances by several
// milliseconds at once, and the periods that expired meanwhile raise one interrupt. The FPGAIO
// block's COUNTER (20 MHz, read from the same virtual clock) says how many passed, so the
// millisecond count keeps the virtual time and no tick is lost on a loaded host.
//
// The count is COUNTER's, in whole periods from a reading taken just before SysTick starts:
// its k-th period ends no later than SysTick's k-th, whose interrupt therefore finds it
// counted. An interrupt may find no new period: QEMU raises a period's interrupt from another
// thread, after the period ended (after a stall, one interrupt per period, as it catches up),
// so an interrupt that came late may already have counted the next period from COUNTER.
// Invariant: systick_counted never passes COUNTER (it only moves by whole periods that COUNTER
// shows), so `COUNTER - systick_counted` is the distance, never a wrapped negative one: counting
// each interrupt as at least one period let it run ahead, and the next subtraction wrapped to
// 2**32 cycles, 214,748 periods at once. (The distance between two interrupts stays far below
// 2**32 cycles, 214 s.)
#define FPGAIO_COUNTER       (*(volatile uint32_t *)(0x50302018))

// COUNTER at the end of the last period counted (kernel-private: the clock is the kernel's).
__attribute__((section(".k5kernel"))) static uint32_t systick_counted;

// Cycles per tick, fixed when SysTick starts (kernel-private: tasks may write the clock's Hz).
__attribute__((section(".k5kernel"))) static uint32_t systick_period;

void board_systick_starting(void) {
    systick_period = system_core_clock_hz / 1000;
    systick_counted = FPGAIO_COUNTER;
}

uint32_t board_systick_periods(void) {
    uint32_t period = systick_period;
    uint32_t periods = (FPGAIO_COUNTER - systick_counted) / period;
    systick_counted += periods * period;
    return periods;
}

// From COUNTER as well, not from SysTick's phase: the microseconds are then COUNTER's (a period
// counted before its own interrupt does not show twice), and since the count never passes
// COUNTER they never go back.
uint32_t board_systick_elapsed(void) {
    return FPGAIO_COUNTER - systick_counted;
}

// Semihosting SYS_EXIT_EXTENDED: QEMU exits with `status` (plain SYS_EXIT only tells 0 from 1).
NORETURN void board_poweroff(int status) {
    uart_tx_flush(); // what the console still holds goes out first
    static uint32_t block[2];
    block[0] = 0x20026; // ADP_Stopped_ApplicationExit
    block[1] = (uint32_t)status;
    register uint32_t r0 __asm__ ("r0") = 0x20;
    register uint32_t *r1 __asm__ ("r1") = block;
    __asm volatile ("bkpt 0xab" : "+r" (r0) : "r" (r1) : "memory");
    for (;;) {
        __WFI();
    }
}

NORETURN void board_reset(void) {
    board_poweroff(0);
}

NORETURN void board_fault_restart(void) {
    uart_tx_flush(); // what the console still holds goes out first
    NVIC_SystemReset();
}
