# NUCLEO-L552ZE-Q: flashed from firmware.dfu (USB DFU bootloader) or firmware.elf (pyocd).
# CLOCK=msi4 keeps the 4 MHz reset clock instead of 110 MHz from the PLL.
ifeq ($(CLOCK),msi4)
CFLAGS += -DK5_CLOCK_MSI_4MHZ=1
endif
