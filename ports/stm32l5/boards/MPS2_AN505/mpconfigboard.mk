# QEMU mps2-an505 (Cortex-M33 with FPU, DSP, ARMv8-M MPU), memories sized like the STM32L552.
QEMU_MACHINE = mps2-an505
