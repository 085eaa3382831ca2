"""ARMv8-M (PMSAv8) MPU region solver: device windows to disjoint regions."""

# Pure algorithm: imports nothing from arch, so the host tests drive the real code.
# A window is (base, size, rights, device): rights READ or READ|WRITE (the MPU has no
# write-only), device True for device memory (nGnRE), False for normal memory. Windows may
# overlap; a granule's rights are the OR of the rights of every window covering it, and windows
# that overlap must agree on `device`. A region is (base, limit, rights, device), limit exclusive.
#
# Invariants of a solved list (check() verifies them, the kernel asserts it in debug builds):
# - regions are sorted by base and do not overlap (PMSAv8 faults on overlapping regions);
# - base and limit are multiples of GRANULE, base < limit <= 2**32;
# - rights are READ or READ|WRITE and device is a bool.
# solve() also guarantees: the regions cover exactly the union of the windows, each granule with
# its effective rights, and no two adjacent regions have equal (rights, device), so the count
# of regions is the minimum (every region must lie inside one maximal uniform run).

from k5._compat import const
from k5.abi import RIGHT_READ, RIGHT_WRITE

GRANULE = 32

_GRANULE_MASK = const(31)
_READ_WRITE = const(3)
# 2**32 is a long int on MicroPython: a plain global, not a const.
_ADDRESS_END = 0x100000000


class RegionError(ValueError):
    """The windows cannot be mapped: a bad window, a memory-type clash, or too many regions."""


def _number(value):
    return hex(value) if isinstance(value, int) else repr(value)


def _span(base, size):
    return _number(base) + "+" + _number(size)


def _name(base, size):
    return "window " + _span(base, size)


def _validate(window):
    """Returns (base, limit, rights, device) for a valid window; raises RegionError otherwise."""
    if not isinstance(window, tuple) or len(window) != 4:
        raise RegionError("window " + repr(window) + " is not (base, size, rights, device)")
    base, size, rights, device = window
    name = _name(base, size)
    if not isinstance(base, int) or isinstance(base, bool):
        raise RegionError(name + ": base is not an int")
    if not isinstance(size, int) or isinstance(size, bool):
        raise RegionError(name + ": size is not an int")
    if base < 0:
        raise RegionError(name + ": base is negative")
    if base & _GRANULE_MASK:
        raise RegionError(name + ": base is not 32-byte aligned")
    if size <= 0:
        raise RegionError(name + ": size is not positive")
    if size & _GRANULE_MASK:
        raise RegionError(name + ": size is not a multiple of 32 bytes")
    if base + size > _ADDRESS_END:
        raise RegionError(name + ": ends above the 4 GiB address space")
    if not isinstance(rights, int) or isinstance(rights, bool) or rights & ~_READ_WRITE:
        raise RegionError(name + ": rights " + repr(rights) + " are not READ or READ|WRITE")
    if rights == 0:
        raise RegionError(name + ": no rights (a region must at least be readable)")
    if rights == RIGHT_WRITE:
        raise RegionError(name + ": write-only cannot be expressed by the MPU; use READ|WRITE")
    if device is not True and device is not False:
        raise RegionError(name + ": device must be True or False, not " + repr(device))
    return (base, base + size, rights, device)


def _clash(valid, at):
    """The RegionError for windows of both memory types covering address `at`."""
    first = None
    second = None
    for i in range(len(valid)):
        base, limit, _, device = valid[i]
        if base <= at < limit:
            if first is None:
                first = i
            elif valid[first][3] != device:
                second = i
                break
    a = valid[first]
    b = valid[second]
    return RegionError(
        "windows "
        + _span(a[0], a[1] - a[0])
        + " and "
        + _span(b[0], b[1] - b[0])
        + " overlap with different memory types"
    )


def solve(windows, budget):
    """Maps `windows` to the fewest disjoint regions; raises RegionError if over `budget`.

    Returns a list of (base, limit, rights, device) sorted by base, limit exclusive.
    """
    if not isinstance(budget, int) or budget < 0:
        raise RegionError("the region budget " + repr(budget) + " is not a non-negative int")
    valid = [_validate(window) for window in windows]
    # Sweep the boundary points: +1 at each base, -1 at each limit; between two consecutive
    # points the set of covering windows, hence the rights and memory type, is constant.
    events = []
    for base, limit, rights, device in valid:
        writer = 1 if rights & RIGHT_WRITE else 0
        device_memory = 1 if device else 0
        events.append((base, 1, writer, device_memory))
        events.append((limit, -1, -writer, -device_memory))
    events.sort(key=lambda event: event[0])
    regions = []
    active = 0  # windows covering the current interval
    writers = 0  # of which grant WRITE
    devices = 0  # of which are device memory
    i = 0
    count = len(events)
    while i < count:
        at = events[i][0]
        while i < count and events[i][0] == at:
            _, step, writer, device_memory = events[i]
            active += step
            writers += writer
            devices += device_memory
            i += 1
        if active == 0 or i == count:
            continue
        if devices and devices != active:
            raise _clash(valid, at)
        end = events[i][0]
        rights = RIGHT_READ | RIGHT_WRITE if writers else RIGHT_READ
        device = devices > 0
        if regions:
            last = regions[-1]
            if last[1] == at and last[2] == rights and last[3] == device:
                regions[-1] = (last[0], end, rights, device)
                continue
        regions.append((at, end, rights, device))
    if len(regions) > budget:
        raise RegionError(
            "the windows need "
            + str(len(regions))
            + " MPU regions; only "
            + str(budget)
            + " are free"
        )
    return regions


def check(regions):
    """Raises AssertionError unless `regions` keeps the solved-list invariants (see above)."""
    previous_limit = 0
    for region in regions:
        if not isinstance(region, tuple) or len(region) != 4:
            raise AssertionError(
                "region " + repr(region) + " is not (base, limit, rights, device)"
            )
        base, limit, rights, device = region
        if not (isinstance(base, int) and isinstance(limit, int)):
            raise AssertionError("region " + repr(region) + ": base and limit must be ints")
        if base & _GRANULE_MASK or limit & _GRANULE_MASK:
            raise AssertionError("region " + repr(region) + ": not 32-byte aligned")
        if not (0 <= base < limit <= _ADDRESS_END):
            raise AssertionError("region " + repr(region) + ": empty or outside 4 GiB")
        if base < previous_limit:
            raise AssertionError("region " + repr(region) + ": unsorted or overlapping")
        if rights != RIGHT_READ and rights != RIGHT_READ | RIGHT_WRITE:
            raise AssertionError("region " + repr(region) + ": rights not READ or READ|WRITE")
        if device is not True and device is not False:
            raise AssertionError("region " + repr(region) + ": device is not a bool")
        previous_limit = limit
