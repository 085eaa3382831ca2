"""k5 mutate: mutation testing of k5/ with mutmut; kill rate per module, survivors listed."""

# python -m tools.verify.mutate [PATTERN...]   (default: every mutant of k5/)
# python -m tools.verify.mutate --sample N [--seed S]
#   a stratified sample: N mutants of each module (all of a module with fewer), chosen at
#   random with seed S, so the kill rate of every module is measured in hours, not days.
# Runs `mutmut run` (configured in pyproject.toml [tool.mutmut]: the oracle is tests/kernel
# plus tests/verify, i.e. the kernel tests and the explorer), then reads mutmut's per-file
# results in mutants/ and prints, per module: mutants, killed, survived, timeouts, and the kill
# rate of those not listed as equivalent in tools/verify/equivalent.txt (one mutant name a
# line, `#` comments giving the reason). Survivors that are neither killed nor listed are
# printed by name: `mutmut show NAME` shows the change.

import argparse
import fnmatch
import json
import pathlib
import random
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
EQUIVALENT = pathlib.Path(__file__).resolve().parent / "equivalent.txt"
KILLED = (1, 3, 36, 24, 152, 255, -24)  # test failure, pytest error, timeout (an endless loop)


def equivalents():
    names = {}
    if EQUIVALENT.exists():
        for line in EQUIVALENT.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, reason = line.partition(" ")
                names[name] = reason.strip()
    return names


def results(root=ROOT):
    """{module: {mutant name: exit code}} from mutmut's meta files."""
    by_module = {}
    for meta in sorted((root / "mutants" / "k5").glob("*.py.meta")):
        with open(meta) as source:
            data = json.load(source)
        module = "k5/" + meta.name[: -len(".meta")]
        by_module[module] = data.get("exit_code_by_key", {})
    return by_module


def report(by_module, equivalent, out=print):
    total = [0, 0, 0, 0, 0]
    unexplained = []
    out(
        "%-18s %7s %7s %8s %7s %5s %9s"
        % ("module", "mutants", "killed", "survived", "equiv", "todo", "kill rate")
    )
    for module, codes in sorted(by_module.items()):
        counts = [0, 0, 0, 0, 0]  # checked, killed, survived, equivalent, not checked
        for name, code in codes.items():
            if code is None or code == 34:
                counts[4] += 1
                continue
            if code in (33, 5):
                code = 0  # no test runs the mutated code at all: it survives
            counts[0] += 1
            if code in KILLED:
                counts[1] += 1
            elif name in equivalent:
                counts[3] += 1
            else:
                counts[2] += 1
                unexplained.append(name)
        for i in range(5):
            total[i] += counts[i]
        out(_row(module, counts))
    out(_row("total", total))
    if unexplained:
        out("survivors not listed as equivalent (mutmut show NAME):")
        for name in unexplained:
            out("  " + name)
    return total, unexplained


def _row(module, counts):
    checked, killed, survived, equivalent, todo = counts
    relevant = killed + survived
    rate = "%.1f%%" % (100.0 * killed / relevant) if relevant else "-"
    return "%-18s %7d %7d %8d %7d %5d %9s" % (
        module,
        checked,
        killed,
        survived,
        equivalent,
        todo,
        rate,
    )


def sample(by_module, per_module, seed):
    """N mutant names of each module, chosen with `seed`; every mutant of a smaller module."""
    chosen = []
    rng = random.Random(seed)
    for module, codes in sorted(by_module.items()):
        names = sorted(codes)
        chosen += names if len(names) <= per_module else sorted(rng.sample(names, per_module))
    return chosen


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.verify.mutate")
    parser.add_argument("patterns", nargs="*", help="mutant names or globs (default: all)")
    parser.add_argument("--sample", type=int, metavar="N", help="N mutants of each module")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    mutmut = [sys.executable, "-m", "mutmut", "run"]
    names = list(args.patterns)
    if args.sample is not None:
        if args.sample < 1 or names:
            parser.error("--sample takes a count of at least 1 and no patterns")
        # mutmut generates every mutant (and records which tests reach which function) before
        # it runs any: run the few of k5/ticks.py to have the names to sample from.
        if subprocess.run(mutmut + ["k5.ticks.*"], cwd=ROOT).returncode != 0:
            print("k5 mutate: mutmut failed generating the mutants", file=sys.stderr)
            return 2
        names = sample(results(), args.sample, args.seed)
    status = subprocess.run(mutmut + names, cwd=ROOT).returncode
    if status != 0:
        print("k5 mutate: mutmut failed with status %d" % status, file=sys.stderr)
        return 2
    by_module = results()
    if names:
        by_module = {
            module: {
                name: code
                for name, code in codes.items()
                if any(fnmatch.fnmatch(name, pattern) for pattern in names)
            }
            for module, codes in by_module.items()
        }
    report(by_module, equivalents())
    return 0


if __name__ == "__main__":
    sys.exit(main())
