"""The host's reader of task images (k5/image.py's format; the device's is native/k5arch/image.c).

Not frozen: on the device a task's first instructions unpack its image in C, which keeps to a
few small C frames on a task's stack (here, a Python frame each). Each reads the format as
k5/image.py states it, and tests/kernel/test_image.py and the board's tests hold them to it.
"""

from k5.image import (
    _IMAGE_ATTR,
    _IMAGE_BYTES,
    _IMAGE_DEPTH,
    _IMAGE_FALSE,
    _IMAGE_FLOAT,
    _IMAGE_FUNCTION,
    _IMAGE_INT,
    _IMAGE_MODULE,
    _IMAGE_NONE,
    _IMAGE_STR,
    _IMAGE_TRUE,
    _IMAGE_TUPLE,
    _IMAGE_UNSHARED,
    _MAGIC,
    ImageError,
    Unshared,
    _make,
)


class _Reader:
    def __init__(self, data):
        self.data = data
        self.view = memoryview(data)  # slices of it copy nothing
        self.at = 0
        self.functions = 0  # functions being read, each inside the one before

    def byte(self):
        if self.at >= len(self.data):
            raise ImageError("K5: the image is truncated")
        b = self.data[self.at]
        self.at += 1
        return b

    def varint(self):
        n = 0
        for shift in range(0, 35, 7):
            b = self.byte()
            if shift == 28 and b > 0x0F:
                break  # beyond 32 bits
            n |= (b & 0x7F) << shift
            if b < 0x80:
                return n
        raise ImageError("K5: a length in the image is too long")

    def span(self):
        n = self.varint()
        if n > len(self.data) - self.at:
            raise ImageError("K5: the image is truncated")
        value = self.view[self.at : self.at + n]
        self.at += n
        return value

    def value(self, globs, depth=0):
        # As native/k5arch/image.c reads it: a tuple's items one level deeper each.
        tag = self.byte()
        if tag == _IMAGE_TUPLE:
            if depth >= _IMAGE_DEPTH:
                raise ImageError("K5: the image has a tuple nested too deep")
            return tuple([self.value(globs, depth + 1) for _ in range(self.varint())])
        if tag == _IMAGE_NONE:
            return None
        if tag == _IMAGE_FALSE:
            return False
        if tag == _IMAGE_TRUE:
            return True
        if tag == _IMAGE_INT:
            return int(self.text())
        if tag == _IMAGE_FLOAT:
            return float(self.text())
        if tag == _IMAGE_STR:
            return self.text()
        if tag == _IMAGE_BYTES:
            return bytes(self.span())
        return self._object(tag, globs, depth)

    def text(self):
        return str(self.span(), "utf-8")

    def _object(self, tag, globs, depth):
        if tag == _IMAGE_MODULE:
            name = self.text()
            return __import__(name, None, None, ("__name__",))
        if tag == _IMAGE_FUNCTION:
            # At most _IMAGE_DEPTH functions inside each other (in defaults and cells), as the
            # packer makes them; each part a value of its own depth.
            if self.functions >= _IMAGE_DEPTH:
                raise ImageError("K5: the image has functions nested too deep")
            self.functions += 1
            import marshal

            self.span()  # its name (the code has it too)
            code = marshal.loads(self.span())
            defaults = self.value(globs)
            pairs = self.value(globs)
            cells = self.value(globs)
            self.functions -= 1
            kwdefaults = None
            if pairs is not None:
                kwdefaults = {}
                for key, value in pairs:
                    kwdefaults[key] = value
            return _make(code, globs, defaults, kwdefaults, cells)
        if tag == _IMAGE_ATTR:
            module = self.text()
            name = self.text()
            return getattr(__import__(module, None, None, (name,)), name)
        if tag == _IMAGE_UNSHARED:
            name = self.text()
            return Unshared(name, self.text())
        raise ImageError("K5: the image has an unknown tag " + str(tag))


def unpack(image):
    """(body, arg) of an image, made in the caller's interpreter."""
    if bytes(image[: len(_MAGIC)]) != _MAGIC:
        raise ImageError("K5: not a task image")
    reader = _Reader(image)
    reader.at = len(_MAGIC)
    globs = {"__name__": "__main__"}
    # The globals: a tuple of (name, value) pairs, each value as deep as the packer allows.
    if reader.byte() != _IMAGE_TUPLE:
        raise ImageError("K5: the image has no globals")
    for _ in range(reader.varint()):
        if reader.byte() != _IMAGE_TUPLE or reader.varint() != 2 or reader.byte() != _IMAGE_STR:
            raise ImageError("K5: the image's globals are not (name, value) pairs")
        name = reader.text()
        globs[name] = reader.value(globs)
    body = reader.value(globs)
    arg = reader.value(globs)
    if reader.at != len(image):
        raise ImageError("K5: the image has bytes after its end")
    return body, arg


def run(image, ipc):
    """Unpack `image` and call body(ipc, arg) (the host's task threads)."""
    body, arg = unpack(image)
    del image  # nothing keeps the image's bytes alive while the body runs
    body(ipc, arg)
