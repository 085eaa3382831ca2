# Module _k5attack: hostile native code for the attack corpus (MPS2_AN505 only; see modk5attack.c).
K5ATTACK_DIR := $(USERMOD_DIR)

SRC_USERMOD_C += $(K5ATTACK_DIR)/modk5attack.c
