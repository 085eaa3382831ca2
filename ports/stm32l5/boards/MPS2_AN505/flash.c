// The emulated board's flash: QEMU's 16 MB PSRAM at 0x80000000 (the machine's main memory, which
// `k5 emu` backs with a host file so that it survives the emulator), given the STM32L5 flash's
// semantics so that the filesystem meets the same rules as on the NUCLEO: a block erases to 0xff,
// and a double word can be programmed only once after an erase (else PROGERR: the operation fails
// and the memory is left as it was), unless it is programmed to all zeros.
#include <stdbool.h>
#include <string.h>
#include "py/mperrno.h"
#include "mcu/flash.h"

int board_flash_erase(uint32_t addr) {
    memset((void *)addr, 0xff, K5_FLASH_BLOCK_SIZE);
    return 0;
}

int board_flash_program(uint32_t addr, const uint8_t *src, size_t len) {
    for (size_t done = 0; done < len; done += K5_FLASH_DWORD) {
        uint32_t words[2], old[2];
        memcpy(words, src + done, sizeof(words));
        memcpy(old, (const void *)(addr + done), sizeof(old));
        bool erased = old[0] == 0xffffffffu && old[1] == 0xffffffffu;
        if (!erased && (words[0] | words[1]) != 0) {
            return -MP_EIO;
        }
        memcpy((void *)(addr + done), words, sizeof(words));
    }
    return 0;
}
