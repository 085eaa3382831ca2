"""What the kernel keeps for itself (the console, its clock, ...): `k5 gen` and the builder
refuse windows over it and its interrupt lines, from one table per board."""

import pytest

import k5
from k5 import abi as A
from k5.arch import new as new_arch
from k5.system import BuildError, System
from tools import app, gen_kept_h

from test_app import BASE, errors_of, loaded

BOARDS = ("MPS2_AN505", "NUCLEO_L552ZE_Q")
KEPT = ", which the kernel keeps for itself"


def window(base, size):
    return BASE + f"[windows.w]\nbase = {base:#x}\nsize = {size:#x}\n"


def irq(line):
    return BASE + f'[irqs.i]\nline = {line}\nnotification = "n"\n'


@pytest.mark.parametrize(
    "base, size, name",
    [
        (0x50200000, 0x1000, "uart0 (the console)"),  # the console, Secure alias
        (0x40200000, 0x1000, "uart0 (the console)"),  # and Non-secure
        (0x50200FE0, 0x20, "uart0 (the console)"),  # its last granule
        (0x501FFFE0, 0x40, "uart0 (the console)"),  # straddling its start
        (0x50000000, 0x400000, "uart0 (the console)"),  # a window around it
        (0x50302000, 0x1000, "fpgaio (the kernel's clock"),
        (0x40302000, 0x20, "fpgaio (the kernel's clock"),
        (0x58007000, 0x1000, "mpc (the memory protection controllers"),
        (0x50080000, 0x1000, "spctrl ("),
        (0x50021000, 0x1000, "sysctrl ("),
    ],
)
def test_k5_gen_refuses_a_window_over_what_the_kernel_keeps(tmp_path, base, size, name):
    errors = errors_of(tmp_path, window(base, size))
    start = f"app.toml:12: windows.w: {base:#x}+{size:#x} overlaps {name}"
    assert any(line.startswith(start) and line.endswith(KEPT) for line in errors), errors


@pytest.mark.parametrize(
    "base, size",
    [
        (0x501FF000, 0x1000),  # ends where the console starts
        (0x50201000, 0x1000),  # starts where it ends (uart1)
        (0x401FFFE0, 0x20),
        (0x40201000, 0x20),
        (0x50301000, 0x1000),  # beside the FPGAIO block
        (0x50303000, 0x20),
    ],
)
def test_k5_gen_accepts_a_window_right_beside_them(tmp_path, base, size):
    assert loaded(tmp_path, window(base, size))["windows"][0][1:3] == (base, size)


@pytest.mark.parametrize("line", [32, 33, 42])
def test_k5_gen_refuses_the_consoles_interrupt_lines(tmp_path, line):
    errors = errors_of(tmp_path, irq(line))
    assert errors == [
        f"app.toml:13: irqs.i.line: interrupt line {line} is uart0's (the console)" + KEPT
    ]


@pytest.mark.parametrize("line", [31, 34, 41, 43])
def test_k5_gen_accepts_the_lines_beside_them(tmp_path, line):
    assert loaded(tmp_path, irq(line))["irqs"] == (("i", line, "n", 1),)


def test_the_nucleos_console_and_its_pins_are_kept_too(tmp_path):
    text = 'board = "NUCLEO_L552ZE_Q"\n' + window(0x40008000, 0x400)
    path = tmp_path / "app.toml"
    for base, name in ((0x40008000, "lpuart1"), (0x52021800, "gpiog"), (0x40022000, "flash")):
        path.write_text(text.replace("0x40008000", hex(base)))
        with pytest.raises(app.AppError) as info:
            app.load(path, "NUCLEO_L552ZE_Q")
        assert f"overlaps {name} (" in str(info.value)
    path.write_text(text.replace("0x40008000", "0x42021400"))  # GPIOF, below port G
    assert app.load(path, "NUCLEO_L552ZE_Q")["windows"][0][1] == 0x42021400
    path.write_text('board = "NUCLEO_L552ZE_Q"\n' + irq(66))
    with pytest.raises(app.AppError) as info:
        app.load(path, "NUCLEO_L552ZE_Q")
    assert "interrupt line 66 is lpuart1's (the console)" in str(info.value)


@pytest.mark.parametrize("board", BOARDS)
def test_no_named_peripheral_is_one_the_kernel_keeps(board):
    kept = app.kept(board)
    lines = [line for _, _, irqs, _ in kept for line in irqs]
    assert kept and any(name in ("uart0", "lpuart1") for name, _, _, _ in kept)
    for name, body in app.peripherals(board).items():
        low, high = body["base"], body["base"] + body["size"]
        for kept_name, spans, _, _ in kept:
            assert not any(low < b and a < high for a, b in spans), (name, kept_name)
        assert body.get("irq") not in lines, name


@pytest.mark.parametrize("board", BOARDS)
def test_the_consoles_base_and_line_are_among_the_kept(board):
    # mpconfigboard.h names the console's UART and line; the kept table must cover both.
    header = (app.BOARDS_DIR / board / "mpconfigboard.h").read_text()
    base = int(header.split("K5_BOARD_UART_BASE", 1)[1].split("(", 1)[1].split(")")[0], 0)
    line = int(header.split("K5_BOARD_UART_IRQ", 1)[1].split("(", 1)[1].split(")")[0], 0)
    ranges, irqs = gen_kept_h.arch_form(app.kept(board))
    assert any(low <= base < high for low, high, _ in ranges)
    assert any(low <= base ^ 0x10000000 < high for low, high, _ in ranges)  # the other alias
    assert line in irqs


def test_the_boards_header_lists_the_same_table(tmp_path):
    path = app.BOARDS_DIR / "MPS2_AN505" / "peripherals.toml"
    text = gen_kept_h.header(gen_kept_h.kept(path), "peripherals.toml")
    ranges, irqs = gen_kept_h.arch_form(app.kept("MPS2_AN505"))
    assert f"#define K5_KEPT_RANGE_COUNT ({len(ranges)})" in text
    for low, high, what in ranges:
        assert f'{{0x{low:08x}u, 0x{high:08x}u, "{what}"}}' in text
    assert "#define K5_KEPT_IRQS { " + ", ".join(map(str, irqs)) + ", -1 }" in text


def test_a_malformed_kept_table_is_an_error(tmp_path):
    path = tmp_path / "peripherals.toml"
    for body in (
        "ranges = [[0x40000000, 0x1000]]\n",  # no reason
        'reason = "x"\nranges = [[0x40000000]]\n',
        'reason = "x"\nranges = [[0x40000000, 0]]\n',
        'reason = "x"\nirqs = [-1]\n',
        'reason = "x"\n',  # keeps nothing
    ):
        path.write_text("[kept.k]\n" + body)
        with pytest.raises(gen_kept_h.KeptError):
            gen_kept_h.kept(path)


def _board_system():
    ranges, irqs = gen_kept_h.arch_form(app.kept("MPS2_AN505"))
    # The AN505's 124 lines (K5_BOARD_NUM_IRQS), so that its kept ones exist on the host too.
    return System(arch=new_arch(kept=ranges, kept_irqs=irqs, irq_lines=124))


@pytest.mark.parametrize(
    "base, size", [(0x50200000, 0x1000), (0x40200000, 0x20), (0x501FFFE0, 0x40), (0x50302000, 32)]
)
def test_the_builder_refuses_a_window_over_what_the_kernel_keeps(base, size):
    with _board_system() as system:
        with pytest.raises(BuildError) as info:
            system.window("w", base, size)
        assert KEPT in str(info.value)
        assert system.refs == []


@pytest.mark.parametrize("base, size", [(0x501FF000, 0x1000), (0x50201000, 0x1000)])
def test_the_builder_accepts_a_window_right_beside_them(base, size):
    with _board_system() as system:
        ref = system.window("w", base, size)
        assert (ref.obj.base, ref.obj.size) == (base, size)


def test_the_builder_and_irq_control_get_refuse_the_consoles_lines():
    with _board_system() as system:
        for line in (32, 33, 42):
            with pytest.raises(BuildError):
                system.irq("console", line)
        assert system.irq("uart1", 34).obj.line == 34
        log = []

        def root(ipc, arg):
            for line in (32, 33, 42, 31):
                log.append(k5.irq_control_get(1, line, 2 + line % 8))

        task = system.task("root", root, priority=10)
        system.give(task, 1, system.irq_control())
        system.run(100)
        assert log == [A.ERR_RANGE, A.ERR_RANGE, A.ERR_RANGE, A.OK]


@pytest.mark.parametrize("board, lines", [("MPS2_AN505", 124), ("NUCLEO_L552ZE_Q", 108)])
def test_k5_gen_takes_the_lines_the_board_has(tmp_path, board, lines):
    # K5_BOARD_NUM_IRQS: the last line is accepted, the next one (which the board's builder
    # would refuse at boot) fails the build.
    assert app.board_irqs(board) == lines
    path = tmp_path / "app.toml"
    path.write_text(f'board = "{board}"\n' + irq(lines - 1))
    assert app.load(path, board)["irqs"][0][1] == lines - 1
    path.write_text(f'board = "{board}"\n' + irq(lines))
    with pytest.raises(app.AppError) as info:
        app.load(path, board)
    assert f"irqs.i.line: {lines} is above {lines - 1}" in str(info.value)


def test_a_refused_irq_leaves_its_line_free():
    with _board_system() as system:
        endpoint = system.endpoint("ep")
        for ntfn, badge in ((endpoint, 1), (None, -1), (None, 2**30), (None, "1")):
            with pytest.raises(BuildError):
                system.irq("timer1", 4, ntfn, badge)
        assert system.irq("timer1", 4, system.notification("n"), 2**30 - 1).obj.line == 4


def test_a_window_with_rights_not_an_int_is_refused_before_it_is_made():
    with _board_system() as system:
        with pytest.raises(BuildError):
            system.window("w", 0x50000000, 0x1000, "rw")
        assert system.refs == [] and all(cap is None for cap in system.root.slots)
