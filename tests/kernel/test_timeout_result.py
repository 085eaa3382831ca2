"""A timeout fault raised as a syscall completes does not replace that syscall's result."""

import k5
from k5 import abi
from k5.system import System

A = abi


def test_timeout_reply_keeps_the_syscall_result():
    system = System(debug=True)
    ntfn = system.notification("never")
    timeouts = system.endpoint("timeouts")
    results = []
    handled = []

    def worker(ipc, arg):
        # Every poll finds nothing (ERR_WOULD_BLOCK); some end exactly at budget exhaustion.
        for _ in range(200):
            results.append(k5.poll(0))

    def handler(ipc, arg):
        k5.recv(0)
        while True:
            handled.append(ipc.label)
            k5.reply_recv(0, 0, ())

    w = system.task("worker", worker, priority=10, budget=3, period=10)
    h = system.task("handler", handler, priority=20)
    system.give(w, 0, ntfn, A.RIGHT_READ)
    system.give(h, 0, timeouts, A.RIGHT_READ)
    system.timeout_handler(w, timeouts)
    system.run(5000)
    system.close()
    assert handled and set(handled) == {A.FAULT_TIMEOUT}, handled
    assert len(results) == 200
    assert set(results) == {A.ERR_WOULD_BLOCK}, [r for r in results if r != A.ERR_WOULD_BLOCK]
