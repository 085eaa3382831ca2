"""Helpers for the kernel tests: small systems and scripted tasks."""

import k5
from k5.system import System


def scripted(requests, log):
    """A task body that traps with each raw request and logs (result, words, badge)."""

    def body(ipc, arg):
        for request in requests:
            result = k5.trap(request)
            log.append((result, ipc.word_tuple(), ipc.badge))

    return body


def solo(requests, caps=(), slots=8, debug=True, setup=None):
    """Run one task performing `requests`; return its results and the system."""
    system = System(debug=debug)
    log = []
    task = system.task("solo", scripted(requests, log), priority=10, slots=slots)
    for slot, ref, rights, badge in caps:
        system.give(task, slot, ref, rights, badge)
    if setup is not None:
        setup(system, task)
    system.run(10000)
    system.close()
    return [entry[0] for entry in log], log, system, task
