// Time and console for the K5 STM32L5 port.
//
// Time: SysTick interrupts once a millisecond and counts `systick_ms`; microseconds and CPU
// cycles add the cycles since (the board's: the SysTick down-counter, or a free-running counter),
// so reading the time in the kernel never traps and never allocates. Console: output is written to the board's REPL UART, input comes
// from the ring buffer that the UART's receive interrupt fills (see uart.c).
// A task (unprivileged) reaches none of that hardware: its console output, console input, the
// microsecond clock and its sleeps are traps into the kernel (native/k5arch); `ticks_ms` reads
// `systick_ms`, which lies in the RAM every task maps, and costs no trap. The REPL is the root
// task, so all of this holds for it too; the kernel's thread uses the hardware directly.
#include <stdint.h>
#include "py/mphal.h"
#include "py/runtime.h"
#include "py/stream.h"
#include "shared/runtime/interrupt_char.h"
#include "mcu/cortex_m33.h"
#include "mcu/board.h"
#include "uart.h"
#include "k5arch.h"

__attribute__((section(".k5kernel"))) volatile uint32_t k5_clock_ms;
volatile uint32_t systick_ms;
// The core clock as the kernel reads it (tasks may write system_core_clock_hz, in .data).
__attribute__((section(".k5kernel"))) static uint32_t core_hz;

// The core clock in Hz as the kernel keeps it. Contract: privileged (the kernel's thread).
uint32_t mp_hal_core_hz(void) {
    return core_hz;
}

void systick_init(void) {
    core_hz = system_core_clock_hz;
    SysTick->LOAD = core_hz / 1000 - 1;
    SysTick->VAL = 0;
    NVIC_SetPriority(SysTick_IRQn, K5_IRQ_PRIORITY_SYSTICK);
    board_systick_starting();
    SysTick->CTRL = SysTick_CTRL_CLKSOURCE_Msk | SysTick_CTRL_TICKINT_Msk | SysTick_CTRL_ENABLE_Msk;
}

// Contract: handler mode only (the SysTick exception).
void SysTick_Handler(void) {
    // Reading CTRL clears COUNTFLAG.
    (void)SysTick->CTRL;
    k5_clock_ms += board_systick_periods();
    systick_ms = k5_clock_ms;
    k5arch_tick();
}

// Returns (ms, cycles elapsed since that ms began), consistent with each other. The cycles may
// pass a period when a SysTick interrupt is pending (board_systick_elapsed).
static void systick_read(uint32_t *ms, uint32_t *cycles) {
    mp_uint_t state = disable_irq();
    *ms = k5_clock_ms;
    *cycles = board_systick_elapsed();
    enable_irq(state);
}

mp_uint_t mp_hal_ticks_us(void) {
    if (k5arch_in_task()) {
        return k5_svc_clock();
    }
    uint32_t ms, cycles;
    systick_read(&ms, &cycles);
    return ms * 1000 + cycles / (core_hz / 1000000);
}

mp_uint_t mp_hal_ticks_cpu(void) {
    if (k5arch_in_task()) {
        return k5_svc_clock() * (system_core_clock_hz / 1000000);
    }
    uint32_t ms, cycles;
    systick_read(&ms, &cycles);
    return ms * (core_hz / 1000) + cycles;
}

// Sleeps at least `ms` milliseconds. Measured in microseconds, so that a partly elapsed tick at
// the start is not counted as a whole one; waits with WFI (SysTick wakes the core every ms) and
// handles pending events such as Ctrl-C meanwhile.
void mp_hal_delay_ms(mp_uint_t ms) {
    if (k5arch_in_task()) {
        k5arch_task_sleep_ms(ms);
        return;
    }
    while (ms > 0) {
        mp_uint_t chunk = ms < 1000000 ? ms : 1000000; // keep chunk * 1000 below 2**32
        uint32_t start = mp_hal_ticks_us();
        for (;;) {
            uint32_t elapsed = mp_hal_ticks_us() - start;
            if (elapsed >= chunk * 1000) {
                break;
            }
            mp_event_wait_ms(1);
        }
        ms -= chunk;
    }
}

void mp_hal_delay_us(mp_uint_t us) {
    if (k5arch_in_task()) {
        k5arch_task_sleep_us(us);
        return;
    }
    uint32_t start = mp_hal_ticks_us();
    while (mp_hal_ticks_us() - start < us) {
    }
}

int mp_hal_stdin_rx_chr(void) {
    if (k5arch_in_task()) {
        return k5arch_task_getc();
    }
    for (;;) {
        int c = uart_rx_char();
        if (c >= 0) {
            return c;
        }
        mp_event_wait_indefinite();
    }
}

uintptr_t mp_hal_stdio_poll(uintptr_t poll_flags) {
    uintptr_t ret = 0;
    if (poll_flags & MP_STREAM_POLL_RD) {
        if (k5arch_in_task() ? k5arch_task_input_ready() : uart_rx_any()) {
            ret |= MP_STREAM_POLL_RD;
        }
    }
    if (poll_flags & MP_STREAM_POLL_WR) {
        ret |= MP_STREAM_POLL_WR;
    }
    return ret;
}

mp_uint_t mp_hal_stdout_tx_strn(const char *str, size_t len) {
    if (k5arch_in_task()) {
        // The kernel writes at most K5_PUTS_CHUNK bytes a trap and says how many; none when the
        // console's transmit ring is full, and the task waits a tick in its own time.
        for (size_t left = len; left > 0;) {
            int n = k5_svc_puts(str, left);
            if (n < 0) {
                break;
            }
            if (n == 0) {
                k5arch_task_wait_event();
                continue;
            }
            str += n;
            left -= n;
        }
        return len;
    }
    uart_tx_strn(str, len);
    return len;
}

// micropython.kbd_intr(): the interrupt character belongs to the console, that is to the root
// task (the REPL); another task may not change it (it would take Ctrl-C from the REPL).
int mp_interrupt_char = -1;

void mp_hal_set_interrupt_char(int c) {
    if (k5arch_in_task() && !k5_user_raw) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("K5: only the root task sets the interrupt character"));
    }
    mp_interrupt_char = c;
}

// The wall clock for file times (littlefs's mtime). No RTC is set up on either board: time counts
// from boot, from MicroPython's epoch.
uint64_t mp_hal_time_ns(void) {
    return (uint64_t)mp_hal_ticks_ms() * 1000000u;
}
