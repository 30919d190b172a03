"""The ratios CI checks, their targets, and the lines every run prints.

Each suite records per-round samples (seconds) under names like ``validation.path`` and
``validation.floor``, on two clocks: ``cpu``, the CPU time of the thread that ran the round
(``time.thread_time``), and ``wall`` (``time.perf_counter``). A path and its floors are timed
interleaved, round by round, in one test, and a ratio is a quotient of medians.

Ratios of work done in-process are taken on the CPU clock: on a shared machine, time spent
waiting for a core that another process holds is not the path's work, and it is what makes
wall-clock ratios swing (seen here: 2.4 to 3.5 for the same code). The cast to RabbitMQ waits
for the broker's confirm, which is its real cost, so that ratio is taken on the wall clock.
Both clocks' ratios are printed; the ``ratio`` lines, which the gate reads, are::

    ratio <name> <value> target <target>
    skip <name> <reason>
    figure <name> <value> <unit>
"""

import statistics

# name: (target, clock, what it is)
TARGETS = {
    "validation": (2.0, "cpu", "servers.Controller.create's checks / the same checks inline"),
    "provision_1": (1.5, "cpu", "_provision_instances, 1 instance / one Core statement per table"),
    "provision_100": (
        1.5,
        "cpu",
        "_provision_instances, max_count=100 / one Core statement per table",
    ),
    "provision_100_vs_1": (0.35, "cpu", "per-instance cost at max_count=100 / one instance's cost"),
    "cast_memory": (1.3, "cpu", "conductor.rpcapi cast on memory:// / bare kombu publish"),
    "cast_rabbitmq": (1.3, "wall", "conductor.rpcapi cast on RabbitMQ with confirms / bare kombu"),
    "create": (
        2.0,
        "cpu",
        "WSGI create through the cast / sum of the validation, provisioning-1 "
        "and memory cast floors",
    ),
    "tracing": (1.3, "cpu", "(create traced - untraced) / the same number of bare SDK spans"),
    "active_latency": (
        1.5,
        "wall",
        "POST -> ACTIVE with the in-process conductor, embedded defaults / POST -> 202",
    ),
    "rejection": (2.5, "cpu", "a rejected create through the whole WSGI app / parse+check inline"),
    "conformance_run": (
        1.5,
        "wall",
        "in-process run of every fixture / the sum of its requests' own times",
    ),
    "live_conformance": (
        2.0,
        "wall",
        "refnova conformance --target against refnova serve / in-process, same fixtures",
    ),
    # The process's CPU clock: the HTTP server's threads do the path's work too.
    "http_create": (1.3, "cpu", "create over HTTP, keep-alive / the same create in-process"),
    "workers_2": (
        1.4,
        "wall",
        "creates/s with refnova serve --workers 2 / --workers 1, 8 clients, PostgreSQL + RabbitMQ",
    ),
}
# Ratios where more is better: the gate fails one below target / (1 + margin).
AT_LEAST = frozenset({"workers_2"})
CLOCKS = ("cpu", "wall")

# Targets not met yet, with why (benchmarks/README.md has the profiles). The gate still fails a
# run that is clearly slower than the level recorded here (its ceiling); the ``ratio`` lines
# keep reporting the table's target. Take an entry out once its target is met.
KNOWN_GAPS = {
    "tracing": (
        1.6,
        "the traced create runs as many interpreter instructions beyond the untraced one as the "
        "bare-SDK floor (1.00x, python -m benchmarks.tracing_work), and the floor's own SDK "
        "calls cost 1.30 to 1.35 times their tight loop's once other work runs between them "
        "(--interleaved-rounds); the median traced round also holds a young collection, the "
        "floor's does not (1.18 to 1.56 in quick runs on a 2-core machine, CI's own among them; "
        "1.26 to 1.39 in six full runs on another, three of them within 1.3)",
    ),
    "active_latency": (
        2.4,
        "no poll is waited for any more (the in-process broker's doorbell); what remains is the "
        "conductor's build itself (Core reads and writes, about 0.4 of the POST's CPU) after the "
        "POST on the same interpreter, on the wall clock of a shared machine (1.43 to 1.50 "
        "in four quick runs)",
    ),
}


def median(samples, name):
    values = samples.get(name)
    if not values:
        raise KeyError(name)
    return statistics.median(values)


def _formulas():
    def quotient(path, floor):
        return lambda m: m(path) / m(floor)

    return {
        "validation": quotient("validation.path", "validation.floor"),
        "provision_1": quotient("provision_1.path", "provision_1.floor"),
        "provision_100": quotient("provision_100.path", "provision_100.floor"),
        "provision_100_vs_1": lambda m: m("provision_100.path") / 100 / m("provision_100.path_1"),
        "cast_memory": quotient("cast_memory.path", "cast_memory.floor"),
        "cast_rabbitmq": quotient("cast_rabbitmq.path", "cast_rabbitmq.floor"),
        "create": lambda m: (
            m("create.path")
            / (
                m("create.floor.validation")
                + m("create.floor.provision_1")
                + m("create.floor.cast_memory")
            )
        ),
        "tracing": lambda m: (m("tracing.traced") - m("tracing.untraced")) / m("tracing.spans"),
        "active_latency": quotient("active_latency.active", "active_latency.post"),
        "rejection": quotient("rejection.path", "rejection.floor"),
        "conformance_run": quotient("conformance_run.wall", "conformance_run.requests"),
        "live_conformance": quotient("live_conformance.live", "live_conformance.in_process"),
        "http_create": quotient("http_create.http", "http_create.in_process"),
        # Seconds per create with 1 worker / with 2: creates/s with 2 / with 1.
        "workers_2": quotient("workers_2.workers_1", "workers_2.workers_2"),
    }


def compute(samples, skipped=None, clock=None):
    """[(name, value or None, target, reason)] for every ratio of the table, in its order.

    ``samples`` maps a clock to {sample name: [seconds]}; each ratio is taken on its own clock
    unless ``clock`` names one for all.
    """
    skipped = skipped or {}
    formulas = _formulas()
    rows = []
    for name, (target, own_clock, _) in TARGETS.items():
        if name in skipped:
            rows.append((name, None, target, skipped[name]))
            continue
        on = samples.get(clock or own_clock, {})
        try:
            value = formulas[name](lambda key, on=on: median(on, key))
        except KeyError as missing:
            rows.append(
                (
                    name,
                    None,
                    target,
                    "no samples for %s (its benchmark did not run)" % missing.args[0],
                )
            )
            continue
        rows.append((name, value, target, None))
    return rows


# Creates per second (no target): 1 / the median wall-clock time of a whole create.
RATE_FIGURES = {
    "creates_per_second.sqlite_memory.untraced": "create.path",
    "creates_per_second.sqlite_memory.traced": "tracing.traced",
    "creates_per_second.postgresql_memory.untraced": "throughput.postgresql_memory.path",
    "creates_per_second.sqlite_rabbitmq.untraced": "throughput.sqlite_rabbitmq.path",
    "creates_per_second.postgresql_rabbitmq.untraced": "throughput.postgresql_rabbitmq.path",
}


def figures_from(samples):
    wall = samples.get("wall", {})
    return {
        name: (1.0 / median(wall, key), "creates/s")
        for name, key in RATE_FIGURES.items()
        if wall.get(key)
    }


def lines(samples, skipped=None, figures=None):
    out = []
    for name, value, target, reason in compute(samples, skipped):
        if value is None:
            out.append("skip %s %s" % (name, " ".join(reason.split())))
        else:
            out.append("ratio %s %.3f target %s" % (name, value, target))
    for clock in CLOCKS:
        values = [
            "%s %.3f" % (name, value)
            for name, value, _, _ in compute(samples, skipped, clock)
            if value is not None
        ]
        if values:
            out.append("# on the %s clock: %s" % (clock, ", ".join(values)))
    for name, (value, unit) in {**figures_from(samples), **(figures or {})}.items():
        out.append("figure %s %.1f %s" % (name, value, unit))
    for name, reason in (skipped or {}).items():
        if name not in TARGETS:
            out.append("skip %s %s" % (name, " ".join(reason.split())))
    return out
