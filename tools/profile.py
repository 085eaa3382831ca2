"""`python -m tools.profile`: the on-target cost of the kernel trap path's pieces."""

import subprocess

from tools import paths
from tools.emu import Emulator, mpremote_command


def main():
    with Emulator(paths.firmware("MPS2_AN505", "elf"), icount=True) as emu:
        r = subprocess.run(
            mpremote_command(emu.port, "run", "tools/profile_device.py"),
            cwd=paths.ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
    print(r.stdout + r.stderr)


if __name__ == "__main__":
    main()
