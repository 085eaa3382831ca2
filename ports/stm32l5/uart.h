// The REPL UART: a polled transmitter and an interrupt-driven receive ring buffer.
#ifndef K5_INCLUDED_UART_H
#define K5_INCLUDED_UART_H

#include <stddef.h>
#include <stdbool.h>

void uart_init(void);
void uart_tx_strn(const char *str, size_t len);
// Returns the next received byte, or -1 when none is waiting.
int uart_rx_char(void);
bool uart_rx_any(void);

#endif // K5_INCLUDED_UART_H
