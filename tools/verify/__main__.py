"""k5 verify: explore the real kernel's small systems; replay counterexample scenarios."""

# python -m tools.verify explore [--system NAME]... [--depth N] [--max-states N] [--jobs N]
#                                [--counterexample-dir DIR]
# python -m tools.verify replay [--bug SEEDED_BUG] FILE...
# Exit status: 0 when no invariant failed, 1 on a violation (a scenario file is written),
# 2 on bad usage (printed as `k5 verify: message`, no traceback).

import argparse
import multiprocessing
import os
import sys
import time

from tools.verify import bugs, explore
from tools.verify.invariants import Violation
from tools.verify.systems import SYSTEMS


class CommandError(Exception):
    """A user error: printed as `k5 verify: message`, exit status 2."""


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an integer" % text) from None
    if value < 1:
        raise argparse.ArgumentTypeError("%r must be at least 1" % text)
    return value


def _progress(result, frontier, seconds):
    print(
        "  %s: depth %d, %d states, %d transitions, frontier %d, %.0f s"
        % (result.system, result.depth, result.states, result.transitions, frontier, seconds),
        file=sys.stderr,
        flush=True,
    )


def _explore_one(job):
    name, depth, max_states = job
    return explore.explore(name, max_depth=depth, max_states=max_states, progress=_progress)


def do_explore(args):
    names = args.system or sorted(SYSTEMS)
    for name in names:
        if name not in SYSTEMS:
            raise CommandError(
                "unknown system %r (known: %s)" % (name, ", ".join(sorted(SYSTEMS)))
            )
    max_states = args.max_states if args.max_states else -1
    jobs = [(name, args.depth, max_states) for name in names]
    started = time.monotonic()
    if args.jobs > 1 and len(jobs) > 1:
        with multiprocessing.Pool(min(args.jobs, len(jobs))) as pool:
            results = pool.map(_explore_one, jobs)
    else:
        results = [_explore_one(job) for job in jobs]
    wall = time.monotonic() - started
    failed = False
    for result in results:
        print(result.summary())
        if result.violation is not None:
            failed = True
            os.makedirs(args.counterexample_dir, exist_ok=True)
            path = os.path.join(
                args.counterexample_dir, "%s-%s.json" % (result.system, result.violation.name)
            )
            explore.write_scenario(path, explore.scenario(result))
            print("  counterexample: " + path)
            print("  replay: python -m tools.verify replay " + path)
            for number, step in enumerate(result.path):
                print("  %3d %s" % (number + 1, step))
    states = sum(result.states for result in results)
    transitions = sum(result.transitions for result in results)
    cpu = sum(result.seconds for result in results)
    print(
        "total: %d states, %d transitions, max depth %d, %.1f s wall (%.1f s CPU), %.0f states/s"
        % (
            states,
            transitions,
            max(result.depth for result in results),
            wall,
            cpu,
            states / wall if wall > 0 else 0.0,
        )
    )
    if args.min_states and states < args.min_states:
        print(
            "k5 verify: explored %d states, fewer than --min-states %d" % (states, args.min_states)
        )
        return 1
    return 1 if failed else 0


def do_replay(args):
    status = 0
    for path in args.files:
        try:
            data = explore.load_scenario(path)
            if args.bug:
                with bugs.seeded(args.bug):
                    steps = explore.replay(data)
            else:
                steps = explore.replay(data)
        except explore.ScenarioError as exc:
            raise CommandError(str(exc)) from None
        except Violation as violation:
            print("%s: VIOLATION %s" % (path, violation))
            status = 1
            continue
        print("%s: %d steps, every invariant holds" % (path, steps))
    return status


def _parser():
    parser = argparse.ArgumentParser(prog="python -m tools.verify", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    sub = commands.add_parser("explore", help="breadth-first search of the systems")
    sub.add_argument("--system", action="append", help="system to explore (default: all)")
    sub.add_argument("--depth", type=_positive, default=12, help="maximum path length")
    sub.add_argument("--max-states", type=_positive, default=None, help="stop after N states")
    sub.add_argument("--min-states", type=_positive, default=None, help="fail below N states")
    sub.add_argument("--jobs", type=_positive, default=1, help="systems explored in parallel")
    sub.add_argument(
        "--counterexample-dir", default="build-verify", help="where scenario files go"
    )
    sub.set_defaults(handler=do_explore)
    sub = commands.add_parser("replay", help="replay scenario files with every check")
    sub.add_argument("files", nargs="+")
    sub.add_argument("--bug", choices=sorted(bugs.BUGS), help="replay with a seeded bug")
    sub.set_defaults(handler=do_replay)
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except CommandError as exc:
        print("k5 verify: " + str(exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
