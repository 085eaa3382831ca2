// A filesystem a task made is never driven from the kernel's thread.
//
// Why it is built this way: MicroPython closes a file it collects (its finaliser), and littlefs
// then flushes it through the block device's methods. Every collection runs in the kernel's
// privileged thread (main.c gc_collect), so a task that mounted a filesystem of its own on a
// block device of its own (a Python class, or another object's bound methods such as
// stm32l5.Flash's) and dropped an unclosed file had those methods called there: its Python code
// ran privileged, with the kernel's namespace, and C methods ran with the kernel's rights (the
// root's flash written by a task). The finaliser must still close the file (littlefs keeps open
// files in a list inside the filesystem: one freed without closing is a dangling pointer), so
// the close runs as before, but every block device call of a filesystem made in a task other
// than the root fails with EPERM on the kernel's thread: littlefs gets an error code (it
// unlinks the file all the same), the task's unflushed data is lost, and nothing of the task's
// runs. The root's filesystems (the flash) are flushed as before.
//
// The calls of extmod/vfs_lfsx.c reach these through the linker's --wrap (Makefile).
#include "py/mperrno.h"
#include "py/runtime.h"
#include "extmod/vfs.h"
#include "k5arch.h"

// Set in a block device made by a task without the root's rights.
#define K5_BLOCKDEV_FLAG_TASK (0x8000)

void __real_mp_vfs_blockdev_init(mp_vfs_blockdev_t *self, mp_obj_t bdev);
int __real_mp_vfs_blockdev_read(mp_vfs_blockdev_t *self, size_t block_num, size_t num_blocks,
    uint8_t *buf);
int __real_mp_vfs_blockdev_read_ext(mp_vfs_blockdev_t *self, size_t block_num, size_t block_off,
    size_t len, uint8_t *buf);
int __real_mp_vfs_blockdev_write(mp_vfs_blockdev_t *self, size_t block_num, size_t num_blocks,
    const uint8_t *buf);
int __real_mp_vfs_blockdev_write_ext(mp_vfs_blockdev_t *self, size_t block_num, size_t block_off,
    size_t len, const uint8_t *buf);
mp_obj_t __real_mp_vfs_blockdev_ioctl(mp_vfs_blockdev_t *self, uintptr_t cmd, uintptr_t arg);

// A task's block device called from the kernel's thread (a collection closing its file).
static bool refused(mp_vfs_blockdev_t *self) {
    return (self->flags & K5_BLOCKDEV_FLAG_TASK) && !k5arch_in_task();
}

void __wrap_mp_vfs_blockdev_init(mp_vfs_blockdev_t *self, mp_obj_t bdev) {
    __real_mp_vfs_blockdev_init(self, bdev);
    if (!k5arch_root_rights()) {
        self->flags |= K5_BLOCKDEV_FLAG_TASK;
    }
}

int __wrap_mp_vfs_blockdev_read(mp_vfs_blockdev_t *self, size_t block_num, size_t num_blocks,
    uint8_t *buf) {
    if (refused(self)) {
        return -MP_EPERM;
    }
    return __real_mp_vfs_blockdev_read(self, block_num, num_blocks, buf);
}

int __wrap_mp_vfs_blockdev_read_ext(mp_vfs_blockdev_t *self, size_t block_num, size_t block_off,
    size_t len, uint8_t *buf) {
    if (refused(self)) {
        return -MP_EPERM;
    }
    return __real_mp_vfs_blockdev_read_ext(self, block_num, block_off, len, buf);
}

int __wrap_mp_vfs_blockdev_write(mp_vfs_blockdev_t *self, size_t block_num, size_t num_blocks,
    const uint8_t *buf) {
    if (refused(self)) {
        return -MP_EPERM;
    }
    return __real_mp_vfs_blockdev_write(self, block_num, num_blocks, buf);
}

int __wrap_mp_vfs_blockdev_write_ext(mp_vfs_blockdev_t *self, size_t block_num, size_t block_off,
    size_t len, const uint8_t *buf) {
    if (refused(self)) {
        return -MP_EPERM;
    }
    return __real_mp_vfs_blockdev_write_ext(self, block_num, block_off, len, buf);
}

mp_obj_t __wrap_mp_vfs_blockdev_ioctl(mp_vfs_blockdev_t *self, uintptr_t cmd, uintptr_t arg) {
    if (refused(self)) {
        return MP_OBJ_NEW_SMALL_INT(-MP_EPERM);
    }
    return __real_mp_vfs_blockdev_ioctl(self, cmd, arg);
}
