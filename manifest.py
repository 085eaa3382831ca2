# Freeze manifest: K5's kernel package, its example tasks, and MicroPython's asyncio (the baseline
# K5's IPC is measured against), compiled to bytecode into the image.
# $(K5_TOP) is the repository root (set by ports/stm32l5/Makefile).
# Not frozen: k5/user.py, which the image has as C (native/k5arch/user.c, made from it), and
# the host's backend and its wire. (The manifest runs in the repository's root.)
import os  # noqa: E402

_HOST_ONLY = ("user.py", "arch_host.py", "wire.py", "image_host.py")
_K5 = sorted(f for f in os.listdir("k5") if f.endswith(".py") and f not in _HOST_ONLY)
package("k5", files=_K5, base_path="$(K5_TOP)")
freeze("$(K5_TOP)/tasks")
include("$(MPY_DIR)/extmod/asyncio")
# The port's own start-up (the root task mounts the filesystem).
freeze("$(K5_TOP)/ports/stm32l5/modules")
