"""A system built from Python: `from k5.system import System, BuildError`.

On the host `System` is the kernel-side builder (k5/builder.py: a kernel of its own, its tasks
simulated); on the device, where the REPL is the kernel's root task, it is the REPL's front end
over SYS_BUILD (k5/front.py). Either way the names and arguments are the same, so a script
builds a system alike on both. On the device this module imports none of the kernel's modules.
"""

from k5.arch import DEVICE
from k5.building import BuildError  # noqa: F401

if DEVICE:
    from k5.front import System  # noqa: F401
else:
    from k5.builder import Builder, System, build  # noqa: F401
