"""What a board's kernel keeps for itself: its peripherals.toml [kept.*], and their C header."""

# Usage: python3 tools/gen_kept_h.py ports/stm32l5/boards/BOARD/peripherals.toml OUT.h
# Each [kept.NAME] table gives a reason, the address ranges ([[base, size], ...]: every alias)
# and the interrupt lines the kernel keeps. `k5 gen` (tools/app.py) reads the table with kept();
# the board's native layer gets it as K5_KEPT_RANGES / K5_KEPT_IRQS from the header (rewritten
# only when its text changes), so both refuse the same windows and lines.

import pathlib
import sys
import tomllib


class KeptError(Exception):
    """A [kept.*] table is malformed."""


def kept(path):
    """[(name, ((low, high), ...), (line, ...), reason)] of the peripherals.toml at `path`."""
    with open(path, "rb") as f:
        table = tomllib.load(f).get("kept", {})
    result = []
    for name, body in table.items():
        reason = body.get("reason")
        ranges = body.get("ranges", [])
        irqs = body.get("irqs", [])
        if type(reason) is not str or not reason:
            raise KeptError(f"{path}: kept.{name}: a reason is required")
        spans = []
        for item in ranges:
            if (
                not isinstance(item, list)
                or len(item) != 2
                or not all(type(v) is int for v in item)
                or item[1] <= 0
                or item[0] < 0
                or item[0] + item[1] > 1 << 32
            ):
                raise KeptError(f"{path}: kept.{name}: {item!r} is not [base, size]")
            spans.append((item[0], item[0] + item[1]))
        if not all(type(line) is int and 0 <= line < 480 for line in irqs):
            raise KeptError(f"{path}: kept.{name}: {irqs!r} are not interrupt lines")
        if not spans and not irqs:
            raise KeptError(f"{path}: kept.{name}: keeps no range and no line")
        result.append((name, tuple(spans), tuple(irqs), reason))
    return result


def arch_form(entries):
    """(kept_ranges, kept_irqs) as the arch gives them: ((low, high, what), ...), (line, ...)."""
    ranges = []
    irqs = []
    for name, spans, lines, reason in entries:
        for low, high in spans:
            ranges.append((low, high, f"{name}: {reason}"))
        irqs += lines
    return tuple(ranges), tuple(irqs)


def header(entries, source):
    guard = "K5_INCLUDED_K5KEPT_H"
    spans, lines = arch_form(entries)
    ranges = []
    for low, high, what in spans:
        what = what.replace("\\", "\\\\").replace('"', '\\"')
        ranges.append(f'    {{0x{low:08x}u, 0x{high:08x}u, "{what}"}}, \\')
    irqs = [str(line) for line in lines]
    out = [
        f"// Generated from {source} by tools/gen_kept_h.py: do not edit.",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "// { low, high, what }: no device window may overlap [low, high).",
        f"#define K5_KEPT_RANGE_COUNT ({len(ranges)})",
        "#define K5_KEPT_RANGES { \\",
        *ranges,
        "}",
        "// Interrupt lines no IRQHandler may take (-1 ends the list).",
        "#define K5_KEPT_IRQS { " + ", ".join(irqs + ["-1"]) + " }",
        "",
        f"#endif // {guard}",
        "",
    ]
    return "\n".join(out)


def main(argv):
    source, out = pathlib.Path(argv[1]), pathlib.Path(argv[2])
    text = header(kept(source), "/".join(source.parts[-3:]))
    if not out.exists() or out.read_text() != text:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)


if __name__ == "__main__":
    main(sys.argv)
