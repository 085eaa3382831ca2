"""Seeded random walk of an explored system: the same trace on CPython and MicroPython."""

# micropython tools/verify/walk.py SYSTEM SEED STEPS   (or python -m tools.verify.walk ...)
# Each line is one step: its number, the action taken and the canonical form of the state it
# led to, with every invariant and boundary check applied on the way. The walk picks actions
# with a fixed linear congruential generator, so the trace depends only on (SYSTEM, SEED,
# STEPS) and on the kernel: running it under two interpreters and comparing the output is a
# differential check of the kernel's behaviour (tests/verify/test_differential.py).

import sys

try:
    _here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    sys.path.insert(0, _here + "/../..")
except NameError:
    pass

from tools.verify.model import Model  # noqa: E402


def _next(seed):
    return (seed * 1103515245 + 12345) & 0x3FFFFFFF


def walk(name, seed, steps, out):
    """Take `steps` pseudo-random actions from `name`'s initial state, printing each."""
    model = Model(name)
    state = model.initial
    model.check(state)
    out("0 start %r" % (model.key(state),))
    for number in range(1, steps + 1):
        actions = model.actions(state)
        if not actions:
            out("%d halted" % number)
            return
        seed = _next(seed)
        action = actions[(seed >> 8) % len(actions)]
        model.apply(state, action)
        model.check(state)
        out("%d %s %r" % (number, action, (model.key(state),)))


def main(argv):
    if len(argv) != 3:
        print("usage: walk.py SYSTEM SEED STEPS")
        return 2
    try:
        seed = int(argv[1])
        steps = int(argv[2])
    except ValueError:
        print("walk.py: SEED and STEPS must be integers")
        return 2
    walk(argv[0], seed, steps, print)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
