"""Decode the board's console: K5 log frames (k5/log.py) between plain text."""

# The format table comes from the image itself (symbol k5_log_formats in firmware.elf, read
# with pyelftools), so the decoder always matches the firmware that sent the frames. Bytes that
# do not make a valid frame (wrong length or checksum) pass through as text.

import struct

from elftools.elf.elffile import ELFFile

from k5 import log as wire

LEVELS = wire._LEVEL_NAMES


def read_table(elf_path):
    """The format strings of an image, in index order."""
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        symbols = elf.get_section_by_name(".symtab")
        found = symbols.get_symbol_by_name("k5_log_formats") if symbols else None
        if not found:
            raise ValueError(f"{elf_path}: no k5_log_formats table (not a K5 image?)")
        symbol = found[0]
        address, size = symbol["st_value"], symbol["st_size"]
        for section in elf.iter_sections():
            start = section["sh_addr"]
            if (
                section["sh_type"] != "SHT_NOBITS"
                and start <= address < start + section["sh_size"]
            ):
                data = section.data()[address - start : address - start + size]
                break
        else:
            raise ValueError(f"{elf_path}: k5_log_formats is in no loaded section")
    formats = []
    for text in data.split(b"\0"):
        if not text:
            break
        formats.append(text.decode())
    return formats


class Record:
    __slots__ = ("task", "ms", "level", "text")

    def __init__(self, task, ms, level, text):
        self.task = task
        self.ms = ms
        self.level = level
        self.text = text

    def line(self):
        return f"[{self.ms:>7} ms] {self.task} {LEVELS[self.level]} {self.text}"


def _varint(data, at):
    value = shift = 0
    while at < len(data):
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at
    raise ValueError("truncated varint")


def _arguments(data, at):
    args = []
    while at < len(data):
        tag = data[at]
        at += 1
        if tag == wire._ARG_INT:
            value, at = _varint(data, at)
            args.append((value >> 1) ^ -(value & 1))
        elif tag == wire._ARG_STR:
            n = data[at]
            args.append(data[at + 1 : at + 1 + n].decode(errors="replace"))
            at += 1 + n
        elif tag == wire._ARG_FLOAT:
            args.append(struct.unpack("<f", data[at : at + 4])[0])
            at += 4
        elif tag == wire._ARG_NONE:
            args.append(None)
        else:
            raise ValueError(f"unknown argument tag {tag}")
    return args


def _render(fmt, args):
    try:
        return fmt % tuple(args)
    except (TypeError, ValueError):
        return fmt + " " + " ".join(repr(a) for a in args)


def _unframe(data):
    """(payload, checksum, bytes used) of the frame at data[0] (START), unescaping; payload None
    when the bytes cannot be a frame; None when more bytes are needed."""
    unescaped = []
    at = 1
    need = None
    while need is None or len(unescaped) < need:
        if at >= len(data):
            return None
        byte = data[at]
        at += 1
        if byte == wire._START:
            return (None, 0, at)  # a frame never holds START: this one was not a frame
        if byte == wire._ESC:
            if at >= len(data):
                return None
            byte = data[at] ^ 0x40
            at += 1
            if byte not in wire._ESCAPED:
                return (None, 0, at)
        elif byte in wire._ESCAPED:
            return (None, 0, at)
        unescaped.append(byte)
        if need is None:
            need = 2 + byte  # the length, the payload, the checksum
    return (bytes(unescaped[1:-1]), unescaped[-1], at)


class Decoder:
    """Feed it console bytes; it returns text pieces (str) and Records, in order."""

    def __init__(self, formats):
        self.formats = formats
        self.names = {}
        self.pending = b""

    def feed(self, data):
        self.pending += data
        out = []
        text = b""
        while self.pending:
            start = self.pending.find(bytes((wire._START,)))
            if start < 0:
                text += self.pending
                self.pending = b""
                break
            text += self.pending[:start]
            self.pending = self.pending[start:]
            parsed = _unframe(self.pending)
            if parsed is None:
                break  # wait for the rest of the frame
            payload, check, used = parsed
            item = None
            if payload is not None and (0xFF - sum(payload)) & 0xFF == check:
                item = self._frame(payload)
            if item is None:
                text += self.pending[:1]  # not a frame: the byte is text
                self.pending = self.pending[1:]
                continue
            self.pending = self.pending[used:]
            if text:
                out.append(text.decode(errors="replace"))
                text = b""
            if isinstance(item, Record):
                out.append(item)
        if text:
            out.append(text.decode(errors="replace"))
        return out

    def _frame(self, payload):
        try:
            kind = payload[0]
            if kind == wire._KIND_NAME:
                self.names[payload[1]] = payload[2:].decode(errors="replace")
                return True
            if kind != wire._KIND_RECORD:
                return None
            task = payload[1]
            ms, at = _varint(payload, 2)
            if task == wire._TASK_KERNEL:
                name = "kernel"
            else:
                name = self.names.get(task, f"task{task - wire._TASK_BASE}")
            body = payload[at:]
        except (IndexError, ValueError):
            return None
        # A well-framed record whose body (the task's own packing) does not decode is shown as
        # what it is, not mixed into the text around it.
        try:
            level = body[0] - wire._LEVEL_BASE
            if not 0 <= level <= 3:
                raise ValueError("level")
            code, at = _varint(body, 1)
            args = _arguments(body, at)
            if code == wire._FORMAT_NONE:
                fmt = str(args.pop(0)) if args else ""
            elif code - wire._FORMAT_BASE < len(self.formats):
                fmt = self.formats[code - wire._FORMAT_BASE]
            else:
                fmt = f"<format {code - wire._FORMAT_BASE} not in this image>"
            return Record(name, ms, level, _render(fmt, args))
        except (IndexError, ValueError):
            return Record(name, ms, 3, "<undecodable record " + body.hex() + ">")
