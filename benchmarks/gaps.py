"""Where the two missed targets' costs go: ``python -m benchmarks.gaps [--rounds N]``.

Not part of the suites (no target, no gate): the measurements benchmarks/README.md cites for
``cast_memory`` and ``tracing``, in a process of its own (it installs a tracer provider).

1. The no-op spans, untraced: the memory cast and the whole create, each timed beside its floors
   as it is and with refnova's tracer replaced by one whose spans cost nothing.
2. The tracing cost split in two: refnova's own spans (engine not hooked) and the SQL statement
   spans (engine hooked by ``tracing.SQLAlchemyInstrumentor``), each against the same spans
   made with the bare SDK.

All figures are medians of the thread's CPU time, rounds interleaved.
"""

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from benchmarks import floors, support, tracing_probe
from refnova import messaging
from refnova.conductor import rpcapi
from refnova.tracing import spans as tracing_spans


class _FreeTracer:
    """Spans that cost nothing: what an untraced path would pay with a no-op fast path."""

    _current = contextlib.nullcontext(trace.INVALID_SPAN)

    def start_as_current_span(self, *args, **kwargs):
        return self._current

    def start_span(self, *args, **kwargs):
        return trace.INVALID_SPAN


def _medians(cases, rounds, warmup, between):
    samples = {name: [] for name in cases}
    for index in range(warmup + rounds):
        if index % 100 == 0:
            between()
        for name, function in cases.items():
            start = time.thread_time()
            function()
            samples[name].append(time.thread_time() - start)
    return {name: statistics.median(values[warmup:]) * 1e6 for name, values in samples.items()}


def _with_tracer(replacement, function):
    def run():
        real = tracing_spans._tracer
        tracing_spans._tracer = replacement
        try:
            function()
        finally:
            tracing_spans._tracer = real

    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400)
    args = parser.parse_args(argv)
    rounds, warmup = args.rounds, max(args.rounds // 10, 10)
    directory = tempfile.mkdtemp(prefix="refnova-gaps-")
    world = support.bench_world()
    raw = support.typical_body(world)
    free = _FreeTracer()

    # 1. The no-op spans (no provider installed yet: refnova's spans are OpenTelemetry's no-op).
    untraced = support.make_deployment("sqlite:///%s" % os.path.join(directory, "untraced.db"))
    request, context, cast = support.capture_create(untraced, raw)
    transport = messaging.Transport("memory://")
    client = rpcapi.ComputeTaskAPI(transport)
    cast_floor = floors.Cast("memory://")
    provisioning = floors.Provisioning(
        "sqlite:///%s" % os.path.join(directory, "floor.db"),
        world["defaults"]["project_id"],
        world["quotas"],
    )
    post = support.Poster(untraced.app, world, raw)

    def purge():
        support.purge_queue(transport)
        support.purge_queue(untraced.transport)
        cast_floor.purge()

    # The cast on its own, as test_cast times it (its rounds are short: more of them).
    m = _medians(
        {
            "cast floor": lambda: cast_floor(context, **cast),
            "cast": lambda: client.build_instances(context, **cast),
            "cast, spans free": _with_tracer(free, lambda: client.build_instances(context, **cast)),
        },
        rounds * 5,
        warmup,
        purge,
    )
    for name, value in m.items():
        print("%-24s %9.1f us" % (name, value))
    print(
        "cast_memory %.3f, with spans that cost nothing %.3f"
        % (m["cast"] / m["cast floor"], m["cast, spans free"] / m["cast floor"])
    )
    # The whole create beside its floors, as test_create times it.
    m = _medians(
        {
            "validation floor": lambda: floors.validation(raw),
            "provisioning floor": lambda: provisioning(
                context,
                request.flavor,
                request.image_id,
                request.boot_meta,
                request.base_options,
                request.block_device_mapping,
                request.security_groups,
                1,
            ),
            "cast floor": lambda: cast_floor(context, **cast),
            "create": post,
            "create, spans free": _with_tracer(free, post),
        },
        rounds,
        warmup,
        purge,
    )
    create_floor = m["validation floor"] + m["provisioning floor"] + m["cast floor"]
    for name, value in m.items():
        print("%-24s %9.1f us" % (name, value))
    print(
        "create %.3f, with spans that cost nothing %.3f"
        % (m["create"] / create_floor, m["create, spans free"] / create_floor)
    )

    # 2. The tracing cost, refnova's own spans apart from the SQL statement spans.
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    if not tracing_probe._install(provider):
        raise SystemExit("could not install the tracer provider")
    hooked = support.make_deployment("sqlite:///%s" % os.path.join(directory, "hooked.db"))
    post_hooked = support.Poster(hooked.app, world, raw)
    floor_tracer = provider.get_tracer("refnova.benchmarks.floor")
    off = tracing_probe._UntracedProxy("refnova")

    def spans_of(function):
        provider.force_flush()
        exporter.clear()
        function()
        provider.force_flush()
        found = exporter.get_finished_spans()
        exporter.clear()
        return found

    post_hooked()
    post()
    full = tracing_probe.span_tree(spans_of(post_hooked))
    own = tracing_probe.span_tree(spans_of(post))  # traced, but this engine is not hooked

    def purge_traced():
        exporter.clear()
        support.purge_queue(untraced.transport)
        support.purge_queue(hooked.transport)

    m = _medians(
        {
            "untraced": _with_tracer(off, post),
            "traced, engine not hooked": post,
            "traced": post_hooked,
            "floor, all spans": lambda: floors.spans(floor_tracer, full),
            "floor, own spans": lambda: floors.spans(floor_tracer, own),
        },
        rounds,
        warmup,
        purge_traced,
    )
    for name, value in m.items():
        print("%-26s %9.1f us" % (name, value))
    statements = tracing_probe.count(full) - tracing_probe.count(own)
    sql_cost = m["traced"] - m["traced, engine not hooked"]
    sql_floor = m["floor, all spans"] - m["floor, own spans"]
    print(
        "refnova's own %d spans: cost / floor %.3f"
        % (
            tracing_probe.count(own),
            (m["traced, engine not hooked"] - m["untraced"]) / m["floor, own spans"],
        )
    )
    print(
        "%d SQL statement spans: %.0f us against %.0f us bare (%.2fx)"
        % (statements, sql_cost, sql_floor, sql_cost / sql_floor)
    )
    print("tracing %.3f" % ((m["traced"] - m["untraced"]) / m["floor, all spans"]))
    provider.shutdown()
    for closing in (cast_floor, provisioning, transport, untraced, hooked):
        closing.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
