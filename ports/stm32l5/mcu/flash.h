// The board's flash for the filesystem (flashbdev.c): erase and program, with flash semantics.
//
// The filesystem area is the board linker script's FS memory region (_k5_fs_start.._k5_fs_end).
// Its unit of erase is K5_FLASH_BLOCK_SIZE; an erased byte reads 0xff; programming writes whole
// 64-bit double words, each of which must be erased first (as on the STM32L5). Both functions
// return 0 or a negative MicroPython errno, and run in the root task (unprivileged: the area and
// the flash controller are in its MPU map, see native/k5arch).
#ifndef K5_INCLUDED_MCU_FLASH_H
#define K5_INCLUDED_MCU_FLASH_H

#include <stddef.h>
#include <stdint.h>

#define K5_FLASH_BLOCK_SIZE (4096)
#define K5_FLASH_DWORD      (8)

extern uint32_t _k5_fs_start, _k5_fs_end;

// Erases the block at `addr` (a multiple of K5_FLASH_BLOCK_SIZE inside the area).
int board_flash_erase(uint32_t addr);

// Programs `len` bytes (a multiple of 8) from `src` at `addr` (8-byte aligned, inside the area).
int board_flash_program(uint32_t addr, const uint8_t *src, size_t len);

#endif // K5_INCLUDED_MCU_FLASH_H
