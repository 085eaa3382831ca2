// NUCLEO-L552ZE-Q start-up: core clock, the LPUART1 pins, reset and shutdown (RM0438 registers).
#include <stdint.h>
#include "mcu/cortex_m33.h"
#include "mcu/board.h"
#include "uart.h"

#define REG32(addr)       (*(volatile uint32_t *)(addr))

#define RCC_CR            (0x40021000 + 0x00)
#define RCC_CFGR          (0x40021000 + 0x08)
#define RCC_PLLCFGR       (0x40021000 + 0x0c)
#define RCC_AHB2ENR       (0x40021000 + 0x4c)
#define RCC_APB1ENR1      (0x40021000 + 0x58)
#define PWR_CR1           (0x40007000 + 0x00)
#define PWR_CR2           (0x40007000 + 0x04)
#define PWR_SR2           (0x40007000 + 0x14)
#define FLASH_ACR         (0x40022000 + 0x00)
#define ICACHE_CR         (0x40030400 + 0x00)
#define GPIOG_MODER       (0x42021800 + 0x00)
#define GPIOG_AFRL        (0x42021800 + 0x20)
#define GPIOG_AFRH        (0x42021800 + 0x24)

#define RCC_CR_PLLON      (1 << 24)
#define RCC_CR_PLLRDY     (1 << 25)
#define RCC_CFGR_SW_PLL   (3 << 0)
#define RCC_CFGR_SWS_MASK (3 << 2)
#define RCC_CFGR_SWS_PLL  (3 << 2)
#define RCC_CFGR_HPRE_MASK (0xf << 4)
#define RCC_CFGR_HPRE_DIV2 (0x8 << 4)
#define PWR_CR1_VOS_MASK  (3 << 9)
#define PWR_CR1_LPMS_SHUTDOWN (4 << 0)
#define PWR_CR2_IOSV      (1 << 9)
#define PWR_SR2_VOSF      (1 << 10)

uint32_t system_core_clock_hz;

#if !K5_CLOCK_MSI_4MHZ
// 110 MHz: voltage range 0, 5 flash wait states, PLL from MSI 4 MHz with M=1, N=55, R=2. The AHB
// prescaler is /2 across the switch so the current step stays within what the regulator allows.
static void clock_init_110mhz(void) {
    REG32(PWR_CR1) &= ~PWR_CR1_VOS_MASK;
    while (REG32(PWR_SR2) & PWR_SR2_VOSF) {
    }
    REG32(FLASH_ACR) = (REG32(FLASH_ACR) & ~0xf) | 5;
    while ((REG32(FLASH_ACR) & 0xf) != 5) {
    }
    REG32(RCC_PLLCFGR) = 0x01003701; // PLLSRC=MSI, PLLM=1, PLLN=55, PLLR=2, PLLREN
    REG32(RCC_CR) |= RCC_CR_PLLON;
    while (!(REG32(RCC_CR) & RCC_CR_PLLRDY)) {
    }
    REG32(RCC_CFGR) = (REG32(RCC_CFGR) & ~RCC_CFGR_HPRE_MASK) | RCC_CFGR_HPRE_DIV2;
    REG32(RCC_CFGR) |= RCC_CFGR_SW_PLL;
    while ((REG32(RCC_CFGR) & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_PLL) {
    }
    REG32(RCC_CFGR) &= ~RCC_CFGR_HPRE_MASK;
    REG32(ICACHE_CR) |= 1;
    system_core_clock_hz = 110000000;
}
#endif

void board_init(void) {
    REG32(RCC_APB1ENR1) |= 1 << 28; // PWREN
    (void)REG32(RCC_APB1ENR1);
    #if K5_CLOCK_MSI_4MHZ
    system_core_clock_hz = 4000000;
    #else
    clock_init_110mhz();
    #endif

    // GPIOG is powered from VDDIO2: declare it valid, then PG7/PG8 to AF8 (LPUART1).
    REG32(PWR_CR2) |= PWR_CR2_IOSV;
    REG32(RCC_AHB2ENR) |= 1 << 6; // GPIOGEN
    (void)REG32(RCC_AHB2ENR);
    REG32(GPIOG_AFRL) = (REG32(GPIOG_AFRL) & ~(0xfu << 28)) | (8u << 28);
    REG32(GPIOG_AFRH) = (REG32(GPIOG_AFRH) & ~0xfu) | 8u;
    REG32(GPIOG_MODER) = (REG32(GPIOG_MODER) & ~(0xfu << 14)) | (0xau << 14);
}

// Every SysTick period interrupts (the handler runs well within a millisecond).
void board_systick_starting(void) {
}

uint32_t board_systick_periods(void) {
    return 1;
}

// From the SysTick down-counter.
uint32_t board_systick_elapsed(void) {
    uint32_t val = SysTick->VAL;
    if (SCB->ICSR & SCB_ICSR_PENDSTSET_Msk) {
        // The counter wrapped but its interrupt has not run yet: re-read after the wrap.
        return SysTick->LOAD + 1 + SysTick->LOAD - SysTick->VAL;
    }
    return SysTick->LOAD - val;
}

NORETURN void board_reset(void) {
    uart_tx_flush(); // what the console still holds goes out first
    NVIC_SystemReset();
}

// Shutdown mode: the lowest-power state; only a reset (or a wake-up pin) leaves it.
NORETURN void board_poweroff(int status) {
    uart_tx_flush(); // what the console still holds goes out first
    (void)status;
    REG32(PWR_CR1) = (REG32(PWR_CR1) & ~7u) | PWR_CR1_LPMS_SHUTDOWN;
    SCB->SCR |= SCB_SCR_SLEEPDEEP_Msk;
    for (;;) {
        __DSB();
        __WFI();
    }
}

NORETURN void board_fault_restart(void) {
    uart_tx_flush(); // what the console still holds goes out first
    NVIC_SystemReset();
}
