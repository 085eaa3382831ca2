# Freeze manifest: K5's kernel package, its example tasks, and MicroPython's asyncio (the baseline
# K5's IPC is measured against), compiled to bytecode into the image.
# $(K5_TOP) is the repository root (set by ports/stm32l5/Makefile).
package("k5", base_path="$(K5_TOP)")
freeze("$(K5_TOP)/tasks")
include("$(MPY_DIR)/extmod/asyncio")
# The port's own start-up (the root task mounts the filesystem).
freeze("$(K5_TOP)/ports/stm32l5/modules")
