"""What the builder's two sides share: BuildError and the codes run() answers with."""

# The kernel-side builder (k5/builder.py) and the REPL's front end over SYS_BUILD (k5/front.py)
# raise the same BuildError and answer run() with the same codes, so a script catches and
# compares them alike on the host and on the board. This module imports nothing: the REPL
# takes it without any of the kernel's modules.

# What Kernel.run() (and a builder's run()) answers.
RUN_TIME_UP = 0
RUN_IDLE = 1
RUN_HALTED = 2
RUN_STOPPED = 3  # the root task exited (the device's soft reset)


class BuildError(Exception):
    """A system description is invalid: BuildError(message), or BuildError(message, ERR_RANGE)
    for a number outside its range (the root's builder answers that code)."""
