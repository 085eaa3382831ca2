// stm32l5.Flash: the board's filesystem area as a MicroPython block device (the extended block
// protocol: readblocks/writeblocks with an offset, ioctl with BLOCK_ERASE), for vfs.VfsLfs2.
//
// The area belongs to the root task: it alone has the area and the flash controller in its MPU
// map, and a call in any other task raises OSError(EPERM) before it touches the memory (native/
// k5arch keeps the mounted filesystem out of tasks' namespaces too). Errors of the flash come
// back as negative errnos, as littlefs expects from a block device.
#include <string.h>
#include "py/mperrno.h"
#include "py/runtime.h"
#include "extmod/vfs.h"
#include "mcu/flash.h"
#include "k5arch.h"

typedef struct _stm32l5_flash_obj_t {
    mp_obj_base_t base;
} stm32l5_flash_obj_t;

static const mp_obj_type_t stm32l5_flash_type;
static const stm32l5_flash_obj_t stm32l5_flash_obj = { { &stm32l5_flash_type } };

static uint32_t area_start(void) {
    return (uint32_t)&_k5_fs_start;
}

static uint32_t area_size(void) {
    return (uint32_t)&_k5_fs_end - (uint32_t)&_k5_fs_start;
}

static void check_owner(void) {
    if (!k5arch_root_rights()) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("K5: the flash belongs to the root task"));
    }
}

// The address of `len` bytes at `offset` into `block`, or 0 if they are not all in the area.
static uint32_t area_addr(mp_obj_t block, mp_int_t offset, size_t len) {
    mp_int_t n = mp_obj_get_int(block);
    uint32_t size = area_size();
    if (n < 0 || offset < 0 || (uint32_t)n >= size / K5_FLASH_BLOCK_SIZE
        || (uint32_t)offset > size) {
        return 0;
    }
    uint32_t start = (uint32_t)n * K5_FLASH_BLOCK_SIZE + (uint32_t)offset;
    if (start > size || len > size - start) {
        return 0;
    }
    return area_start() + start;
}

static mp_obj_t flash_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
    const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 0, 0, false);
    return MP_OBJ_FROM_PTR(&stm32l5_flash_obj);
}

static mp_obj_t flash_readblocks(size_t n_args, const mp_obj_t *args) {
    check_owner();
    mp_buffer_info_t buf;
    mp_get_buffer_raise(args[2], &buf, MP_BUFFER_WRITE);
    uint32_t addr = area_addr(args[1], n_args > 3 ? mp_obj_get_int(args[3]) : 0, buf.len);
    if (addr == 0) {
        return MP_OBJ_NEW_SMALL_INT(-MP_EINVAL);
    }
    memcpy(buf.buf, (const void *)addr, buf.len);
    return MP_OBJ_NEW_SMALL_INT(0);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(flash_readblocks_obj, 3, 4, flash_readblocks);

// writeblocks(block, buf): erases the blocks buf spans, then programs them (the simple protocol);
// writeblocks(block, buf, offset): programs only, into erased flash (the extended one).
static mp_obj_t flash_writeblocks(size_t n_args, const mp_obj_t *args) {
    check_owner();
    mp_buffer_info_t buf;
    mp_get_buffer_raise(args[2], &buf, MP_BUFFER_READ);
    mp_int_t offset = n_args > 3 ? mp_obj_get_int(args[3]) : 0;
    uint32_t addr = area_addr(args[1], offset, buf.len);
    if (addr == 0 || addr % K5_FLASH_DWORD || buf.len % K5_FLASH_DWORD) {
        return MP_OBJ_NEW_SMALL_INT(-MP_EINVAL);
    }
    if (n_args == 3) {
        for (uint32_t block = addr; block < addr + buf.len; block += K5_FLASH_BLOCK_SIZE) {
            int err = board_flash_erase(block);
            if (err) {
                return MP_OBJ_NEW_SMALL_INT(err);
            }
        }
    }
    return MP_OBJ_NEW_SMALL_INT(board_flash_program(addr, buf.buf, buf.len));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(flash_writeblocks_obj, 3, 4, flash_writeblocks);

static mp_obj_t flash_ioctl(mp_obj_t self_in, mp_obj_t op_in, mp_obj_t arg_in) {
    check_owner();
    switch (mp_obj_get_int(op_in)) {
        case MP_BLOCKDEV_IOCTL_INIT:
        case MP_BLOCKDEV_IOCTL_DEINIT:
        case MP_BLOCKDEV_IOCTL_SYNC:
            return MP_OBJ_NEW_SMALL_INT(0);
        case MP_BLOCKDEV_IOCTL_BLOCK_COUNT:
            return MP_OBJ_NEW_SMALL_INT(area_size() / K5_FLASH_BLOCK_SIZE);
        case MP_BLOCKDEV_IOCTL_BLOCK_SIZE:
            return MP_OBJ_NEW_SMALL_INT(K5_FLASH_BLOCK_SIZE);
        case MP_BLOCKDEV_IOCTL_BLOCK_ERASE: {
            uint32_t addr = area_addr(arg_in, 0, K5_FLASH_BLOCK_SIZE);
            return MP_OBJ_NEW_SMALL_INT(addr ? board_flash_erase(addr) : -MP_EINVAL);
        }
        default:
            return mp_const_none;
    }
}
static MP_DEFINE_CONST_FUN_OBJ_3(flash_ioctl_obj, flash_ioctl);

static const mp_rom_map_elem_t flash_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_readblocks), MP_ROM_PTR(&flash_readblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_writeblocks), MP_ROM_PTR(&flash_writeblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_ioctl), MP_ROM_PTR(&flash_ioctl_obj) },
};
static MP_DEFINE_CONST_DICT(flash_locals_dict, flash_locals_dict_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    stm32l5_flash_type,
    MP_QSTR_Flash,
    MP_TYPE_FLAG_NONE,
    make_new, flash_make_new,
    locals_dict, &flash_locals_dict
    );

static const mp_rom_map_elem_t stm32l5_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_stm32l5) },
    { MP_ROM_QSTR(MP_QSTR_Flash), MP_ROM_PTR(&stm32l5_flash_type) },
};
static MP_DEFINE_CONST_DICT(stm32l5_module_globals, stm32l5_module_globals_table);

const mp_obj_module_t stm32l5_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&stm32l5_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_stm32l5, stm32l5_module);
