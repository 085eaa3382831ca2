"""Host benchmark: cost of one K5 IPC round trip (call + reply_recv)."""

# Runs unchanged under CPython and the MicroPython unix port:
#   python3 tools/bench_ipc.py            micropython tools/bench_ipc.py
# Reports microseconds per round trip, measured as (T(2N) - T(N)) / N so that set-up costs
# cancel, next to a baseline: the bare mechanism under the host arch, a thread hand-off there
# and back (lock release / acquire) with no kernel in between.

import sys

try:
    _here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
except NameError:
    _here = "tools"
sys.path.insert(0, _here + "/..")

import gc  # noqa: E402
import time  # noqa: E402

import _thread  # noqa: E402

import k5  # noqa: E402
from k5.abi import (  # noqa: E402
    RIGHT_GRANT_REPLY,
    RIGHT_READ,
    RIGHT_WRITE,
    SYS_CALL,
    SYS_RECV,
    SYS_REPLY_RECV,
)
from k5.system import System  # noqa: E402

if hasattr(time, "ticks_us"):

    def now_us():
        return time.ticks_us()

    def elapsed_us(start, end):
        return time.ticks_diff(end, start)

else:

    def now_us():
        return time.perf_counter() * 1e6

    def elapsed_us(start, end):
        return end - start


EP = 1


def client(ipc, rounds):
    for i in range(rounds):
        k5.call(EP, 1, (i,))


def server(ipc, arg):
    k5.recv(EP)
    while True:
        k5.reply_recv(EP, 2, (ipc.words[0],))


# The same exchange with requests built once: what remains is the kernel's own cost.
CALL = (SYS_CALL, EP, 1, (5,), None, -1, -1)
REPLY_RECV = (SYS_REPLY_RECV, EP, 2, (6,), None, -1, -1)
RECV = (SYS_RECV, EP, -1)


def client_prebuilt(ipc, rounds):
    trap = k5.trap
    for _ in range(rounds):
        trap(CALL)


def server_prebuilt(ipc, arg):
    trap = k5.trap
    trap(RECV)
    while True:
        trap(REPLY_RECV)


def time_ipc(rounds, prebuilt=False):
    system = System()
    ep = system.endpoint("ep")
    client_body = client_prebuilt if prebuilt else client
    server_body = server_prebuilt if prebuilt else server
    c = system.task("client", client_body, priority=10, arg=rounds, budget=10**6, period=10**6)
    s = system.task("server", server_body, priority=20, passive=True)
    system.give(c, EP, ep, RIGHT_WRITE | RIGHT_GRANT_REPLY)
    system.give(s, EP, ep, RIGHT_READ)
    gc.collect()
    start = now_us()
    system.run()
    end = now_us()
    assert c.obj.state == 7, "client did not finish"
    system.close()
    return elapsed_us(start, end)


def baseline_handoff(rounds):
    # A thread that answers each hand-off at once: two hand-offs per round, as in an IPC round
    # trip under the host arch (client -> kernel -> server, and back).
    go = _thread.allocate_lock()
    back = _thread.allocate_lock()
    go.acquire()
    back.acquire()
    state = [0]

    def partner():
        while True:
            go.acquire()
            if state[0] < 0:
                break
            state[0] += 1
            back.release()
        back.release()

    _thread.start_new_thread(partner, ())
    gc.collect()
    start = now_us()
    for _ in range(2 * rounds):
        go.release()
        back.acquire()
    end = now_us()
    state[0] = -1
    go.release()
    back.acquire()
    return elapsed_us(start, end)


def time_prebuilt(rounds):
    return time_ipc(rounds, True)


def per_op(measure, rounds, repeats=3):
    best = None
    for _ in range(repeats):
        cost = (measure(2 * rounds) - measure(rounds)) / rounds
        if best is None or cost < best:
            best = cost
    return best


def main():
    rounds = 2000
    if len(sys.argv) > 1:
        rounds = int(sys.argv[1])
    impl = sys.implementation.name
    ipc = per_op(time_ipc, rounds)
    kernel = per_op(time_prebuilt, rounds)
    base = per_op(baseline_handoff, rounds)
    print("implementation: %s" % impl)
    print("rounds: %d" % rounds)
    print("ipc round trip (call + reply_recv): %.2f us" % ipc)
    print("ipc round trip, prebuilt requests (kernel path): %.2f us" % kernel)
    print("baseline thread hand-off, there and back twice: %.2f us" % base)
    print("ratio: %.1f" % (ipc / base if base > 0 else 0.0))


main()
