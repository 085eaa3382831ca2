"""On-target profile: instructions of the pieces the kernel's trap path is made of."""

# Run with `python -m tools.profile` (MPS2_AN505 under QEMU -icount shift=0; CMSDK Timer0 ticks
# once per 50 instructions). Each line is "name instructions": the cost of one operation net of
# the empty loop, as (T(2N) - T(N)) * 50 / N - loop. These are the costs that explain where
# k5_null_syscall and k5_ipc_round_trip (tools/bench_device.py) spend their instructions.

import gc

import machine

import k5
from k5.abi import OK
from k5.system import System

_TIMER = 0x50000000
_START = 0x3FFFFFFF
_PER_TICK = 50


def _ticks(run, n):
    gc.collect()
    mem = machine.mem32
    mem[_TIMER] = 0
    mem[_TIMER + 8] = _START
    mem[_TIMER + 4] = _START
    mem[_TIMER] = 1
    run(n)
    return _START - mem[_TIMER + 4]


def per_op(run, n=2000):
    return (_ticks(run, 2 * n) - _ticks(run, n)) * _PER_TICK // n


def _idle(ipc, arg):
    k5.wait(1)


system = System()
ntfn = system.notification("n")
task = system.task("t", _idle, priority=10)
system.give(task, 1, ntfn)
system.run()
kernel = system.kernel
arch = kernel.arch
tcb = task.obj
ctx = tcb.context


def f4(a, b, c, d):
    return None


def empty(n):
    for _ in range(n):
        pass


def now(n):
    arch_now = arch.now
    for _ in range(n):
        arch_now()


def request(n):
    arch_request = arch.request
    for _ in range(n):
        arch_request(ctx)


def set_result(n):
    arch_set_result = arch.set_result
    for _ in range(n):
        arch_set_result(ctx, 0)


def attr_load(n):
    t = tcb
    for _ in range(n):
        t.sc


def attr_store(n):
    t = tcb
    for _ in range(n):
        t.yielded = False


def call4(n):
    g = f4
    for _ in range(n):
        g(1, 2, 3, 4)


def method0(n):
    k = kernel
    for _ in range(n):
        k.check_invariants


def type_check(n):
    x = 5
    for _ in range(n):
        type(x) is int


def type_local(n, _type=type, _int=int):
    x = 5
    for _ in range(n):
        _type(x) is _int


def class_attr(n):
    x = 5
    i = int
    for _ in range(n):
        x.__class__ is i


def global_load(n):
    for _ in range(n):
        OK


def choose(n):
    kernel.current = tcb
    tcb.state = 1
    for _ in range(n):
        kernel._choose()
    kernel.current = None
    tcb.state = 5


base = per_op(empty)
print("empty_loop", base)
for name, fn in (
    ("arch_now", now),
    ("arch_request", request),
    ("arch_set_result", set_result),
    ("attr_load", attr_load),
    ("attr_store", attr_store),
    ("call_4_args", call4),
    ("bound_method_load", method0),
    ("type_is_int", type_check),
    ("type_is_int_local", type_local),
    ("class_is_int", class_attr),
    ("global_load", global_load),
):
    print(name, per_op(fn) - base)
print("kernel_choose", per_op(choose, 500) - base)
system.close()

# The irreducible part of a null syscall: the native trap and the task's own loop, with a
# kernel loop that only resumes the task and sets its result.
_NULL = (0,)


def _nulls(ipc, arg):
    trap = k5.trap
    while True:
        trap(_NULL)


system = System()
task = system.task("nulls", _nulls, priority=10, budget=1 << 29, period=1 << 29)
arch = system.kernel.arch
ctx = task.obj.context


def bare(n):
    arch_run = arch.run
    arch_set_result = arch.set_result
    for _ in range(n):
        arch_run(ctx, 1 << 29)
        arch_set_result(ctx, 1)


print("bare_trap_loop", per_op(bare, 500))
system.close()

# Two tasks, alternately resumed: what a switch between tasks costs the native layer.
system = System()
a = system.task("a", _nulls, priority=10, budget=1 << 29, period=1 << 29)
b = system.task("b", _nulls, priority=10, budget=1 << 29, period=1 << 29)
arch = system.kernel.arch
ctx_a = a.obj.context
ctx_b = b.obj.context


def bare_switch(n):
    arch_run = arch.run
    arch_set_result = arch.set_result
    for _ in range(n):
        arch_run(ctx_a, 1 << 29)
        arch_set_result(ctx_a, 1)
        arch_run(ctx_b, 1 << 29)
        arch_set_result(ctx_b, 1)


print("bare_switch_pair", per_op(bare_switch, 250))
system.close()

# The fast path's two handlers alone, without traps: call then reply_recv, alternately.
from k5 import fastpath  # noqa: E402
from k5.abi import NO_SLOT, SYS_CALL, SYS_RECV, SYS_REPLY_RECV, STATE_RUNNING  # noqa: E402

_RECV = (SYS_RECV, 1, NO_SLOT)
_CALL = (SYS_CALL, 1, 1, (5,), None, NO_SLOT, NO_SLOT)
_REPLY_RECV = (SYS_REPLY_RECV, 1, 2, (6,), None, NO_SLOT, NO_SLOT)


def _server(ipc, arg):
    k5.trap(_RECV)


def _client(ipc, arg):
    k5.wait(2)


system = System()
ep = system.endpoint("ep")
n2 = system.notification("n2")
c = system.task("client", _client, priority=10, budget=1 << 29, period=1 << 29)
s = system.task("server", _server, priority=20, passive=True)
system.give(c, 1, ep)
system.give(c, 2, n2)
system.give(s, 1, ep)
system.run()
kernel = system.kernel
client = c.obj
server = s.obj
n2.obj.queue.remove(client)
client.blocked_on = None
client.state = STATE_RUNNING
kernel.current = client
kernel.cur_sc = client.sc
print("fast_call_alone", end=" ")


def call_only(n):
    for _ in range(n):
        fastpath.sys_call(kernel, client, SYS_CALL, _CALL)
        fastpath.sys_reply_recv(kernel, server, SYS_REPLY_RECV, _REPLY_RECV)


print(per_op(call_only, 500))
assert kernel.current is client
system.close()
