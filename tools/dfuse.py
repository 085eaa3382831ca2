"""Reads and checks DfuSe (.dfu) files, the format of ST's USB DFU bootloader (UM0391)."""

import struct
import zlib

PREFIX = struct.Struct("<5sBIB")  # signature "DfuSe", version, image size, number of targets
TARGET = struct.Struct("<6sBI255sII")  # "Target", alternate setting, named, name, size, elements
ELEMENT = struct.Struct("<II")  # address, size
SUFFIX = struct.Struct("<HHHH3sBI")  # bcdDevice, idProduct, idVendor, bcdDFU, "UFD", length, crc


class DfuseError(Exception):
    pass


class Image:
    """A parsed DfuSe file: USB ids and, per target, its alternate setting and (address, data)."""

    def __init__(self, vendor, product, device, targets):
        self.vendor = vendor
        self.product = product
        self.device = device
        self.targets = targets  # list of (alternate setting, name, [(address, bytes), ...])


def parse(data):
    """Parses and verifies `data`; raises DfuseError naming the first thing that is wrong."""
    if len(data) < PREFIX.size + SUFFIX.size:
        raise DfuseError(f"file too short ({len(data)} bytes)")
    crc = SUFFIX.unpack_from(data, len(data) - SUFFIX.size)[-1]
    if crc != (~zlib.crc32(data[:-4])) & 0xFFFFFFFF:
        raise DfuseError("CRC mismatch")
    device, product, vendor, bcd_dfu, ufd, length, _ = SUFFIX.unpack_from(
        data, len(data) - SUFFIX.size
    )
    if ufd != b"UFD" or length != SUFFIX.size:
        raise DfuseError("bad DFU suffix")
    if bcd_dfu != 0x011A:
        raise DfuseError(f"bcdDFU is 0x{bcd_dfu:04x}, not 0x011a (DfuSe)")
    signature, version, image_size, n_targets = PREFIX.unpack_from(data, 0)
    if signature != b"DfuSe" or version != 1:
        raise DfuseError("bad DfuSe prefix")
    if image_size != len(data) - SUFFIX.size:
        raise DfuseError(f"prefix says {image_size} bytes, file holds {len(data) - SUFFIX.size}")
    offset = PREFIX.size
    targets = []
    for _ in range(n_targets):
        magic, alt, named, name, size, n_elements = TARGET.unpack_from(data, offset)
        if magic != b"Target":
            raise DfuseError(f"bad target prefix at offset {offset}")
        offset += TARGET.size
        end = offset + size
        elements = []
        for _ in range(n_elements):
            address, element_size = ELEMENT.unpack_from(data, offset)
            offset += ELEMENT.size
            elements.append((address, data[offset : offset + element_size]))
            offset += element_size
        if offset != end:
            raise DfuseError("target size does not match its elements")
        targets.append(
            (alt, name.rstrip(b"\0").decode(errors="replace") if named else "", elements)
        )
    if offset != image_size:
        raise DfuseError("trailing bytes between the last target and the suffix")
    return Image(vendor, product, device, targets)
