// What each board provides to the shared Cortex-M33 code (implemented in boards/<BOARD>/board.c).
#ifndef K5_INCLUDED_MCU_BOARD_H
#define K5_INCLUDED_MCU_BOARD_H

#include "py/mpconfig.h"

// Clocks, pins and anything else needed before the console works; sets system_core_clock_hz.
void board_init(void);

// SysTick (mphalport.c): board_systick_starting() just before SysTick starts counting from 0;
// then at each SysTick interrupt board_systick_periods() says how many 1 ms periods have ended
// since the last interrupt counted them. On silicon every period interrupts: 1. The emulated
// board counts those that QEMU merged into one interrupt, and may find 0 (the period was
// counted by the interrupt before).
// board_systick_elapsed(), with interrupts disabled: the core clock cycles since the end of
// the last period counted, for the microseconds between interrupts; more than a period when an
// interrupt is pending.
void board_systick_starting(void);
uint32_t board_systick_periods(void);
uint32_t board_systick_elapsed(void);

// machine.reset(): a system reset on silicon; on the emulated board, QEMU exits with status 0.
NORETURN void board_reset(void);

// machine.poweroff(status): the lowest-power state on silicon; QEMU exits with `status`.
NORETURN void board_poweroff(int status);

// After a fatal fault has been reported: restart the system so that the REPL comes back.
NORETURN void board_fault_restart(void);

#endif // K5_INCLUDED_MCU_BOARD_H
