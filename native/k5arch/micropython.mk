# Module _k5arch: K5's trap layer for the Cortex-M33 (see k5arch.h).
K5ARCH_DIR := $(USERMOD_DIR)

SRC_USERMOD_C += $(K5ARCH_DIR)/k5arch.c $(K5ARCH_DIR)/trap.c $(K5ARCH_DIR)/modk5arch.c \
	$(K5ARCH_DIR)/namespace.c $(K5ARCH_DIR)/code.c $(K5ARCH_DIR)/fastpath.c \
	$(K5ARCH_DIR)/log.c $(K5ARCH_DIR)/wire.c $(K5ARCH_DIR)/ipcbuf.c $(K5ARCH_DIR)/user.c \
	$(K5ARCH_DIR)/image.c
CFLAGS_USERMOD += -I$(K5ARCH_DIR) -I$(BUILD)/k5

# The ABI header is generated from k5/abi.py, the single source of truth, on every make run
# (it is rewritten only when its text changes).
K5ABI_H := $(BUILD)/k5/k5abi.h
$(shell mkdir -p $(BUILD)/k5 && python3 $(K5ARCH_DIR)/../../tools/gen_abi_h.py \
	$(K5ARCH_DIR)/../../k5/abi.py $(K5ABI_H))
# So is what the board's kernel keeps for itself (its peripherals.toml [kept.*]): the windows
# and interrupt lines the builder refuses.
$(shell python3 $(K5ARCH_DIR)/../../tools/gen_kept_h.py \
	$(BOARD_DIR)/peripherals.toml $(BUILD)/k5/k5kept.h)
# So is the user API in flash (native/k5arch/user.c), from k5/user.py.
K5USER_REFUSED := $(shell python3 $(K5ARCH_DIR)/../../tools/gen_user_c.py \
	$(K5ARCH_DIR)/../../k5/user.py $(K5ARCH_DIR)/../../k5/abi.py $(BUILD)/k5/k5user.h 2>&1)
ifneq ($(K5USER_REFUSED),)
$(error $(K5USER_REFUSED))
endif
# So is the syscall wire's format (k5/wire.py).
$(shell python3 $(K5ARCH_DIR)/../../tools/gen_abi_h.py \
	$(K5ARCH_DIR)/../../k5/wire.py $(BUILD)/k5/k5wire.h)
# So is a task's image's format (k5/image.py).
$(shell python3 $(K5ARCH_DIR)/../../tools/gen_abi_h.py \
	$(K5ARCH_DIR)/../../k5/image.py $(BUILD)/k5/k5image.h)
# So is the time-range rule's limit (k5/ticks.py: TIME_MAX, the longest sleep the kernel takes).
$(shell python3 $(K5ARCH_DIR)/../../tools/gen_abi_h.py \
	$(K5ARCH_DIR)/../../k5/ticks.py $(BUILD)/k5/k5ticks.h)
# So are the constants of the log frames (k5/log.py) and the table of log formats, from every
# log call in the frozen k5/ and tasks/ (tools/logtab.py).
$(shell python3 $(K5ARCH_DIR)/../../tools/gen_abi_h.py \
	$(K5ARCH_DIR)/../../k5/log.py $(BUILD)/k5/k5log.h)
$(shell cd $(K5ARCH_DIR)/../.. && python3 -m tools.logtab $(abspath $(BUILD))/k5/k5logtab.h k5 tasks)
