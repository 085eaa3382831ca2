"""Reading K5's RTT log channel (native/k5arch/log.c) from outside the core, as a probe does.

The firmware's control block (in the heap; `k5_rtt_locator` points to it) has SEGGER's RTT
layout: a 16-byte id "SEGGER RTT", the numbers of up and down buffers, then per buffer (name,
buffer, size, write offset, read offset, flags), 24 bytes each. The host reads the bytes between
the read and the write offset of up buffer 0 and advances the read offset; the target never
waits for it (a frame that does not fit is dropped). Two ways to reach the memory:
- `GdbMemory`: QEMU's gdbstub (the emulated board, `-gdb tcp:...`): the core is stopped for each
  read (QEMU cannot read guest memory while it runs), which the guest does not see (with
  -icount, its clock stands still too);
- `PyocdMemory`: a debug probe through pyocd (a NUCLEO's ST-LINK): reads while the core runs.
"""

import struct
import time

from tools.emu import connect_loopback

ID = b"SEGGER RTT\x00"
HEADER = struct.Struct("<16sii")
RING = struct.Struct("<IIIIII")  # name, buffer, size, write offset, read offset, flags


class RttError(Exception):
    pass


class GdbMemory:
    """Guest memory through the GDB remote protocol (the few packets QEMU's gdbstub needs)."""

    def __init__(self, port, timeout=5.0):
        self.sock = connect_loopback(port, timeout)
        self.buffer = b""
        self.running = False
        # QEMU stops the guest when a debugger attaches; it reports why when asked.
        self._command(b"?")

    def close(self):
        try:
            if not self.running:
                self._send(b"c")  # leave the guest running
            self._send(b"D")
        except OSError:
            pass
        self.sock.close()

    @staticmethod
    def _packet(data):
        return b"$" + data + b"#" + b"%02x" % (sum(data) & 0xFF)

    def _send(self, data):
        self.sock.sendall(self._packet(data))

    def _read_packet(self):
        while True:
            start = self.buffer.find(b"$")
            end = self.buffer.find(b"#", start + 1) if start >= 0 else -1
            if start >= 0 and end >= 0 and len(self.buffer) >= end + 3:
                data = self.buffer[start + 1 : end]
                self.buffer = self.buffer[end + 3 :]
                self.sock.sendall(b"+")
                return data
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RttError("the gdbstub closed the connection")
            self.buffer += chunk

    def _command(self, data):
        """Send a command, return its reply (skipping stop notifications: QEMU sends one when a
        debugger attaches, besides the answer to `?`)."""
        self._send(data)
        while True:
            reply = self._read_packet()
            if data == b"?" or reply[:1] not in (b"T", b"S"):
                return reply

    def stop(self):
        if self.running:
            self.sock.sendall(b"\x03")
            self._read_packet()  # the stop reply
            self.running = False

    def resume(self):
        if not self.running:
            self._send(b"c")
            self.running = True

    def read(self, address, length):
        data = b""
        while len(data) < length:
            n = min(length - len(data), 1024)
            reply = self._command(b"m%x,%x" % (address + len(data), n))
            if reply.startswith(b"E") or len(reply) != 2 * n:
                raise RttError("cannot read %d bytes at 0x%08x: %r" % (n, address, reply[:8]))
            data += bytes.fromhex(reply.decode())
        return data

    def write(self, address, data):
        reply = self._command(b"M%x,%x:%s" % (address, len(data), data.hex().encode()))
        if reply != b"OK":
            raise RttError("cannot write at 0x%08x: %r" % (address, reply[:8]))


class PyocdMemory:
    """Target memory through pyocd's probe session (reads and writes while the core runs)."""

    def __init__(self, target="stm32l552zetxq", pack=None):
        try:
            from pyocd.core.helpers import ConnectHelper
        except ImportError:
            raise RttError("pyocd not found: run `make deps` (it is in .venv)") from None
        options = {"pack": pack} if pack else {}
        self.session = ConnectHelper.session_with_chosen_probe(
            target_override=target, options=options
        )
        if self.session is None:
            raise RttError("no debug probe found (plug in the NUCLEO's ST-LINK)")
        self.session.open()
        self.target = self.session.board.target

    def close(self):
        self.session.close()

    def stop(self):
        pass

    def resume(self):
        pass

    def read(self, address, length):
        return bytes(self.target.read_memory_block8(address, length))

    def write(self, address, data):
        self.target.write_memory_block8(address, list(data))


class RttReader:
    """Up buffer 0 of the control block that `pointer` (the address of the ELF's symbol
    k5_rtt_locator) points to once the board has switched its log to RTT."""

    def __init__(self, memory, pointer):
        self.memory = memory
        self.pointer = pointer
        self.address = None
        self.ring = None

    def _ring(self):
        (self.address,) = struct.unpack("<I", self.memory.read(self.pointer, 4))
        if self.address == 0:
            return None  # not made yet
        header = self.memory.read(self.address, HEADER.size + RING.size)
        ident, up, _ = HEADER.unpack_from(header)
        if ident[: len(ID)] != ID:
            return None  # not made yet: the board has not switched its log to RTT
        if up < 1:
            raise RttError("the RTT control block has no up buffer")
        return RING.unpack_from(header, HEADER.size)

    def poll(self):
        """The bytes the target wrote since the last poll (b"" when none)."""
        self.memory.stop()
        try:
            if self.ring is None:
                self.ring = self._ring()
                if self.ring is None:
                    return b""
            _, buffer, size, _, _, _ = self.ring
            offsets = self.address + HEADER.size + 12
            wr, rd = struct.unpack("<II", self.memory.read(offsets, 8))
            if wr >= size or rd >= size:
                raise RttError(
                    "RTT offsets out of range (write %d, read %d, size %d)" % (wr, rd, size)
                )
            if wr == rd:
                return b""
            if wr > rd:
                data = self.memory.read(buffer + rd, wr - rd)
            else:
                data = self.memory.read(buffer + rd, size - rd) + self.memory.read(buffer, wr)
            self.memory.write(offsets + 4, struct.pack("<I", wr))
            return data
        finally:
            self.memory.resume()

    def follow(self, seconds=None, interval=0.05):
        """Yield the bytes as they come, for `seconds` (None: until interrupted)."""
        end = None if seconds is None else time.time() + seconds
        while end is None or time.time() < end:
            data = self.poll()
            if data:
                yield data
            else:
                time.sleep(interval)
