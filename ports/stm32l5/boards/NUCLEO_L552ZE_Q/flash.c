// STM32L552 embedded flash: page erase and double-word programming through the non-secure flash
// controller (RM0438 §6: FLASH_NSKEYR, FLASH_NSSR, FLASH_NSCR; TrustZone off, as delivered).
//
// With DBANK=1 (the factory setting) the 512 KB are two banks of 128 pages of 2 KB, bank 2 at
// 0x08040000; with DBANK=0 one bank of 128 pages of 4 KB. A filesystem block (4 KB) is two pages
// or one. The filesystem lies in bank 2 (board.ld): code running from bank 1 keeps running while
// bank 2 erases, and a read of bank 2 meanwhile stalls until the operation ends.
#include <string.h>
#include "py/mperrno.h"
#include "mcu/flash.h"

#define REG32(addr)         (*(volatile uint32_t *)(addr))
#define FLASH_NSKEYR        (0x40022000 + 0x08)
#define FLASH_NSSR          (0x40022000 + 0x20)
#define FLASH_NSCR          (0x40022000 + 0x28)
#define FLASH_OPTR          (0x40022000 + 0x40)
#define ICACHE_CR           (0x40030400 + 0x00)
#define ICACHE_SR           (0x40030400 + 0x04)

#define FLASH_BASE          (0x08000000)
#define FLASH_BANK2         (0x08040000)
#define FLASH_KEY1          (0x45670123)
#define FLASH_KEY2          (0xcdef89ab)
#define OPTR_DBANK          (1u << 22)
#define NSSR_EOP            (1u << 0)
#define NSSR_ERRORS         (0xfau)         // OPERR, PROGERR, WRPERR, PGAERR, SIZERR, PGSERR
#define NSSR_BSY            (1u << 16)
#define NSCR_PG             (1u << 0)
#define NSCR_PER            (1u << 1)
#define NSCR_PNB_POS        (3)
#define NSCR_BKER           (1u << 11)
#define NSCR_STRT           (1u << 16)
#define NSCR_LOCK           (1u << 31)
#define ICACHE_CR_EN        (1u << 0)
#define ICACHE_CR_CACHEINV  (1u << 1)
#define ICACHE_SR_BUSYF     (1u << 0)

static void wait_idle(void) {
    while (REG32(FLASH_NSSR) & NSSR_BSY) {
    }
}

// Unlocks the control register and clears the status flags of any earlier operation.
static void unlock(void) {
    wait_idle();
    if (REG32(FLASH_NSCR) & NSCR_LOCK) {
        REG32(FLASH_NSKEYR) = FLASH_KEY1;
        REG32(FLASH_NSKEYR) = FLASH_KEY2;
    }
    REG32(FLASH_NSSR) = NSSR_EOP | NSSR_ERRORS;
}

// Locks the controller again; the instruction cache (which also serves data reads of the code
// region) forgets what the operation changed.
static int finish(void) {
    wait_idle();
    uint32_t status = REG32(FLASH_NSSR);
    REG32(FLASH_NSSR) = NSSR_EOP | NSSR_ERRORS;
    REG32(FLASH_NSCR) = NSCR_LOCK;
    if (REG32(ICACHE_CR) & ICACHE_CR_EN) {
        REG32(ICACHE_CR) |= ICACHE_CR_CACHEINV;
        while (REG32(ICACHE_SR) & ICACHE_SR_BUSYF) {
        }
    }
    return (status & NSSR_ERRORS) ? -MP_EIO : 0;
}

static int erase_page(uint32_t addr, uint32_t page_size) {
    uint32_t bank = 0;
    uint32_t offset = addr - FLASH_BASE;
    if (page_size == 2048 && addr >= FLASH_BANK2) {
        bank = NSCR_BKER;
        offset = addr - FLASH_BANK2;
    }
    unlock();
    REG32(FLASH_NSCR) = NSCR_PER | bank | ((offset / page_size) << NSCR_PNB_POS);
    REG32(FLASH_NSCR) |= NSCR_STRT;
    return finish();
}

int board_flash_erase(uint32_t addr) {
    uint32_t page_size = (REG32(FLASH_OPTR) & OPTR_DBANK) ? 2048 : 4096;
    for (uint32_t page = addr; page < addr + K5_FLASH_BLOCK_SIZE; page += page_size) {
        int err = erase_page(page, page_size);
        if (err) {
            return err;
        }
    }
    return 0;
}

int board_flash_program(uint32_t addr, const uint8_t *src, size_t len) {
    int err = 0;
    for (size_t done = 0; done < len && !err; done += K5_FLASH_DWORD) {
        uint32_t words[2];
        memcpy(words, src + done, sizeof(words));
        unlock();
        REG32(FLASH_NSCR) = NSCR_PG;
        // The two words of a double word, in order and back to back (RM0438 §6.3.7).
        REG32(addr + done) = words[0];
        REG32(addr + done + 4) = words[1];
        err = finish();
    }
    return err;
}
