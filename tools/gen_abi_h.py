"""Generate the C header of K5's ABI from k5/abi.py (the single source of truth)."""

# Usage: python3 tools/gen_abi_h.py k5/abi.py OUT.h (also k5/log.py: the log frames' constants)
# Every `NAME = const(value)` line becomes `#define K5_NAME (value)`. The file is rewritten only
# when its text changes, so that make's timestamps stay meaningful.

import pathlib
import re
import sys

# (k5/log.py's constants are private: `_NAME = const(...)` becomes K5_NAME too.)
_LINE = re.compile(r"^_?([A-Z][A-Z0-9_]*) = const\((-?(?:0x[0-9A-Fa-f]+|[0-9]+))\)")


def header(abi_text, source="k5/abi.py", guard="K5_INCLUDED_K5ABI_H"):
    lines = [
        f"// Generated from {source} by tools/gen_abi_h.py: do not edit.",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
    ]
    for line in abi_text.splitlines():
        match = _LINE.match(line)
        if match:
            lines.append(f"#define K5_{match.group(1)} ({match.group(2)})")
    lines += ["", f"#endif // {guard}", ""]
    return "\n".join(lines)


def main(argv):
    source, out = pathlib.Path(argv[1]), pathlib.Path(argv[2])
    guard = "K5_INCLUDED_" + out.stem.upper() + "_H"
    text = header(source.read_text(), "k5/" + source.name, guard)
    if not out.exists() or out.read_text() != text:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)


if __name__ == "__main__":
    main(sys.argv)
