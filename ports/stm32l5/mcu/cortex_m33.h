// The Cortex-M33 as both K5 boards have it: CMSIS core access with the device facts CMSIS needs.
//
// CMSIS's core_cm33.h expects a vendor device header to define IRQn_Type and the core's
// configuration. We have no vendor header (ST's is not available), so this file is it: the core
// exceptions, the configuration shared by the STM32L552 and QEMU's mps2-an505, and the
// board-specific interrupt numbers from mpconfigboard.h.
#ifndef K5_INCLUDED_MCU_CORTEX_M33_H
#define K5_INCLUDED_MCU_CORTEX_M33_H

#include "mpconfigboard.h"

typedef enum {
    Reset_IRQn = -15,
    NonMaskableInt_IRQn = -14,
    HardFault_IRQn = -13,
    MemoryManagement_IRQn = -12,
    BusFault_IRQn = -11,
    UsageFault_IRQn = -10,
    SecureFault_IRQn = -9,
    SVCall_IRQn = -5,
    DebugMonitor_IRQn = -4,
    PendSV_IRQn = -2,
    SysTick_IRQn = -1,
    K5_UART_IRQn = K5_BOARD_UART_IRQ,
    K5_UART_TX_IRQn = K5_BOARD_UART_TX_IRQ, // the same line where the UART has one
} IRQn_Type;

#define __CM33_REV                0x0000U
#define __SAUREGION_PRESENT       1U
#define __MPU_PRESENT             1U
#define __VTOR_PRESENT            1U
#define __NVIC_PRIO_BITS          K5_BOARD_NVIC_PRIO_BITS
#define __Vendor_SysTickConfig    0U
#define __FPU_PRESENT             1U
#define __DSP_PRESENT             1U

#include "core_cm33.h"

// Exception priorities (0 = most urgent; only the top __NVIC_PRIO_BITS bits are implemented).
// Faults keep their fixed-or-highest priorities; the console UART outranks SysTick so that no
// received character is lost while time is being accounted; SVC and PendSV rank lowest.
#define K5_IRQ_PRIORITY_UART      (1)
#define K5_IRQ_PRIORITY_SYSTICK   (2)
#define K5_IRQ_PRIORITY_DEVICE    (3)   // interrupt lines delivered to tasks (IRQ caps)
#define K5_IRQ_PRIORITY_SVC       ((1 << __NVIC_PRIO_BITS) - 1)

#endif // K5_INCLUDED_MCU_CORTEX_M33_H
