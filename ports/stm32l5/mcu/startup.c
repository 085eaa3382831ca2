// Reset, the vector table and core set-up, shared by both Cortex-M33 boards.
//
// Why it is built this way: everything here runs before any C runtime exists, so it touches only
// linker symbols and core registers. The main stack's limit register (MSPLIM) is set first, so
// that a kernel stack overflow is a precise UsageFault (STKOF) instead of silent corruption of the
// heap below it; the fault handlers (fault.c) are enabled as separate exceptions so that a fault
// names its class instead of escalating to HardFault; the FPU is enabled because both boards
// compile for the hard-float ABI.
#include <stdint.h>
#include "mcu/cortex_m33.h"
#include "mcu/board.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _sk5kernel, _ek5kernel, _sstack, _estack;

int main(void);
void HardFault_Handler(void);
void MemManage_Handler(void);
void BusFault_Handler(void);
void UsageFault_Handler(void);
void SecureFault_Handler(void);
void Default_Handler(void);
void SVC_Handler(void);
void SysTick_Handler(void);
void uart_irq_handler(void);
void k5_irq_entry(void);
void k5_pendsv_entry(void);
extern const void *k5_vector_table[];

NORETURN void Reset_Handler(void) {
    __set_MSPLIM((uint32_t)&_sstack);

    // Initialise .data from its load image and zero .bss.
    for (uint32_t *src = &_sidata, *dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0;
    }
    for (uint32_t *dst = &_sk5kernel; dst < &_ek5kernel;) {
        *dst++ = 0;
    }

    SCB->VTOR = (uint32_t)k5_vector_table;

    // Full access to CP10/CP11 (the FPU), then make sure the enable is seen.
    SCB->CPACR |= (3UL << 20) | (3UL << 22);
    __DSB();
    __ISB();

    // Separate exceptions for each fault class; trap integer division by zero.
    SCB->SHCSR |= SCB_SHCSR_MEMFAULTENA_Msk | SCB_SHCSR_BUSFAULTENA_Msk
        | SCB_SHCSR_USGFAULTENA_Msk | SCB_SHCSR_SECUREFAULTENA_Msk;
    SCB->CCR |= SCB_CCR_DIV_0_TRP_Msk;

    board_init();
    main();
    for (;;) {
        board_reset();
    }
}

// Words 0 and 1 are the initial MSP and reset vector; then 14 core exceptions and the board's
// external interrupts. Unused core entries point at Default_Handler, which reports them as
// faults; external interrupts go to the trap layer (native/k5arch), which delivers the lines
// tasks hold IRQ caps for and reports any other as Default_Handler does.
__attribute__((section(".isr_vector"), used, aligned(512)))
const void *k5_vector_table[16 + K5_BOARD_NUM_IRQS] = {
    [0] = &_estack,
    [1] = Reset_Handler,
    [2 ... 15] = Default_Handler,
    [16 ... 15 + K5_BOARD_NUM_IRQS] = k5_irq_entry,
    [3] = HardFault_Handler,
    [4] = MemManage_Handler,
    [5] = BusFault_Handler,
    [6] = UsageFault_Handler,
    [7] = SecureFault_Handler,
    [11] = SVC_Handler,
    [14] = k5_pendsv_entry,
    [15] = SysTick_Handler,
    [16 + K5_BOARD_UART_IRQ] = uart_irq_handler,
    #if K5_BOARD_UART_TX_IRQ != K5_BOARD_UART_IRQ
    [16 + K5_BOARD_UART_TX_IRQ] = uart_irq_handler,
    #endif
};
