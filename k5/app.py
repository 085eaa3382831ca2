"""Static apps: a whole system built from the description `k5 gen` makes of an app.toml."""

# An app is plain data (tools/app.py writes it as module k5app, frozen into the image): named
# endpoints, notifications, device windows and IRQs, and tasks with their module and entry,
# scheduling, caps, handlers and config. build() makes it with a builder (k5.builder.Builder:
# the kernel-side one at boot on the board, or the host's in tests), the same calls a script
# makes. A task's body is run() below, in the task (its image names it: k5.builder.Builder packs
# it by name): it imports the task's module (the task's own instance, in its own namespace)
# and calls entry(ipc, **config), so no app code runs on the kernel's thread, not even a
# module's top level. A task with an interpreter of its own imports this module itself, so it
# imports nothing at its top level but what run() needs.

_POLICIES = ("restart", "backoff", "hold")


def run(ipc, spec):
    """The body of every app task: spec is (module, entry, config pairs)."""
    module = __import__(spec[0], None, None, (spec[1],))
    config = {}
    for key, value in spec[2]:
        config[key] = value
    getattr(module, spec[1])(ipc, **config)


def build(system, app):
    """Make `app` (a description from tools/app.py) with `system`; returns {name: ref}."""
    from k5 import log, supervisor

    refs = {}
    if app.get("log_events"):
        log.kernel_events(True)
    if app.get("log_rtt"):
        log.rtt(True)
    for name in app["endpoints"]:
        refs[name] = system.endpoint(name)
    for name in app["notifications"]:
        refs[name] = system.notification(name)
    for name, base, size, rights in app["windows"]:
        refs[name] = system.window(name, base, size, rights)
    for name, line, notification, badge in app["irqs"]:
        refs[name] = system.irq(name, line, refs[notification], badge)
    tasks = app["tasks"]
    for task in tasks:
        options = {
            "priority": task["priority"],
            "mcp": task["mcp"],
            "slots": task["slots"],
            "passive": task["passive"],
            "stack": task["stack"],
            "start": False,
        }
        if task.get("heap"):
            options["heap"] = task["heap"]  # an interpreter of its own
        if task["budget"] is not None:
            options["budget"] = task["budget"]
            options["period"] = task["period"]
        spec = (task["module"], task["entry"], task["config"])
        refs[task["name"]] = system.task(task["name"], run, arg=spec, **options)
    for task in tasks:
        ref = refs[task["name"]]
        for slot, name, rights, badge in task["caps"]:
            system.give(ref, slot, refs[name], rights, badge)
        if task["fault_handler"] is not None:
            system.fault_handler(ref, refs[task["fault_handler"][0]], task["fault_handler"][1])
        if task["timeout_handler"] is not None:
            endpoint, badge = task["timeout_handler"]
            system.timeout_handler(ref, refs[endpoint], badge)
        if task["notification"] is not None:
            system.bind_notification(ref, refs[task["notification"]])
    supervised = [task for task in tasks if task["supervise"] is not None]
    if supervised:
        entries = []
        for task in supervised:
            policy, base, limit, hold_after = task["supervise"]
            entries.append((refs[task["name"]], _POLICIES.index(policy), base, limit, hold_after))
        refs["supervisor"] = supervisor.supervise(
            system, entries, priority=app["supervisor_priority"]
        )
    for task in tasks:
        if task["start"]:
            system.start(refs[task["name"]])
    return refs
