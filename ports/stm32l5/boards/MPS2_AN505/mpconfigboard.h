// QEMU mps2-an505: the emulated Cortex-M33 standing in for the STM32L552 in tests and the demo.
#define MICROPY_HW_BOARD_NAME       "MPS2_AN505"
#define MICROPY_HW_MCU_NAME         "Cortex-M33 (QEMU)"

// The IoTKit's 32 internal interrupts plus the FPGA's 92 expansion interrupts.
#define K5_BOARD_NUM_IRQS           (124)
// Priority bits used by K5 (QEMU implements more; the STM32L5 has 3).
#define K5_BOARD_NVIC_PRIO_BITS     (3)

// REPL: CMSDK UART0 (Secure alias), its receive interrupt is expansion IRQ 0.
#define K5_BOARD_UART_CMSDK         (1)
#define K5_BOARD_UART_BASE          (0x50200000)
#define K5_BOARD_UART_IRQ           (32)
#define K5_BOARD_UART_TX_IRQ        (33)  // its transmit interrupt
#define K5_BOARD_UART_BAUD          (115200)

// The attack corpus's hostile native code (native/k5attack): in the test board's image only.
#define K5_BOARD_ATTACK_MODULE      (1)
