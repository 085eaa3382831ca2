// The REPL UART: CMSDK APB UART (mps2-an505) or STM32L5 LPUART1 (NUCLEO), chosen by the board.
//
// Transmit goes through a ring buffer that the transmit interrupt drains, so that writing to the
// console costs the writer a copy, not the time on the wire (a log frame of 334 bytes is 29 ms
// at 115,200 baud). Output keeps program order: every writer goes through the ring, and one
// that must wait for room (the kernel's thread, a fault handler) moves bytes to the transmitter
// itself while it waits, so it works with interrupts masked too. A task never waits in the
// kernel: the trap layer asks uart_tx_room() first and tells the task to come back
// (native/k5arch). Receive is interrupt-driven into a ring buffer so that Ctrl-C is seen while
// Python code runs (it schedules KeyboardInterrupt at the next bytecode boundary instead of
// being queued) and so that mpremote's raw-paste mode can stream a window of bytes without loss.
#include <stdint.h>
#include "py/mpconfig.h"
#include "py/runtime.h"
#include "shared/runtime/interrupt_char.h"
#include "mcu/cortex_m33.h"
#include "mphalport.h"
#include "uart.h"

void k5arch_keyboard_interrupt(void);
void k5arch_console_input(void);
int k5arch_interrupt_char(void);

#define REG32(addr) (*(volatile uint32_t *)(addr))

// Kernel-private (tasks read the console only through the kernel).
__attribute__((section(".k5kernel"))) static uint8_t rx_buf[MICROPY_HW_STDIN_BUFFER_LEN];
// The indices too: the receive interrupt writes rx_buf[rx_head], so a task must not set it.
__attribute__((section(".k5kernel"))) static volatile uint16_t rx_head; // the interrupt's
__attribute__((section(".k5kernel"))) static volatile uint16_t rx_tail; // the kernel thread's

// Contract: handler mode only (called from the UART's receive interrupt).
static void rx_push(int c) {
    if (c == k5arch_interrupt_char()) {
        k5arch_keyboard_interrupt();
        return;
    }
    uint16_t next = (rx_head + 1) % MICROPY_HW_STDIN_BUFFER_LEN;
    if (next != rx_tail) {
        rx_buf[rx_head] = c;
        rx_head = next;
    }
    k5arch_console_input();
}

// While the ring is full the receive interrupt is off (rx_held) and what comes stays in the
// UART: QEMU's then holds the host back, where the ring used to drop bytes (a paste lost some
// while the REPL was slow to read). The next read makes room and turns it on again. A Ctrl-C
// behind a full ring waits for that read too.
__attribute__((section(".k5kernel"))) static volatile uint8_t rx_held;
static bool rx_ready(void);
static int rx_get(void);
static void rx_irq(bool enable);

// Contract: handler mode only (the UART's interrupt).
static void rx_take(void) {
    while (rx_ready()) {
        if ((rx_head + 1) % MICROPY_HW_STDIN_BUFFER_LEN == rx_tail) {
            rx_held = 1;
            rx_irq(false);
            return;
        }
        rx_push(rx_get());
    }
}

int uart_rx_char(void) {
    if (rx_tail == rx_head) {
        return -1;
    }
    int c = rx_buf[rx_tail];
    rx_tail = (rx_tail + 1) % MICROPY_HW_STDIN_BUFFER_LEN;
    if (rx_held) {
        // Masked: the interrupt writes the same control register.
        uint32_t primask = __get_PRIMASK();
        __disable_irq();
        rx_held = 0;
        rx_irq(true);
        NVIC_SetPendingIRQ(K5_UART_IRQn); // what waits in the UART comes in now
        __set_PRIMASK(primask);
    }
    return c;
}

bool uart_rx_any(void) {
    return rx_tail != rx_head;
}

// The transmit ring (kernel-private): bytes [tx_tail, tx_head) wait for the transmitter.
#define TX_BUF_LEN (1024)
__attribute__((section(".k5kernel"))) static uint8_t tx_buf[TX_BUF_LEN];
__attribute__((section(".k5kernel"))) static volatile uint16_t tx_head; // writers'
__attribute__((section(".k5kernel"))) static volatile uint16_t tx_tail; // the drainer's

static bool tx_ready(void);        // the transmitter takes a byte now
static void tx_put(uint8_t byte);
static void tx_irq(bool enable);   // its "ready for more" interrupt

// Moves waiting bytes to the transmitter while it takes them, and asks for its interrupt while
// any are left. Contract: interrupts masked (or the interrupt itself).
static void tx_drain(void) {
    while (tx_tail != tx_head && tx_ready()) {
        tx_put(tx_buf[tx_tail]);
        tx_tail = (tx_tail + 1) % TX_BUF_LEN;
    }
    tx_irq(tx_tail != tx_head);
}

size_t uart_tx_room(void) {
    return TX_BUF_LEN - 1 - (tx_head - tx_tail + TX_BUF_LEN) % TX_BUF_LEN;
}

// Whatever of str fits now, without waiting; returns how many bytes.
size_t uart_tx_put(const char *str, size_t len) {
    mp_uint_t state = disable_irq();
    size_t room = uart_tx_room();
    if (len > room) {
        len = room;
    }
    for (size_t i = 0; i < len; i++) {
        tx_buf[tx_head] = (uint8_t)str[i];
        tx_head = (tx_head + 1) % TX_BUF_LEN;
    }
    tx_drain();
    enable_irq(state);
    return len;
}

void uart_tx_strn(const char *str, size_t len) {
    for (;;) {
        size_t n = uart_tx_put(str, len);
        str += n;
        len -= n;
        if (len == 0) {
            return;
        }
        mp_uint_t state = disable_irq();
        tx_drain(); // waiting for room: the transmit interrupt may not be able to run
        enable_irq(state);
    }
}

void uart_tx_flush(void) {
    for (;;) {
        mp_uint_t state = disable_irq();
        tx_drain();
        bool empty = tx_tail == tx_head;
        enable_irq(state);
        if (empty) {
            return;
        }
    }
}

#if defined(K5_BOARD_UART_CMSDK)

// ARM CMSDK APB UART.
#define UART_DATA        (K5_BOARD_UART_BASE + 0x00)
#define UART_STATE       (K5_BOARD_UART_BASE + 0x04)
#define UART_CTRL        (K5_BOARD_UART_BASE + 0x08)
#define UART_INTSTATUS   (K5_BOARD_UART_BASE + 0x0c)
#define UART_BAUDDIV     (K5_BOARD_UART_BASE + 0x10)
#define STATE_TXFULL     (1 << 0)
#define STATE_RXFULL     (1 << 1)
#define CTRL_TXEN        (1 << 0)
#define CTRL_RXEN        (1 << 1)
#define CTRL_TXIE        (1 << 2)
#define CTRL_RXIE        (1 << 3)
#define INT_TX           (1 << 0)
#define INT_RX           (1 << 1)

void uart_init(void) {
    REG32(UART_BAUDDIV) = system_core_clock_hz / K5_BOARD_UART_BAUD;
    REG32(UART_CTRL) = CTRL_TXEN | CTRL_RXEN | CTRL_RXIE;
    NVIC_SetPriority(K5_UART_IRQn, K5_IRQ_PRIORITY_UART);
    NVIC_EnableIRQ(K5_UART_IRQn);
    NVIC_SetPriority(K5_UART_TX_IRQn, K5_IRQ_PRIORITY_UART);
    NVIC_EnableIRQ(K5_UART_TX_IRQn);
}

static bool tx_ready(void) {
    return !(REG32(UART_STATE) & STATE_TXFULL);
}

static void tx_put(uint8_t byte) {
    REG32(UART_DATA) = byte;
}

static void tx_irq(bool enable) {
    uint32_t ctrl = REG32(UART_CTRL);
    REG32(UART_CTRL) = enable ? ctrl | CTRL_TXIE : ctrl & ~CTRL_TXIE;
}

static bool rx_ready(void) {
    return REG32(UART_STATE) & STATE_RXFULL;
}

static int rx_get(void) {
    return REG32(UART_DATA) & 0xff;
}

static void rx_irq(bool enable) {
    uint32_t ctrl = REG32(UART_CTRL);
    REG32(UART_CTRL) = enable ? ctrl | CTRL_RXIE : ctrl & ~CTRL_RXIE;
}

// Receive and transmit have interrupt lines of their own here; one handler serves both.
// Contract: handler mode only.
void uart_irq_handler(void) {
    REG32(UART_INTSTATUS) = INT_RX | INT_TX;
    rx_take();
    tx_drain();
}

#elif defined(K5_BOARD_UART_LPUART)

// STM32L5 LPUART (RM0438), clocked from PCLK1 (= SYSCLK here).
#define RCC_APB1ENR2     (0x40021000 + 0x5c)
#define RCC_CCIPR1       (0x40021000 + 0x88)
#define LPUART_CR1       (K5_BOARD_UART_BASE + 0x00)
#define LPUART_BRR       (K5_BOARD_UART_BASE + 0x0c)
#define LPUART_ISR       (K5_BOARD_UART_BASE + 0x1c)
#define LPUART_ICR       (K5_BOARD_UART_BASE + 0x20)
#define LPUART_RDR       (K5_BOARD_UART_BASE + 0x24)
#define LPUART_TDR       (K5_BOARD_UART_BASE + 0x28)
#define CR1_UE           (1 << 0)
#define CR1_RE           (1 << 2)
#define CR1_TE           (1 << 3)
#define CR1_RXNEIE       (1 << 5)
#define CR1_TXEIE        (1 << 7)
#define CR1_FIFOEN       (1 << 29)
#define ISR_ORE          (1 << 3)
#define ISR_RXNE         (1 << 5)
#define ISR_TXE          (1 << 7)
#define ICR_ORECF        (1 << 3)

void uart_init(void) {
    REG32(RCC_APB1ENR2) |= 1 << 0; // LPUART1EN
    (void)REG32(RCC_APB1ENR2);
    REG32(RCC_CCIPR1) &= ~(3 << 10); // LPUART1SEL = PCLK1
    REG32(LPUART_CR1) = 0;
    // BRR = 256 * fck / baud, rounded; valid for 3 * baud <= fck <= 4096 * baud.
    REG32(LPUART_BRR) = (uint32_t)(((uint64_t)system_core_clock_hz * 256 + K5_BOARD_UART_BAUD / 2)
        / K5_BOARD_UART_BAUD);
    REG32(LPUART_CR1) = CR1_FIFOEN | CR1_RXNEIE | CR1_TE | CR1_RE | CR1_UE;
    NVIC_SetPriority(K5_UART_IRQn, K5_IRQ_PRIORITY_UART);
    NVIC_EnableIRQ(K5_UART_IRQn);
}

// With the FIFO on, ISR bit 7 is TXFNF (room in the transmit FIFO) and CR1 bit 7 its interrupt.
static bool tx_ready(void) {
    return REG32(LPUART_ISR) & ISR_TXE;
}

static void tx_put(uint8_t byte) {
    REG32(LPUART_TDR) = byte;
}

static void tx_irq(bool enable) {
    uint32_t cr1 = REG32(LPUART_CR1);
    REG32(LPUART_CR1) = enable ? cr1 | CR1_TXEIE : cr1 & ~CR1_TXEIE;
}

static bool rx_ready(void) {
    return REG32(LPUART_ISR) & ISR_RXNE;
}

static int rx_get(void) {
    return REG32(LPUART_RDR) & 0xff;
}

static void rx_irq(bool enable) {
    uint32_t cr1 = REG32(LPUART_CR1);
    REG32(LPUART_CR1) = enable ? cr1 | CR1_RXNEIE : cr1 & ~CR1_RXNEIE;
}

// Contract: handler mode only.
void uart_irq_handler(void) {
    if (REG32(LPUART_ISR) & ISR_ORE) {
        REG32(LPUART_ICR) = ICR_ORECF;
    }
    rx_take();
    tx_drain();
}

#else
#error "the board must define K5_BOARD_UART_CMSDK or K5_BOARD_UART_LPUART"
#endif
