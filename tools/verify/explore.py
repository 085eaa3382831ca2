"""The explorer: breadth-first search over every path of the real kernel in a small system."""

# The states, actions and boundary checks are in model.py; this file searches: breadth first,
# with state hashing over canon.canonical (through Model.key), so the first violation found
# has a shortest path, and writes and replays counterexamples as scenario files.

import json
import pickle
import time

from tools.verify.invariants import Violation
from tools.verify.model import Model

SCENARIO_FORMAT = "k5-verify-scenario 1"


def _dumps(state):
    """Snapshot a state. The kernel's syscall table (functions) and the scheduler's
    constant bit table are left out and put back by _loads: half the cost of a snapshot."""
    kernel = state.system.kernel
    handlers = kernel.handlers
    msb = kernel.sched.msb
    kernel.handlers = None
    kernel.sched.msb = None
    try:
        return pickle.dumps(state, pickle.HIGHEST_PROTOCOL)
    finally:
        kernel.handlers = handlers
        kernel.sched.msb = msb


class _Restore:
    """What _loads puts back: the handler table and the shared bit table."""

    def __init__(self, state):
        kernel = state.system.kernel
        # The table of handler functions (module functions, possibly a seeded bug's wrapper)
        # is never changed by the kernel: every restored state shares it.
        self.handlers = kernel.handlers
        self.msb = kernel.sched.msb

    def loads(self, blob):
        state = pickle.loads(blob)
        kernel = state.system.kernel
        kernel.handlers = self.handlers
        kernel.sched.msb = self.msb
        return state


class Result:
    """What an exploration found: counts, time, and the first violation with its path."""

    def __init__(self, system):
        self.system = system
        self.states = 0
        self.transitions = 0
        self.depth = 0
        self.seconds = 0.0
        self.complete = False
        self.violation = None
        self.path = None

    def rate(self):
        return self.states / self.seconds if self.seconds > 0 else 0.0

    def summary(self):
        text = "%s: %d states, %d transitions, depth %d%s, %.1f s, %.0f states/s" % (
            self.system,
            self.states,
            self.transitions,
            self.depth,
            " (all states)" if self.complete else "",
            self.seconds,
            self.rate(),
        )
        if self.violation is not None:
            text += "\n  VIOLATION %s after %d steps" % (self.violation, len(self.path))
        return text


def explore(name, max_depth=10, max_states=-1, progress=None):
    """Breadth-first search of system `name` to `max_depth` steps (or `max_states` states)."""
    model = Model(name)
    result = Result(name)
    started = time.monotonic()
    initial = model.initial
    model.check(initial)
    root = hash(model.key(initial))
    parents = {root: None}
    restore = _Restore(initial)
    frontier = [(root, _dumps(initial))]
    result.states = 1

    def path_to(key, last):
        steps = [last]
        while parents[key] is not None:
            key, action = parents[key]
            steps.append(action)
        steps.reverse()
        return steps

    depth = 0
    while frontier and depth < max_depth:
        following = []
        for key, blob in frontier:
            state = restore.loads(blob)
            actions = model.actions(state)
            for number, action in enumerate(actions):
                if number > 0:
                    state = restore.loads(blob)
                result.transitions += 1
                try:
                    model.apply(state, action)
                    child = hash(model.key(state))
                    if child in parents:
                        continue
                    parents[child] = (key, action)
                    result.states += 1
                    model.check(state)
                except Violation as violation:
                    result.violation = violation
                    result.path = path_to(key, action)
                    result.depth = depth + 1
                    result.seconds = time.monotonic() - started
                    return result
                following.append((child, _dumps(state)))
                if max_states > 0 and result.states >= max_states:
                    result.depth = depth + 1
                    result.seconds = time.monotonic() - started
                    return result
        depth += 1
        frontier = following
        result.depth = depth
        if progress is not None:
            progress(result, len(frontier), time.monotonic() - started)
    result.complete = not frontier
    result.seconds = time.monotonic() - started
    return result


# --- scenarios: counterexamples as replayable files -----------------------------------------


class ScenarioError(Exception):
    """A scenario file is malformed or does not fit its system."""


def scenario(result, seeded_bug=None):
    """The counterexample of `result` as a scenario (a dict ready for JSON)."""
    if result.violation is None:
        raise ValueError("no violation to write a scenario for")
    data = {
        "format": SCENARIO_FORMAT,
        "system": result.system,
        "steps": list(result.path),
        "violation": result.violation.name,
        "detail": result.violation.detail,
    }
    if seeded_bug is not None:
        data["seeded_bug"] = seeded_bug
    return data


def write_scenario(path, data):
    with open(path, "w") as out:
        json.dump(data, out, indent=1)
        out.write("\n")


def load_scenario(path):
    try:
        with open(path) as source:
            data = json.load(source)
    except (OSError, ValueError) as exc:
        raise ScenarioError("%s: cannot read a scenario: %s" % (path, exc)) from None
    if type(data) is not dict or data.get("format") != SCENARIO_FORMAT:
        raise ScenarioError("%s: not a %s file" % (path, SCENARIO_FORMAT))
    steps = data.get("steps")
    if type(steps) is not list or not all(type(step) is str for step in steps):
        raise ScenarioError("%s: 'steps' must be a list of action names" % path)
    if type(data.get("system")) is not str:
        raise ScenarioError("%s: 'system' must name a system" % path)
    return data


def replay(data):
    """Run a scenario's steps with every check; raise Violation where one fails.

    Returns the number of steps run. A step that is not enabled raises ScenarioError.
    """
    try:
        model = Model(data["system"])
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    state = model.initial
    model.check(state)
    for number, step in enumerate(data["steps"]):
        enabled = model.actions(state)
        if step not in enabled:
            raise ScenarioError(
                "step %d: %r is not enabled (enabled: %s)" % (number, step, ", ".join(enabled))
            )
        model.apply(state, step)
        model.check(state)
    return len(data["steps"])
