// The REPL UART: interrupt-driven transmit and receive ring buffers (uart.c).
#ifndef K5_INCLUDED_UART_H
#define K5_INCLUDED_UART_H

#include <stddef.h>
#include <stdbool.h>

void uart_init(void);
// All of str, in order; waits (moving bytes out itself) while the transmit ring is full.
void uart_tx_strn(const char *str, size_t len);
// What fits now, never waiting; the bytes taken.
size_t uart_tx_put(const char *str, size_t len);
size_t uart_tx_room(void);
// Waits until the transmit ring is empty (before a reset, a power-off, a fault's report).
void uart_tx_flush(void);
// Returns the next received byte, or -1 when none is waiting.
int uart_rx_char(void);
bool uart_rx_any(void);

#endif // K5_INCLUDED_UART_H
