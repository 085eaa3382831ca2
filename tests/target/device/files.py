"""On the board: the root's filesystem, and what a task reaches of it (nothing).

Prints "fs <name> <value>" lines; the test compares them with what the root sees.
"""

import os

import stm32l5
import vfs
from k5.system import System

with open("secret.txt", "w") as f:
    f.write("the root's")
with open("fsmod.py", "w") as f:
    f.write("X = 1\n")


def report(name, value):
    print("fs", name, repr(value)[:40])  # a task's console line holds 56 characters


def attempt(name, action):
    try:
        report(name, action())
    except Exception as exc:
        report(name, type(exc).__name__ + ": " + str(exc))


def body(ipc, arg):
    import os

    import stm32l5
    import vfs

    attempt("open", lambda: open("/secret.txt").read())
    attempt("open_relative", lambda: open("secret.txt").read())
    attempt("listdir", lambda: os.listdir("/"))
    attempt("getcwd", os.getcwd)
    attempt("stat", lambda: os.stat("/secret.txt"))
    attempt("remove", lambda: os.remove("/secret.txt"))
    attempt("write", lambda: open("/planted.txt", "w"))
    attempt("import", lambda: __import__("fsmod").X)
    flash = stm32l5.Flash()
    attempt("readblocks", lambda: flash.readblocks(0, bytearray(16)))
    attempt("writeblocks", lambda: flash.writeblocks(0, bytearray(16)))
    attempt("ioctl_erase", lambda: flash.ioctl(6, 0))
    attempt("mount_flash", lambda: vfs.mount(vfs.VfsLfs2(flash), "/"))

    # A filesystem of the task's own, in its own RAM: allowed, and only its own.
    class RamDisk:
        """A block device in RAM (the extended protocol), 512-byte blocks."""

        def __init__(self, blocks):
            self.data = bytearray(512 * blocks)

        def readblocks(self, n, buf, off=0):
            buf[:] = self.data[n * 512 + off : n * 512 + off + len(buf)]

        def writeblocks(self, n, buf, off=None):
            start = n * 512 + (off or 0)
            self.data[start : start + len(buf)] = buf

        def ioctl(self, op, arg):
            if op == 4:
                return len(self.data) // 512
            if op == 5:
                return 512
            if op == 6:
                self.data[arg * 512 : arg * 512 + 512] = b"\xff" * 512
            return 0

    ram = RamDisk(16)
    vfs.VfsLfs2.mkfs(ram)
    vfs.mount(vfs.VfsLfs2(ram), "/own")
    with open("/own/note.txt", "w") as f:
        f.write("mine")
    attempt("own", lambda: (os.listdir("/"), open("/own/note.txt").read()))


system = System()
system.task("reader", body, priority=20, stack=8192)
system.run(400)
# The root still has everything, and nothing of the task's.
report("root_secret", open("/secret.txt").read())
report("root_listdir", sorted(os.listdir("/")))
report("root_flash_blocks", stm32l5.Flash().ioctl(4, 0))
os.remove("secret.txt")
os.remove("fsmod.py")
# Flash rules (the same on both boards), on the raw area (unmounted, formatted again after):
# programming an erased double word works once.
vfs.umount("/")
flash = stm32l5.Flash()
last = flash.ioctl(4, 0) - 1
report("erase", flash.ioctl(6, last))
blank = bytearray(8)
flash.readblocks(last, blank, 0)
report("erased", bytes(blank))
report("program", flash.writeblocks(last, b"K5K5K5K5", 0))
report("reprogram", flash.writeblocks(last, b"AAAAAAAA", 0))
flash.readblocks(last, blank, 0)
report("kept", bytes(blank))
report("misaligned", flash.writeblocks(last, b"1234", 8))
report("outside", flash.readblocks(last + 1, blank, 0))
report("offset_past_end", flash.readblocks(last, blank, 8192))
report("spans_past_end", flash.readblocks(last, bytearray(4104), 0))
vfs.VfsLfs2.mkfs(flash)
vfs.mount(vfs.VfsLfs2(flash), "/")
report("remounted", os.listdir("/"))
