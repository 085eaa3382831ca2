"""Run the MPS2_AN505 firmware in QEMU and hand its serial port to mpremote or tests."""

import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

QEMU = "qemu-system-arm"
MACHINE = "mps2-an505"

# Every emulator started by this process, so that none outlives it.
_running = set()


def mpremote_command(port, *args):
    """The command line that runs mpremote (from this Python's environment) against `port`."""
    return [sys.executable, "-m", "mpremote", "connect", port, *args]


class EmulatorError(Exception):
    pass


def connect_loopback(port, timeout=10.0):
    """A TCP connection to a port QEMU serves on 127.0.0.1 (a serial port, its gdbstub). QEMU
    opens its sockets one after another as it starts: a refusal just after it started means
    "not yet", so this tries again until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=timeout)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _free_loopback_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    """One QEMU mps2-an505 running `elf`, its REPL on a pty or a loopback TCP socket.

    `icount=True` runs with `-icount shift=0`: time advances by instruction count (SysTick and
    Timer0 tick once per 50 instructions), so runs are exactly repeatable while the guest is
    busy; while it idles its clock follows the host's, and a loaded host makes QEMU merge timer
    periods. `skip_idle=True` (with icount) makes an idle guest's clock jump to its next timer
    event instead: a run paced by interrupts is then exact however loaded the host is, but the
    guest's clock races ahead while it waits for the host, so not where the host paces it. With
    `serial="socket"` and `wait=True` QEMU holds the CPU until the first client connects, so that
    client sees the boot banner. `flash` names a file that holds the board's flash (its
    filesystem area: tools/fsimage.py); without one the area is RAM that starts empty and is
    formatted at boot. `gdb=True` opens QEMU's gdbstub (for reading RTT). Use as a context
    manager; the QEMU process is always stopped (by its process id) when the block ends, when
    stop() is called, or when Python exits.
    """

    def __init__(
        self,
        elf,
        icount=False,
        serial="pty",
        wait=False,
        extra_args=(),
        flash=None,
        gdb=False,
        skip_idle=False,
    ):
        if serial not in ("pty", "socket"):
            raise ValueError("serial must be 'pty' or 'socket'")
        self.elf = os.fspath(elf)
        self.icount = icount
        self.skip_idle = skip_idle
        self.serial = serial
        self.wait_for_client = wait
        self.extra_args = tuple(extra_args)
        self.flash = None if flash is None else os.fspath(flash)
        # gdb=True: QEMU's gdbstub on a free loopback port (gdb_port), for RTT (tools/rtt.py).
        self.gdb_port = _free_loopback_port() if gdb else None
        self.process = None
        self.port = None

    def command(self):
        machine = MACHINE
        args = []
        if self.flash is not None:
            from tools import fsimage

            fsimage.prepare_emulated_flash(self.flash)
            # The machine's main memory (the PSRAM, where the filesystem area is) is the file.
            machine += ",memory-backend=k5flash"
            args += [
                "-object",
                f"memory-backend-file,id=k5flash,size={fsimage.EMULATED_RAM_SIZE},"
                f"mem-path={self.flash.replace(',', ',,')},share=on",
            ]
        args = [QEMU, "-machine", machine, "-nographic", "-monitor", "null", "-semihosting", *args]
        if self.icount:
            args += ["-icount", "shift=0,sleep=off" if self.skip_idle else "shift=0"]
        if self.serial == "pty":
            args += ["-serial", "pty"]
        else:
            self._tcp_port = _free_loopback_port()
            wait = "on" if self.wait_for_client else "off"
            args += ["-serial", f"tcp:127.0.0.1:{self._tcp_port},server=on,wait={wait}"]
        if self.gdb_port is not None:
            args += ["-gdb", f"tcp:127.0.0.1:{self.gdb_port}"]
        args += ["-kernel", self.elf]
        return args + list(self.extra_args)

    def start(self, timeout=10):
        if shutil.which(QEMU) is None:
            raise EmulatorError(
                f"{QEMU} not found: run `make deps` (or apt-get install qemu-system-arm)"
            )
        if not os.path.exists(self.elf):
            raise EmulatorError(f"{self.elf} does not exist: run `make firmware`")
        cmd = self.command()
        self.process = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _running.add(self)
        if self.serial == "pty":
            self.port = self._read_pty_name(timeout)
        else:
            self.port = f"socket://127.0.0.1:{self._tcp_port}"
            self._wait_listening(timeout)
        return self.port

    def _read_pty_name(self, timeout):
        deadline = time.monotonic() + timeout
        seen = b""
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            seen += line
            m = re.search(rb"char device redirected to (/dev/pts/\d+)", line)
            if m:
                return m.group(1).decode()
        self.stop()
        raise EmulatorError("QEMU did not report its pty: " + seen.decode(errors="replace"))

    def _wait_listening(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                out = self.process.stdout.read().decode(errors="replace")
                raise EmulatorError(f"QEMU exited ({self.process.returncode}): {out}")
            # QEMU binds before it starts; a listening socket shows in /proc/net/tcp.
            if self._listening():
                return
            time.sleep(0.02)
        self.stop()
        raise EmulatorError("QEMU did not open its serial socket")

    def _listening(self):
        hexport = f"{self._tcp_port:04X}"
        with open("/proc/net/tcp") as f:
            for row in f.readlines()[1:]:
                fields = row.split()
                if fields[1].endswith(":" + hexport) and fields[3] == "0A":
                    return True
        return False

    def wait(self, timeout=None):
        """Wait for QEMU to exit (e.g. machine.poweroff()); returns its exit status."""
        return self.process.wait(timeout)

    def stop(self):
        p = self.process
        if p is not None and p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if p is not None and p.stdout is not None:
            p.stdout.close()
        _running.discard(self)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


@atexit.register
def _stop_all():
    for emulator in list(_running):
        emulator.stop()
