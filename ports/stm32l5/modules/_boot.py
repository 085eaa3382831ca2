# The root task's first step at every (soft) reset: the board's flash area is the filesystem at /,
# formatted as littlefs2 the first time (an erased or foreign area does not mount).
import stm32l5
import vfs

_bdev = stm32l5.Flash()
try:
    _fs = vfs.VfsLfs2(_bdev)
except OSError:
    vfs.VfsLfs2.mkfs(_bdev)
    _fs = vfs.VfsLfs2(_bdev)
vfs.mount(_fs, "/")
del _bdev, _fs, stm32l5, vfs
