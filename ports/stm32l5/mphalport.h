// Hardware abstraction for the K5 STM32L5 port: time from SysTick, console on the REPL UART.
#ifndef K5_INCLUDED_MPHALPORT_H
#define K5_INCLUDED_MPHALPORT_H

#include <stdint.h>
#include "py/mpconfig.h"
#include "shared/runtime/interrupt_char.h"

// Milliseconds since boot, advanced by the SysTick handler: the kernel's own count
// (kernel-private RAM), and the copy tasks read (`ticks_ms` costs them no trap). A task can write
// its copy, so the kernel's decisions never read it.
extern volatile uint32_t k5_clock_ms;
extern volatile uint32_t systick_ms;

// Core clock in Hz, set by the board's clock start-up.
extern uint32_t system_core_clock_hz;
uint32_t mp_hal_core_hz(void); // the kernel's own copy (privileged code only)

static inline mp_uint_t mp_hal_ticks_ms(void) {
    return systick_ms;
}

mp_uint_t mp_hal_ticks_us(void);
mp_uint_t mp_hal_ticks_cpu(void);
void mp_hal_delay_ms(mp_uint_t ms);
void mp_hal_delay_us(mp_uint_t us);

// Returns the previous PRIMASK; disables interrupts.
static inline mp_uint_t disable_irq(void) {
    mp_uint_t state;
    __asm volatile ("mrs %0, primask\n cpsid i" : "=r" (state) : : "memory");
    return state;
}

static inline void enable_irq(mp_uint_t state) {
    __asm volatile ("msr primask, %0" : : "r" (state) : "memory");
}

#define MICROPY_BEGIN_ATOMIC_SECTION()     disable_irq()
#define MICROPY_END_ATOMIC_SECTION(state)  enable_irq(state)

void systick_init(void);

#endif // K5_INCLUDED_MPHALPORT_H
