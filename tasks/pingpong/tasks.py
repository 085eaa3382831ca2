"""The pingpong app's tasks: a client calling a server, which faults once and is restarted."""

import k5
from k5 import log

EP = 1  # both tasks' slot for the endpoint (app.toml)
CRASH = 99  # the label that makes the server fault


def client(ipc, rounds, crash_at):
    for i in range(rounds):
        label = CRASH if i == crash_at else 1
        err = k5.call(EP, label, (i, i * i))
        print("round %d err=%d sum=%d" % (i, err, ipc.words[0] if err == 0 else -1))
        log.info("round %d: err %d", i, err)
    print("client done")


def server(ipc):
    k5.recv(EP)
    while True:
        if ipc.label == CRASH:
            log.warn("crashing on request %d, as asked", ipc.words[0])
            raise RuntimeError("asked to crash")  # the supervisor restarts this task
        k5.reply_recv(EP, 0, (ipc.words[0] + ipc.words[1],))
