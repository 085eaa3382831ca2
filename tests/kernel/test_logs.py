"""k5.log's wire: the build-time format table and the host's decoder of console bytes."""

import struct

import pytest

from k5 import log as wire
from tools import logs, logtab


def test_the_table_holds_every_literal_format_of_a_log_call(tmp_path):
    (tmp_path / "a.py").write_text(
        "from k5 import log\n"
        "import k5\n"
        "log.info('b %d', 1)\n"
        "k5.log.warn('a %s', 'x')\n"
        "log.error('b %d', 2)\n"  # once
        "other.info('not a log call')\n"
        "log.debug(name)\n"  # not a literal
    )
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "b.py").write_text("log.debug('c')\n")
    (tmp_path / "broken.py").write_text("def (:\n")
    kernel = [text for _, text in logtab.KERNEL_FORMATS]
    assert logtab.table([tmp_path]) == kernel + ["a %s", "b %d", "c"]


def test_the_c_table_escapes_what_c_would_misread():
    text = logtab.c_file(['say "%s" \\ ok', "temp %d °C"])
    assert '"say \\"%s\\" \\\\ ok" "\\0"' in text
    assert '"temp %d \\302\\260C" "\\0"' in text
    assert text.rstrip().endswith('"";')


def frame(payload):
    body = bytes((len(payload),)) + payload + bytes(((0xFF - sum(payload)) & 0xFF,))
    out = bytes((wire._START,))
    for byte in body:
        out += bytes((wire._ESC, byte ^ 0x40)) if byte in wire._ESCAPED else bytes((byte,))
    return out


def varint(value):
    out = b""
    while True:
        byte = value & 0x7F
        value >>= 7
        out += bytes((byte | (0x80 if value else 0),))
        if not value:
            return out


def integer(value):
    return bytes((wire._ARG_INT,)) + varint(((value << 1) ^ (value >> 31)) & 0xFFFFFFFF)


def text_arg(value):
    data = value.encode()
    return bytes((wire._ARG_STR, len(data))) + data


def record(task, ms, level, index, args=b""):
    code = wire._FORMAT_NONE if index is None else wire._FORMAT_BASE + index
    task = task if task == wire._TASK_KERNEL else wire._TASK_BASE + task
    return frame(
        bytes((wire._KIND_RECORD, task))
        + varint(ms)
        + bytes((wire._LEVEL_BASE + level,))
        + varint(code)
        + args
    )


FORMATS = ["%s faulted: %s", "%s restarted", "round %d: err %d"]


def test_records_decode_between_text():
    stream = (
        b"hello\r\n"
        + frame(bytes((wire._KIND_NAME, wire._TASK_BASE + 3)) + b"client")
        + record(3, 1234, wire._INFO, 2, integer(5) + integer(-7))
        + b"more text"
        + record(wire._TASK_KERNEL, 9, wire._ERROR, 0, text_arg("srv") + text_arg("boom"))
    )
    items = logs.Decoder(FORMATS).feed(stream)
    lines = [item if isinstance(item, str) else item.line() for item in items]
    assert lines == [
        "hello\r\n",
        "[   1234 ms] client INFO round 5: err -7",
        "more text",
        "[      9 ms] kernel ERROR srv faulted: boom",
    ]


def test_a_format_not_in_the_table_travels_as_text():
    args = text_arg("t=%s f=%.1f n=%s") + text_arg("x")
    args += bytes((wire._ARG_FLOAT,)) + struct.pack("<f", 1.5) + bytes((wire._ARG_NONE,))
    (item,) = logs.Decoder(FORMATS).feed(record(1, 0, wire._DEBUG, None, args))
    assert item.task == "task1" and item.text == "t=x f=1.5 n=None"


def test_frames_split_across_reads_are_joined():
    decoder = logs.Decoder(FORMATS)
    stream = b"ab" + record(2, 7, wire._WARN, 2, integer(1) + integer(2)) + b"cd"
    items = []
    for i in range(len(stream)):
        items += decoder.feed(stream[i : i + 1])
    texts = "".join(item for item in items if isinstance(item, str))
    records = [item.line() for item in items if not isinstance(item, str)]
    assert texts == "abcd"
    assert records == ["[      7 ms] task2 WARN round 1: err 2"]


def test_a_frame_holds_no_byte_mpremote_reads_as_a_marker():
    # Times, lengths and varints full of 0x01..0x04 and ESC: all escaped, decoded back.
    stream = record(4, 0x04030201, wire._INFO, 2, integer(2) + integer(0x1B))
    assert not set(stream[1:]) & {1, 2, 3, 4}
    (item,) = logs.Decoder(FORMATS).feed(stream)
    assert item.ms == 0x04030201 and item.text == "round 2: err 27"


def test_a_record_whose_body_does_not_decode_is_still_a_record():
    # The kernel frames what a task packed: garbage stays inside its frame, with its task.
    (item,) = logs.Decoder(FORMATS).feed(record(2, 7, 0x99 - wire._LEVEL_BASE, 2))
    assert item.task == "task2" and item.text.startswith("<undecodable record 99")


@pytest.mark.parametrize(
    "damage",
    [
        lambda f: f[:-1] + bytes(((f[-1] + 1) & 0xFF,)),  # checksum
        lambda f: f[:1] + bytes((f[1] - 3,)) + f[2:],  # length
        lambda f: f[:2] + bytes((0x77,)) + f[3:],  # kind
        lambda f: f[:5] + bytes((wire._START,)) + f[6:],  # a START inside
    ],
)
def test_damaged_frames_pass_through_as_text(damage):
    bad = damage(record(2, 7, wire._WARN, 2, integer(1) + integer(2)))
    items = logs.Decoder(FORMATS).feed(b"x" + bad + b"\n" * 20)  # text after it: it ends
    assert all(isinstance(item, str) for item in items)  # no record made of it
    assert "".join(items).startswith("x") and "".join(items).endswith("\n" * 20)


def test_the_table_of_the_image_is_the_one_the_build_made(emu_elf):
    formats = logs.read_table(emu_elf)
    kernel = [text for _, text in logtab.KERNEL_FORMATS]
    assert formats[: len(kernel)] == kernel
    assert "round %d: err %d" in formats  # tasks/pingpong's
