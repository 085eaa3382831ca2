# Freeze manifest: K5's kernel package and its example tasks, compiled to bytecode into the image.
# $(K5_TOP) is the repository root (set by ports/stm32l5/Makefile).
package("k5", base_path="$(K5_TOP)")
freeze("$(K5_TOP)/tasks")
