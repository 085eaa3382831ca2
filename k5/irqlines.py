"""The board's interrupt lines as a model, for the host backend and the model checker's."""

# The host backend (k5/arch_host.py) and the checker's (tools/verify/checkarch.py) share it; on
# the board the native layer has the real lines. It is frozen into the image, unlike the host
# backend, because the model checker's walk also runs on the board (tests/verify).

from k5.abi import IRQ_HARDWARE


class InterruptLines:
    """Interrupt lines as the board has them, for the host and checker backends.

    `pending` holds the kernel's interrupt lines (arch.interrupts()); hardware lines are bit
    sets: enabled (NVIC), raised while masked (NVIC pending), fired and not yet taken by the
    kernel. A line fires when raised and enabled, and firing masks it (as the device's handler
    does) until the kernel unmasks it again; `_fired(lines)` is told of each firing.
    """

    __slots__ = ("pending", "irq_on", "irq_raised", "irq_fired")

    def __init__(self):
        self.pending = 0
        self.irq_on = 0
        self.irq_raised = 0
        self.irq_fired = 0

    def interrupts(self):
        """The interrupt lines raised since the last call (bit n = line n)."""
        lines = self.pending
        self.pending = 0
        return lines

    def raise_interrupt(self, line):
        """Simulate interrupt `line` (the kernel signals the notification bound to it)."""
        self.pending |= 1 << line

    def raise_hw_irq(self, line):
        """Simulate a peripheral raising hardware interrupt `line`."""
        self.irq_raised |= 1 << line
        self._fire()

    def _fire(self):
        fire = self.irq_raised & self.irq_on
        if fire:
            self.irq_raised &= ~fire
            self.irq_on &= ~fire
            self.irq_fired |= fire
            self.pending |= 1 << IRQ_HARDWARE
            self._fired(fire)

    def _fired(self, lines):
        pass

    def irq_unmask(self, line):
        self.irq_on |= 1 << line
        self._fire()

    def irq_mask(self, line):
        self.irq_on &= ~(1 << line)
        self.irq_fired &= ~(1 << line)

    def irq_take(self):
        """The lowest fired line not yet taken (and forget it), or -1."""
        fired = self.irq_fired
        if not fired:
            return -1
        line = 0
        while not fired & (1 << line):
            line += 1
        self.irq_fired = fired & ~(1 << line)
        return line
