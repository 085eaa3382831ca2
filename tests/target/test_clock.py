"""Tier 4: the emulated board's clock is sound from boot, on a host that keeps QEMU waiting."""

import os
import random
import signal
import threading
import time

import pytest

from conftest import mpremote
from tools.emu import Emulator

pytestmark = pytest.mark.qemu

# Fresh QEMUs, four in five without -icount (the guest's clock is the host's, and QEMU's timers
# catch up after a stall one interrupt at a time), the others with it (its clock follows the
# host's only while the guest idles). Not with skip_idle: its idle clock races the host's.
BOOTS = [False, False, False, False, True] * 6

# The clock as the REPL sees it, twice, 50 ms of sleep apart: ticks_ms, ticks_us, ticks_ms again
# and the FPGAIO block's COUNTER (20 MHz from reset, the virtual clock the board counts from);
# then how often ticks_us and ticks_ms went back while read again and again for BACK_US.
SCRIPT = (
    "import time, machine\n"
    "def sample():\n"
    "    return time.ticks_ms(), time.ticks_us(), time.ticks_ms(), machine.mem32[0x50302018]\n"
    "def backwards(span):\n"
    "    n = 0; us = time.ticks_us(); ms = time.ticks_ms(); end = time.ticks_add(us, span)\n"
    "    while time.ticks_diff(end, us) > 0:\n"
    "        u = time.ticks_us(); m = time.ticks_ms()\n"
    "        n += time.ticks_diff(u, us) < 0 or time.ticks_diff(m, ms) < 0\n"
    "        us = u; ms = m\n"
    "    return n\n"
    "a = sample()\n"
    "time.sleep_ms(50)\n"
    "print('clock', *(a + sample()), backwards(BACK_US))\n"
)
# With -icount a busy guest's clock runs at one instruction a nanosecond, far slower than the
# host's: its reading loop is shorter.
BACK_US = {False: 400_000, True: 30_000}
COUNTER_PER_MS = 20000


def _stall(pid, done, rng):
    # A loaded host, made: QEMU kept off the CPU for 0.5 to 10 ms at a time, at random.
    while not done.wait(rng.uniform(0.001, 0.02)):
        os.kill(pid, signal.SIGSTOP)
        time.sleep(rng.uniform(0.0005, 0.01))
        os.kill(pid, signal.SIGCONT)


def boot_and_read_clock(elf, icount, seed):
    """Boots `elf` on a stalled QEMU and runs SCRIPT; returns its two samples, how often the
    clock went back, and the host's milliseconds from QEMU's start to the script's end."""
    start = time.monotonic()
    # A loopback socket, not a pty: pty numbers come back, and another program may hold one.
    with Emulator(elf, icount=icount, serial="socket") as emu:
        done = threading.Event()
        staller = threading.Thread(
            target=_stall, args=(emu.process.pid, done, random.Random(seed))
        )
        staller.start()
        try:
            time.sleep(1.5)  # the boot (about 1 s), then the REPL idling: stalled
            r = mpremote(emu.port, "exec", SCRIPT.replace("BACK_US", str(BACK_US[icount])))
        finally:
            done.set()
            staller.join()
        host_ms = (time.monotonic() - start) * 1000
    assert r.returncode == 0, r.stdout + r.stderr
    values = [int(v) for v in r.stdout.split("clock ")[1].split()]
    return values[:4], values[4:8], values[8], host_ms


def unsound(before, after, backwards, host_ms):
    """What is wrong with the clock in two samples (ms, us, ms, COUNTER) 50 ms of sleep apart."""
    wrong = []
    for ms, us, ms_again, counter in (before, after):
        # The millisecond count is COUNTER's whole periods since SysTick started: never ahead of
        # it (COUNTER, read last, shows all it counted), and behind it by no more than the
        # periods whose interrupts a stall holds back, and SysTick's start after reset.
        if ms_again > counter // COUNTER_PER_MS:
            wrong.append(f"ticks_ms {ms_again} ahead of the counter's {counter // COUNTER_PER_MS}")
        if ms < counter // COUNTER_PER_MS - 250:
            wrong.append(f"ticks_ms {ms} behind the counter's {counter // COUNTER_PER_MS}")
        # ticks_us is the counted periods and the time since, by COUNTER too.
        if not ms * 1000 <= us <= counter // (COUNTER_PER_MS // 1000):
            wrong.append(f"ticks_us {us} outside ticks_ms {ms} and the counter's {counter}")
    # Right after boot the clock is small: the guest's clock runs no faster than the host's
    # (with -icount slower, while the guest is busy); 1 s of slack for QEMU's own start.
    if not 0 <= before[0] <= host_ms + 1000:
        wrong.append(f"ticks_ms {before[0]} after {host_ms:.0f} ms on the host")
    # sleep_ms(50) sleeps at least 50 ms of ticks_ms, from the count as the sleep began (which
    # interrupts a stall holds back may leave behind ticks_us: ticks_us may show less).
    if after[0] - before[2] < 50:
        wrong.append(f"slept {after[0] - before[2]} ms")
    if backwards:
        wrong.append(f"ticks_us or ticks_ms went back {backwards} times")
    return wrong


def test_the_clock_is_sound_from_boot_in_30_boots(emu_elf):
    # Each SysTick interrupt adds the periods the FPGAIO counter says passed (the emulated board
    # merges periods: docs/port.md, "Time and console"). Once the periods counted ran ahead of
    # the counter, the next subtraction wrapped: 2**32 counter cycles, 214,748 ms at once.
    bad = []
    for seed, icount in enumerate(BOOTS):
        before, after, backwards, host_ms = boot_and_read_clock(emu_elf, icount, seed)
        wrong = unsound(before, after, backwards, host_ms)
        if wrong:
            bad.append((seed, "icount" if icount else "no icount", wrong))
    assert bad == [], f"{len(bad)} of {len(BOOTS)} boots' clocks were unsound: {bad}"
