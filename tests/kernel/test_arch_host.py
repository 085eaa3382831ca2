"""The host arch: task bodies on threads, strict hand-off, unwinding, no leaked threads."""

import _thread
import os
import pathlib
import subprocess
import sys

import pytest

import k5
from k5 import abi as A
from k5 import arch_host
from k5 import user as k
from k5.kernel import KernelPanic
from k5.system import System

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent


def test_user_api_at_top_level():
    assert k.call is k5.call and k.spin is k5.spin and k.trap is k5.trap
    for name in ("send", "recv", "reply_recv", "signal", "wait", "puts", "exit", "yield_"):
        assert getattr(k5, name) is getattr(k, name)


def test_trap_outside_a_task_is_an_error():
    with pytest.raises(RuntimeError, match="outside a task"):
        k5.yield_()
    with pytest.raises(RuntimeError, match="outside a task"):
        k5.spin(1)
    # Nor from a thread that is not a task's.
    done = _thread.allocate_lock()
    done.acquire()
    errors = []

    def other():
        try:
            k5.puts("hi")
        except RuntimeError as exc:
            errors.append(str(exc))
        done.release()

    _thread.start_new_thread(other, ())
    done.acquire()
    assert len(errors) == 1 and "outside a task" in errors[0]


def test_strict_hand_off():
    # Exactly one of {kernel, a task} runs: each task runs on a thread of its own, the kernel
    # (here: the trace callback) never runs while a task is between two traps.
    running = []
    seen = {}
    kernel_threads = set()

    def trace(line):
        assert running == [], "the kernel ran while a task was running"
        kernel_threads.add(_thread.get_ident())

    def body(ipc, name):
        for i in range(5):
            running.append(name)
            seen.setdefault(name, set()).add(_thread.get_ident())
            k5.spin(1)  # inside the run: no hand-off, still running
            assert running == [name]
            running.pop()
            k5.yield_()

    system = System(trace=trace, debug=True)
    for name in ("a", "b", "c"):
        system.task(name, body, priority=10, arg=name)
    system.run(200)
    assert kernel_threads == {_thread.get_ident()}
    threads = [seen[name] for name in ("a", "b", "c")]
    assert all(len(t) == 1 for t in threads)
    assert len(threads[0] | threads[1] | threads[2]) == 3
    assert _thread.get_ident() not in threads[0] | threads[1] | threads[2]
    assert arch_host.live_threads() == 0  # all three returned


def test_return_exit_fault_and_system_exit():
    def returns(ipc, arg):
        k5.spin(1)

    def exits(ipc, arg):
        k5.exit(4)
        raise AssertionError("exit returned")

    def raises(ipc, arg):
        k5.spin(1)
        raise ValueError("broken " + arg)

    def system_exit(ipc, arg):
        k5.spin(1)
        sys.exit(2)

    system = System(debug=True)
    tasks = [
        system.task("returns", returns, priority=10),
        system.task("exits", exits, priority=10),
        system.task("raises", raises, priority=10, arg="task"),
        system.task("system_exit", system_exit, priority=10),
    ]
    system.run(100)
    states = [task.obj.state for task in tasks]
    assert states == [A.STATE_EXITED, A.STATE_EXITED, A.STATE_FAULTED, A.STATE_EXITED]
    assert tasks[1].obj.exit_code == 4
    assert tasks[2].obj.fault_history[0][2] == "ValueError: broken task"
    # Only the task that called exit() still has a thread (parked in its exit trap).
    assert arch_host.live_threads() == 1
    system.close()
    assert arch_host.live_threads() == 0


def test_base_exception_of_a_task_reaches_the_caller_of_run():
    def interrupted(ipc, arg):
        k5.spin(1)
        raise KeyboardInterrupt()

    system = System(debug=True)
    system.task("interrupted", interrupted, priority=10)
    with pytest.raises(KeyboardInterrupt):
        system.run(100)


def test_restart_unwinds_the_old_thread():
    log = []
    lines = []

    def body(ipc, arg):
        log.append("start")
        try:
            k5.spin(1)
            if log.count("start") < 3:
                k5.tcb_restart(1)  # itself: this thread is abandoned in the trap
                log.append("restart returned")
            k5.recv(2)
            log.append("recv returned")
        finally:
            log.append("unwound")
            # Syscalls of an abandoned thread do not reach the kernel: they raise again.
            log.append(("puts", k5.puts("from an abandoned thread")))

    system = System(console=lines.append, debug=True)
    t = system.task("t", body, priority=10)
    system.give(t, 1, t)
    system.give(t, 2, system.endpoint("ep"))
    system.run(50)
    assert log == ["start", "unwound", "start", "unwound", "start"]
    assert t.obj.generation == 2 and t.obj.state == A.STATE_BLOCKED_RECV
    assert arch_host.live_threads() == 1
    system.close()
    assert log[-1] == "unwound" and lines == []
    assert arch_host.live_threads() == 0
    # A closed system's tasks never run again.
    system.run(50)
    assert log.count("start") == 3


def test_close_ends_blocked_threads_of_many_systems():
    before = arch_host.live_threads()

    def blocked(ipc, arg):
        k5.wait(1)

    for i in range(200):
        with System() as system:
            t = system.task("blocked", blocked, priority=10)
            system.give(t, 1, system.notification("n"))
            system.run(10)
            assert arch_host.live_threads() == before + 1
        assert arch_host.live_threads() == before


def test_halted_kernel_ends_its_threads():
    def blocked(ipc, arg):
        k5.wait(1)

    system = System()
    system.kernel.console = lambda line: None
    t = system.task("blocked", blocked, priority=10)
    system.give(t, 1, system.notification("n"))
    system.run(10)
    assert arch_host.live_threads() == 1
    system.kernel.sched = None  # sabotage: the next run panics
    with pytest.raises(KernelPanic):
        system.run(10)
    assert arch_host.live_threads() == 0


EXIT_SCRIPT = """
import sys
sys.path.insert(0, %r)
import k5
from k5.system import System


def blocked(ipc, arg):
    k5.puts("waiting")
    k5.wait(1)


system = System(console=print)
for i in range(20):
    t = system.task("t%%d" %% i, blocked, priority=10)
    system.give(t, 1, system.notification("n%%d" %% i))
print("result", system.run(100))
"""


@pytest.mark.parametrize("interpreter", ["cpython", "micropython"])
def test_blocked_task_threads_do_not_keep_the_process_alive(
    interpreter, unix_micropython, tmp_path
):
    script = tmp_path / "blocked.py"
    script.write_text(EXIT_SCRIPT % str(ROOT))
    command = sys.executable if interpreter == "cpython" else str(unix_micropython)
    env = dict(os.environ, MICROPYPATH=str(ROOT) + ":.frozen")
    proc = subprocess.run(
        [command, str(script)], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("waiting") == 20 and "result 1" in proc.stdout  # RUN_IDLE


def test_the_host_keeps_the_fault_text_limit_of_the_abi():
    from k5 import abi, arch_host

    assert arch_host._FAULT_TEXT_MAX == abi._FAULT_TEXT_MAX == 120
