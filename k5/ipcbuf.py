"""The IPC buffer: per-task memory the kernel writes received messages into (host)."""

# On the device each context's buffer is raw memory at the top of its stack block, and the
# kernel and the task each have a view of it (native/k5arch/ipcbuf.c, the same names as here);
# the host's arch backends give the kernel and the task this object.

from k5.abi import MSG_MAX_BYTES, MSG_MAX_WORDS, NO_SLOT, SOURCE_ENDPOINT


class IpcBuffer:
    """Task-owned receive buffer (like seL4's IPC buffer); the kernel only writes it.

    **Invariants:**
    - 0 <= count <= MSG_MAX_WORDS and 0 <= length <= MSG_MAX_BYTES after every kernel write
      (the task may scribble on its own buffer afterwards: the kernel never reads it);
    - words and data are preallocated and never replaced by the kernel.
    """

    __slots__ = (
        "label",
        "badge",
        "count",
        "words",
        "length",
        "data",
        "cap",
        "source",
        "unwrapped",
    )

    def __init__(self):
        self.words = [0] * MSG_MAX_WORDS
        self.data = bytearray(MSG_MAX_BYTES)
        self.clear()

    def clear(self):
        """Back to a fresh task's buffer (a restart), its storage kept."""
        self.label = 0
        self.badge = 0
        self.count = 0
        for i in range(MSG_MAX_WORDS):
            self.words[i] = 0
        self.length = 0
        self.data[:] = bytes(MSG_MAX_BYTES)
        self.cap = NO_SLOT
        self.source = SOURCE_ENDPOINT
        # The badge of an endpoint cap sent to this task through that same endpoint (seL4's
        # capsUnwrapped): the cap is not transferred, its badge lands here; -1 when none.
        self.unwrapped = -1

    def check_invariants(self):
        assert 0 <= self.count <= MSG_MAX_WORDS, "word count out of range"
        assert 0 <= self.length <= MSG_MAX_BYTES, "payload length out of range"
        return True

    def word(self, index):
        return self.words[index]

    def word_tuple(self):
        return tuple(self.words[: self.count])

    def payload(self):
        """A fresh bytes copy of the received payload."""
        return bytes(self.data[: self.length])


def copy_lease(lease, offset, buffer, count, into_lease):
    """A borrow's copy between the objects themselves, for the arch backends whose tasks' memory
    is objects (the host's, the model checker's, which also runs on the board): count bytes
    between `lease` at offset and `buffer`; False if a side refuses."""
    try:
        if into_lease:
            memoryview(lease)[offset : offset + count] = memoryview(buffer)[0:count]
        else:
            memoryview(buffer)[0:count] = memoryview(lease)[offset : offset + count]
    except (TypeError, ValueError):
        return False  # a read-only buffer to read into
    return True
