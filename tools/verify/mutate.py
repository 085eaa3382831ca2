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
# python -m tools.verify.mutate --board [NAME...]
#   the board tier, for mutants of code that runs only on the board (the _k5arch calls, the app
#   start at boot), which no host test reaches: each (default: those of tools/verify/
#   device_only.txt) is applied with `mutmut apply` in a worktree of HEAD (build/mutate-board),
#   the MPS2_AN505 image is built from it, and the target tests that reach the mutated module
#   (BOARD_TESTS) run on QEMU, stopping at the first failure. Results go to
#   build/mutate-board.json, which the report counts: a mutant killed there is killed.

import argparse
import fnmatch
import json
import pathlib
import random
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
EQUIVALENT = pathlib.Path(__file__).resolve().parent / "equivalent.txt"
DEVICE_ONLY = pathlib.Path(__file__).resolve().parent / "device_only.txt"
BOARD_RESULTS = ROOT / "build" / "mutate-board.json"
BOARD_TREE = ROOT / "build" / "mutate-board"
# The target tests that run a module's board-only code; any other module gets the target tier.
BOARD_TESTS = {
    "k5/boot.py": ["tests/target/test_apps.py"],
    "k5/log.py": ["tests/target/test_logging.py"],
    "k5/rootsrv.py": ["tests/target/test_board.py", "tests/target/test_attacks.py"],
    "k5/syscalls.py": [
        "tests/target/test_native_code.py",
        "tests/target/test_kernel_on_target.py",
    ],
    "k5/tcb.py": ["tests/target/test_kernel_on_target.py", "tests/target/test_tasks.py"],
}
TARGET_TIER = ["tests/target", "--deselect", "tests/target/test_micropython_suite.py"]
KILLED = (1, 3, 36, 24, 152, 255, -24)  # test failure, pytest error, timeout (an endless loop)


def equivalents(path=EQUIVALENT):
    names = {}
    if path.exists():
        for line in path.read_text().splitlines():
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


def board_results():
    """{mutant name: the test that killed it on the board, or None} of --board runs."""
    if not BOARD_RESULTS.exists():
        return {}
    with open(BOARD_RESULTS) as source:
        return json.load(source)


def report(by_module, equivalent, out=print, board=None):
    board = board_results() if board is None else board
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
            if code in KILLED or board.get(name):
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


def _module_of(name):
    # "k5.log.x_rtt__mutmut_1" -> "k5/log.py"; "k5.x_spawn__mutmut_2" -> "k5/__init__.py"
    parts = name.split(".")
    modules = [part for part in parts[1:] if not part.startswith("x")]
    return "k5/" + ("/".join(modules) + ".py" if modules else "__init__.py")


def _board_tree():
    """A worktree of HEAD in build/mutate-board, its k5/ as committed, sharing mutants/."""
    if not (BOARD_TREE / ".git").exists():
        BOARD_TREE.parent.mkdir(exist_ok=True)
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(BOARD_TREE), "HEAD"], cwd=ROOT, check=True
        )
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    subprocess.run(
        ["git", "checkout", "--detach", "--force", "-q", head.stdout.strip()],
        cwd=BOARD_TREE,
        check=True,
    )
    for link in (".venv", "mutants"):
        path = BOARD_TREE / link
        if not path.exists():
            path.symlink_to(ROOT / link)
    return BOARD_TREE


def run_board(names, out=print):
    """Apply each mutant in the board worktree, build the emulated board's image and run the
    target tests that reach its module. Returns {name: the killing test, or None}."""
    mutmut = [sys.executable, "-m", "mutmut"]
    if subprocess.run(mutmut + ["show", names[0]], cwd=ROOT, capture_output=True).returncode != 0:
        # mutmut generates every mutant before running any: run the few of k5/ticks.py.
        if subprocess.run(mutmut + ["run", "k5.ticks.*"], cwd=ROOT).returncode != 0:
            raise SystemExit("k5 mutate: mutmut failed generating the mutants")
    tree = _board_tree()
    results = board_results()
    build = ["make", "-s", "-C", "ports/stm32l5", "BOARD=MPS2_AN505", "-j2"]
    if subprocess.run(build, cwd=tree, capture_output=True).returncode != 0:
        raise SystemExit("k5 mutate: the unmutated image does not build in " + str(tree))
    for name in names:
        module = _module_of(name)
        applied = subprocess.run(
            mutmut + ["apply", name], cwd=tree, capture_output=True, text=True
        )
        if applied.returncode != 0:
            raise SystemExit("k5 mutate: mutmut cannot apply %s: %s" % (name, applied.stderr))
        killer = None
        try:
            if subprocess.run(build, cwd=tree, capture_output=True).returncode != 0:
                killer = "the image build"
            else:
                tests = BOARD_TESTS.get(module, TARGET_TIER)
                pytest = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
                r = subprocess.run(pytest + tests, cwd=tree, capture_output=True, text=True)
                if r.returncode != 0:
                    failed = re.findall(r"^FAILED (\S+)", r.stdout, re.M)
                    killer = failed[0] if failed else "pytest status %d" % r.returncode
        finally:
            subprocess.run(["git", "checkout", "--", "k5"], cwd=tree, check=True)
        results[name] = killer
        out("%-48s %s" % (name, "killed by " + killer if killer else "SURVIVED"))
        BOARD_RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    subprocess.run(build, cwd=tree, capture_output=True)  # leave the image unmutated
    return {name: results[name] for name in names}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.verify.mutate")
    parser.add_argument("patterns", nargs="*", help="mutant names or globs (default: all)")
    parser.add_argument("--sample", type=int, metavar="N", help="N mutants of each module")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--board", action="store_true", help="run mutants on the emulated board")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.board:
        names = list(args.patterns) or sorted(equivalents(DEVICE_ONLY))
        done = run_board(names)
        survivors = [name for name, killer in done.items() if not killer]
        print("board: %d of %d mutants killed" % (len(done) - len(survivors), len(done)))
        return 1 if survivors else 0
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
