"""Property tests of the MPU region solver (pure, no kernel)."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k5.abi import RIGHT_GRANT, RIGHT_READ, RIGHT_WRITE
from k5.regions import GRANULE, RegionError, check, solve

READ_WRITE = RIGHT_READ | RIGHT_WRITE
# The universe: 16 granules placed at a few offsets (0, a device window, the top of 4 GiB, so
# limits reach 2**32 and addresses are long ints on MicroPython).
UNIVERSE = 16
OFFSETS = (0, 0x50000000, 2**32 - UNIVERSE * GRANULE)
MAX_WINDOWS = 6
MAX_EXAMPLES = 3000
SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None)
# Hypothesis skips inputs it has already tried, so a run may stop a little short of
# max_examples; it must still run nearly all of them.
MIN_EXAMPLES = MAX_EXAMPLES * 9 // 10

# Property name -> examples run (and, for the refusal property, how each ended).
EXAMPLES = {}
CLASH = "clash"


def _count(name):
    EXAMPLES[name] = EXAMPLES.get(name, 0) + 1


def _run(prop, name):
    """Runs a hypothesis property and checks (and prints) how many examples it ran."""
    EXAMPLES[name] = 0
    prop()
    print(f"{name}: {EXAMPLES[name]} examples")
    assert EXAMPLES[name] >= MIN_EXAMPLES, EXAMPLES


# Every window of the universe, as (first granule, granule count, rights, device): drawing one
# element per window keeps hypothesis's per-example cost (most of the run time) low.
ALL_WINDOWS = [
    (start, length, rights, device)
    for start in range(UNIVERSE)
    for length in range(1, UNIVERSE - start + 1)
    for rights in (RIGHT_READ, READ_WRITE)
    for device in (False, True)
]
drawn_windows = st.tuples(
    st.sampled_from(OFFSETS), st.lists(st.sampled_from(ALL_WINDOWS), max_size=MAX_WINDOWS)
)


def place(offset, items):
    return [
        (offset + start * GRANULE, length * GRANULE, rights, device)
        for start, length, rights, device in items
    ]


def any_windows():
    """(offset, windows), overlapping windows free to disagree on memory type."""
    return drawn_windows.map(lambda case: (case[0], place(case[0], case[1])))


def agree(items):
    """The items with each group of overlapping windows given the memory type of its first.

    Groups are the connected components of the overlap relation, so touching (not
    overlapping) windows may still differ.
    """
    parent = list(range(len(items)))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(len(items)):
        for j in range(i):
            si, li = items[i][0], items[i][1]
            sj, lj = items[j][0], items[j][1]
            if si < sj + lj and sj < si + li:
                a, b = root(i), root(j)
                parent[max(a, b)] = min(a, b)
    return [(s, n, r, items[root(i)][3]) for i, (s, n, r, _) in enumerate(items)]


def consistent_windows():
    """(offset, windows) where overlapping windows agree on memory type."""
    return drawn_windows.map(lambda case: (case[0], place(case[0], agree(case[1]))))


def window_map(windows, offset):
    """Per granule of the universe: None, (rights, device) from the windows directly, or CLASH."""
    cells = []
    for g in range(UNIVERSE):
        address = offset + g * GRANULE
        rights = 0
        types = set()
        for base, size, r, device in windows:
            if base <= address < base + size:
                rights |= r
                types.add(device)
        if not types:
            cells.append(None)
        elif len(types) > 1:
            cells.append(CLASH)
        else:
            cells.append((rights, types.pop()))
    return cells


def region_map(regions, offset):
    """Per granule of the universe: None or (rights, device) of the one region covering it."""
    cells = []
    for g in range(UNIVERSE):
        address = offset + g * GRANULE
        covering = [(r, d) for base, limit, r, d in regions if base <= address < limit]
        assert len(covering) <= 1, f"granule {g} is in {len(covering)} regions: {regions}"
        cells.append(covering[0] if covering else None)
    return cells


def brute_minimum(cells):
    """Fewest non-overlapping uniform regions covering exactly the covered cells.

    Exhaustive over every split of the universe (dynamic programming on prefixes): best[i] is
    the minimum for cells[:i]; a region ending at granule i may start at any j whose cells
    j..i-1 are all covered and equal.
    """
    best = [0] * (UNIVERSE + 1)
    for i in range(1, UNIVERSE + 1):
        if cells[i - 1] is None:
            best[i] = best[i - 1]
            continue
        candidates = []
        j = i - 1
        while j >= 0 and cells[j] == cells[i - 1]:
            candidates.append(best[j] + 1)
            j -= 1
        best[i] = min(candidates)
    return best[UNIVERSE]


# Properties 1-3: consistent windows and a budget no map can exceed (16 granules).


@SETTINGS
@given(consistent_windows())
def _property_disjoint(case):
    _count("disjoint")
    offset, windows = case
    regions = solve(windows, UNIVERSE)
    check(regions)
    for base, limit, rights, device in regions:
        assert base % GRANULE == 0 and limit % GRANULE == 0 and base < limit
        assert rights in (RIGHT_READ, READ_WRITE) and device in (True, False)
    for a, b in zip(regions, regions[1:]):
        assert a[1] <= b[0], regions


def test_regions_sorted_aligned_disjoint():
    _run(_property_disjoint, "disjoint")


@SETTINGS
@given(consistent_windows())
def _property_coverage(case):
    _count("coverage")
    offset, windows = case
    regions = solve(windows, UNIVERSE)
    assert region_map(regions, offset) == window_map(windows, offset)
    # Nothing outside the universe is mapped.
    for base, limit, _, _ in regions:
        assert offset <= base and limit <= offset + UNIVERSE * GRANULE


def test_regions_cover_exactly_the_windows():
    _run(_property_coverage, "coverage")


@SETTINGS
@given(consistent_windows())
def _property_minimal(case):
    _count("minimal")
    offset, windows = case
    regions = solve(windows, UNIVERSE)
    assert len(regions) == brute_minimum(window_map(windows, offset))


def test_region_count_is_minimal():
    _run(_property_minimal, "minimal")


# Property 4: any windows, any budget 0..8.


@SETTINGS
@given(any_windows(), st.integers(0, 8))
def _property_refusal(case, budget):
    _count("refusal")
    offset, windows = case
    cells = window_map(windows, offset)
    if CLASH in cells:
        with pytest.raises(RegionError, match="overlap with different memory types"):
            solve(windows, budget)
        _count("refusal/clash")
        return
    needed = brute_minimum(cells)
    if needed > budget:
        with pytest.raises(RegionError) as error:
            solve(windows, budget)
        assert str(error.value) == (
            f"the windows need {needed} MPU regions; only {budget} are free"
        )
        _count("refusal/over budget")
        return
    regions = solve(windows, budget)
    assert len(regions) == needed
    assert region_map(regions, offset) == cells
    _count("refusal/solved")


def test_refused_exactly_on_clash_or_over_budget():
    _run(_property_refusal, "refusal")
    print({key: value for key, value in EXAMPLES.items() if key.startswith("refusal/")})
    # Every outcome is exercised, not just one.
    for outcome in ("clash", "over budget", "solved"):
        assert EXAMPLES.get("refusal/" + outcome, 0) >= MAX_EXAMPLES // 20, EXAMPLES


# Error messages name the offending window in hex.


def refused(windows, budget=5):
    with pytest.raises(RegionError) as error:
        solve(windows, budget)
    return str(error.value)


@pytest.mark.parametrize(
    "window, message",
    [
        (
            (0x50000010, 0x100, RIGHT_READ, True),
            "window 0x50000010+0x100: base is not 32-byte aligned",
        ),
        (
            (0x50000000, 0x110, RIGHT_READ, True),
            "window 0x50000000+0x110: size is not a multiple of 32 bytes",
        ),
        ((0x50000000, 0, RIGHT_READ, True), "window 0x50000000+0x0: size is not positive"),
        ((0x50000000, -0x20, RIGHT_READ, True), "window 0x50000000+-0x20: size is not positive"),
        (
            (0x50000000, 0x100, RIGHT_WRITE, True),
            "window 0x50000000+0x100: write-only cannot be expressed by the MPU; use READ|WRITE",
        ),
        (
            (0x50000000, 0x100, 0, True),
            "window 0x50000000+0x100: no rights (a region must at least be readable)",
        ),
        (
            (0x50000000, 0x100, RIGHT_READ | RIGHT_GRANT, True),
            "window 0x50000000+0x100: rights 5 are not READ or READ|WRITE",
        ),
        (
            (0x50000000, 0x100, -1, True),
            "window 0x50000000+0x100: rights -1 are not READ or READ|WRITE",
        ),
        ((-0x20, 0x100, RIGHT_READ, True), "window -0x20+0x100: base is negative"),
        (
            (0xFFFFFF00, 0x200, RIGHT_READ, True),
            "window 0xffffff00+0x200: ends above the 4 GiB address space",
        ),
        (
            (0x50000000, 0x100, RIGHT_READ, 1),
            "window 0x50000000+0x100: device must be True or False, not 1",
        ),
        ((0x50000000, 0x100, RIGHT_READ), "window (1342177280, 256, 1) is not"),
        (("0x50000000", 0x100, RIGHT_READ, True), "window '0x50000000'+0x100: base is not an int"),
        ((0x50000000, 256.0, RIGHT_READ, True), "window 0x50000000+256.0: size is not an int"),
    ],
)
def test_bad_window_is_named(window, message):
    # The bad window is found wherever it is in the list.
    good = (0x20000000, 0x100, READ_WRITE, False)
    assert refused([good, window]).startswith(message)
    assert refused([window, good]).startswith(message)


def test_mixed_memory_types_overlap_names_both_windows():
    message = refused(
        [
            (0x20000000, 0x100, READ_WRITE, False),
            (0x50000000, 0x100, RIGHT_READ, True),
            (0x500000C0, 0x100, READ_WRITE, False),
        ]
    )
    assert message == (
        "windows 0x50000000+0x100 and 0x500000c0+0x100 overlap with different memory types"
    )


def test_touching_windows_may_differ_in_memory_type():
    regions = solve([(0x50000000, 0x100, RIGHT_READ, True), (0x50000100, 0x40, 1, False)], 5)
    assert regions == [
        (0x50000000, 0x50000100, RIGHT_READ, True),
        (0x50000100, 0x50000140, RIGHT_READ, False),
    ]


def test_over_budget_says_needed_and_free():
    # Six separate windows (gaps between them) need six regions.
    windows = [(0x40000000 + i * 0x1000, 0x100, RIGHT_READ, True) for i in range(6)]
    assert refused(windows, 5) == "the windows need 6 MPU regions; only 5 are free"
    assert len(solve(windows, 6)) == 6


def test_bad_budget():
    with pytest.raises(RegionError, match=re.escape("region budget -1")):
        solve([], -1)


def test_region_error_is_a_value_error():
    assert issubclass(RegionError, ValueError)


# Fixed examples.


def test_empty():
    assert solve([], 0) == []
    assert solve((), 5) == []


def test_overlapping_rights_are_ored_and_runs_merged():
    windows = [
        (0x40000000, 0x200, RIGHT_READ, True),
        (0x40000100, 0x200, READ_WRITE, True),  # overlaps the first: the overlap is RW
        (0x40000300, 0x100, READ_WRITE, True),  # touches the second: merged with it
        (0x40000000, 0x80, RIGHT_READ, True),  # inside the first: nothing changes
    ]
    assert solve(windows, 2) == [
        (0x40000000, 0x40000100, RIGHT_READ, True),
        (0x40000100, 0x40000400, READ_WRITE, True),
    ]


def test_megabyte_windows_and_the_top_of_memory():
    windows = [
        (0x60000000, 0x10000000, RIGHT_READ, False),  # 256 MiB
        (0x68000000, 0x1000000, READ_WRITE, False),
        (0xFFFFFFE0, 0x20, RIGHT_READ, True),  # the last granule: limit is 2**32
    ]
    regions = solve(windows, 5)
    check(regions)
    assert regions == [
        (0x60000000, 0x68000000, RIGHT_READ, False),
        (0x68000000, 0x69000000, READ_WRITE, False),
        (0x69000000, 0x70000000, RIGHT_READ, False),
        (0xFFFFFFE0, 2**32, RIGHT_READ, True),
    ]


@pytest.mark.parametrize(
    "regions",
    [
        [(0, 0x40, RIGHT_READ, True), (0x20, 0x60, RIGHT_READ, True)],  # overlapping
        [(0x40, 0x60, RIGHT_READ, True), (0, 0x20, RIGHT_READ, True)],  # unsorted
        [(0x10, 0x40, RIGHT_READ, True)],  # misaligned base
        [(0, 0x30, RIGHT_READ, True)],  # misaligned limit
        [(0x40, 0x40, RIGHT_READ, True)],  # empty
        [(2**32, 2**32 + 0x20, RIGHT_READ, True)],  # above 4 GiB
        [(0, 0x20, RIGHT_WRITE, True)],  # write-only
        [(0, 0x20, 0, True)],  # no rights
        [(0, 0x20, RIGHT_READ, 0)],  # device not a bool
        [(0, 0x20, RIGHT_READ)],  # not a region
    ],
)
def test_check_rejects(regions):
    with pytest.raises(AssertionError):
        check(regions)


def test_check_accepts_touching_regions():
    check([(0, 0x20, RIGHT_READ, True), (0x20, 0x40, READ_WRITE, False)])
    check([])


def test_windows_may_be_any_iterable():
    windows = [(0x40000000, 0x100, RIGHT_READ, True), (0x40000080, 0x100, RIGHT_READ, False)]
    with pytest.raises(RegionError, match="0x40000000\\+0x100 and 0x40000080\\+0x100"):
        solve(iter(windows), 5)
    assert solve(iter(windows[:1]), 5) == [(0x40000000, 0x40000100, RIGHT_READ, True)]
