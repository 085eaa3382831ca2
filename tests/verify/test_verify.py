"""The explorer on the real kernel: a bounded run, seeded bugs found, scenarios replayed."""

# The bounded configuration here is what CI runs inside `make test` (a few minutes at most);
# `make verify` explores the same systems to at least 10^6 states.

import json
import os
import pathlib
import subprocess
import sys

import pytest

from tools.verify import bugs, explore
from tools.verify.invariants import Violation
from tools.verify.systems import SYSTEMS

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
SCENARIOS = sorted((pathlib.Path(__file__).parent / "scenarios").glob("*.json"))

# CI bounds: every state to this depth (core: ~38k states, sched: ~21k). Under mutation
# testing (mutmut sets MUTANT_UNDER_TEST) each mutant gets a shallower run.
CI_DEPTH = {
    "bindings": 12,
    "core": 7,
    "devices": 9,
    "donation": 12,
    "leases": 10,
    "replies": 9,
    "sched": 5,
    "sleepers": 7,
    "teardown": 7,
}
if "MUTANT_UNDER_TEST" in os.environ:
    CI_DEPTH = {
        "bindings": 9,
        "core": 6,
        "devices": 7,
        "donation": 9,
        "leases": 8,
        "replies": 7,
        "sched": 4,
        "sleepers": 5,
        "teardown": 6,
    }


@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_bounded_exploration_finds_no_violation(name):
    result = explore.explore(name, max_depth=CI_DEPTH[name])
    print(result.summary())
    assert result.violation is None, result.summary() + "\n" + "\n".join(result.path)
    assert result.depth == CI_DEPTH[name] or result.complete
    assert result.transitions >= result.states - 1 > 0


@pytest.mark.parametrize("bug", sorted(bugs.BUGS))
def test_seeded_bug_is_found_and_replays(bug, tmp_path):
    found = None
    names, depth = sorted(SYSTEMS), 5
    if bug in bugs.DEEP:
        system, depth = bugs.DEEP[bug]
        names = [system]
    with bugs.seeded(bug):
        for name in names:
            result = explore.explore(name, max_depth=depth, max_states=20000)
            if result.violation is not None:
                found = result
                break
    assert found is not None, "seeded bug %s escaped the explorer" % bug
    path = tmp_path / "counterexample.json"
    explore.write_scenario(path, explore.scenario(found, seeded_bug=bug))
    data = explore.load_scenario(path)
    assert data["steps"] == found.path
    with bugs.seeded(bug):
        with pytest.raises(Violation) as caught:
            explore.replay(data)
    assert caught.value.name == found.violation.name
    _real_kernel_passes(data)


def _real_kernel_passes(data):
    """The real kernel runs the path with every check, or the path is not one it can take (the
    bug changed which thread runs): either way no invariant fails."""
    try:
        assert explore.replay(data) == len(data["steps"])
    except explore.ScenarioError as diverged:
        assert "is not enabled" in str(diverged)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_committed_scenario(path):
    data = explore.load_scenario(path)
    if "seeded_bug" in data:
        with bugs.seeded(data["seeded_bug"]):
            with pytest.raises(Violation) as caught:
                explore.replay(data)
        assert caught.value.name == data["violation"]
        assert caught.value.detail == data["detail"]  # the same check failed, word for word
    _real_kernel_passes(data)


def test_shortest_counterexample():
    # Breadth first: no shorter path shows the bug.
    with bugs.seeded("no-charge"):
        result = explore.explore("sched", max_depth=6)
        assert result.violation is not None
        shorter = explore.explore("sched", max_depth=len(result.path) - 1)
    assert shorter.violation is None


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "tools.verify", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_cli_bad_input(tmp_path):
    r = _cli("explore", "--system", "nope")
    assert r.returncode == 2 and "k5 verify: unknown system 'nope'" in r.stderr
    assert "Traceback" not in r.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = _cli("replay", str(bad))
    assert r.returncode == 2 and "cannot read a scenario" in r.stderr
    bad.write_text(
        json.dumps({"format": explore.SCENARIO_FORMAT, "system": "core", "steps": ["x"]})
    )
    r = _cli("replay", str(bad))
    assert r.returncode == 2 and "'x' is not enabled" in r.stderr
    r = _cli("explore", "--depth", "0")
    assert r.returncode == 2 and "must be at least 1" in r.stderr


def test_cli_writes_a_replayable_counterexample(tmp_path):
    # A violation exits 1 and leaves a scenario that `replay` reproduces (with the same bug).
    code = (
        "import sys; from tools.verify import bugs, __main__ as m\n"
        "with bugs.seeded('lost-wakeup'):\n"
        "    sys.exit(m.main(sys.argv[1:]))\n"
    )
    args = ["explore", "--system", "sched", "--depth", "4", "--counterexample-dir", str(tmp_path)]
    r = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert "VIOLATION kernel-structures" in r.stdout
    written = list(tmp_path.glob("*.json"))
    assert len(written) == 1
    r = _cli("replay", str(written[0]))  # the real kernel passes it
    assert r.returncode == 0, r.stdout + r.stderr
