// NUCLEO-L552ZE-Q (MB1361): STM32L552ZET6Q, REPL on LPUART1 = the ST-LINK virtual COM port.
#define MICROPY_HW_BOARD_NAME       "NUCLEO_L552ZE_Q"
#define MICROPY_HW_MCU_NAME         "STM32L552ZE"

#define K5_BOARD_NUM_IRQS           (108)
#define K5_BOARD_NVIC_PRIO_BITS     (3)

// REPL: LPUART1 on PG7 (TX) / PG8 (RX), AF8; LPUART1_IRQn = 66.
#define K5_BOARD_UART_LPUART        (1)
#define K5_BOARD_UART_BASE          (0x40008000)
#define K5_BOARD_UART_IRQ           (66)
#define K5_BOARD_UART_TX_IRQ        (66)  // one line for receive and transmit
#define K5_BOARD_UART_BAUD          (115200)

// Core clock: 110 MHz from the PLL, or the 4 MHz reset clock (MSI) with K5_CLOCK_MSI_4MHZ=1.
#ifndef K5_CLOCK_MSI_4MHZ
#define K5_CLOCK_MSI_4MHZ           (0)
#endif
