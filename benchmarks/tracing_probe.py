"""The tracing cost, measured in a process of its own: ``python -m benchmarks.tracing_probe``.

OpenTelemetry lets a process install one global tracer provider, and refnova decides at engine
creation whether to hook SQLAlchemy (``tracing.SQLAlchemyInstrumentor``), so this probe:

1. builds the untraced deployment first (no provider: its engine is not hooked);
2. installs an SDK ``TracerProvider`` with ``BatchSpanProcessor(InMemorySpanExporter())``;
3. builds the traced deployment (its engine hooked, as ``refnova serve`` with tracing on);
4. times, round by round, an untraced create, the floor (the same span tree made with the bare
   SDK on the same provider) and a traced create, alternating the order every round.

During an untraced create refnova's tracer is a ProxyTracer pinned to the no-op tracer, which is
exactly what an unconfigured process runs; during a traced one it is the ProxyTracer resolved to
the SDK. It prints one JSON document on its last line of output.
"""

import argparse
import json
import os
import sys
import tempfile
import time

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from benchmarks import floors, support
from refnova import tracing
from refnova.tracing import spans as tracing_spans


class _UntracedProxy(trace.ProxyTracer):
    """refnova's ProxyTracer as it is before any provider exists: it resolves to no-op."""

    @property
    def _tracer(self):
        return self._noop_tracer


def _install(provider):
    install = getattr(tracing, "install_provider", None)
    if install is not None:
        return install(provider)
    trace.set_tracer_provider(provider)
    return trace.get_tracer_provider() is provider


def span_tree(spans):
    """(name, kind, attributes, children) nodes of finished spans, children in start order."""
    by_parent = {}
    ids = {span.context.span_id for span in spans}
    for span in sorted(spans, key=lambda s: s.start_time):
        parent = span.parent.span_id if span.parent is not None else None
        by_parent.setdefault(parent if parent in ids else None, []).append(span)

    def nodes(parent):
        return [
            (span.name, span.kind, dict(span.attributes or {}), nodes(span.context.span_id))
            for span in by_parent.get(parent, [])
        ]

    return nodes(None)


def count(tree):
    return sum(1 + count(children) for _, _, _, children in tree)


class Rounds:
    """The probe's three kinds of round, checked before anything is timed: ``untraced`` (the
    untraced deployment, refnova's tracer pinned to no-op: it must make no spans), ``traced``
    (the traced deployment) and ``floor`` (the traced create's span tree made with the bare SDK:
    as many spans). ``use(name)`` sets refnova's tracer for a round of that kind."""

    def __init__(self, directory):
        world = support.bench_world()
        raw = support.typical_body(world)
        if tracing.enabled():
            raise SystemExit("a tracer provider is already installed in this process")
        self.untraced_deployment = support.make_deployment(
            "sqlite:///%s" % os.path.join(directory, "untraced.db")
        )
        self.provider = TracerProvider()
        self.exporter = InMemorySpanExporter()
        self.provider.add_span_processor(BatchSpanProcessor(self.exporter))
        if not _install(self.provider):
            raise SystemExit("could not install the benchmark's tracer provider")
        self.traced_deployment = support.make_deployment(
            "sqlite:///%s" % os.path.join(directory, "traced.db")
        )
        self._real_tracer = tracing_spans._tracer
        self._off_tracer = _UntracedProxy("refnova")
        self.untraced = support.Poster(self.untraced_deployment.app, world, raw)
        self.traced = support.Poster(self.traced_deployment.app, world, raw)
        self._floor_tracer = self.provider.get_tracer("refnova.benchmarks.floor")
        # What each kind of round makes: nothing untraced, the same number of spans traced and
        # floor (from the second create on: the first one also creates the project's quota
        # usage rows).
        self.untraced()
        self.traced()
        self.tree = span_tree(self._spans_of(self.traced))
        self.span_count = count(self.tree)
        assert self.span_count > 0, "the traced create made no spans"
        assert len(self._spans_of(self._run_untraced)) == 0, "the untraced create made spans"
        assert len(self._spans_of(self.floor)) == self.span_count

    def floor(self):
        floors.spans(self._floor_tracer, self.tree)

    def use(self, name):
        tracing_spans._tracer = self._off_tracer if name == "untraced" else self._real_tracer

    def between(self, index):
        """Housekeeping outside the timings: the exporter emptied, the queues purged."""
        if index % 100 == 0:
            self.exporter.clear()
        if index % 200 == 0:
            support.purge_queue(self.untraced_deployment.transport)
            support.purge_queue(self.traced_deployment.transport)

    def close(self):
        self.use("traced")
        self.provider.shutdown()
        self.untraced_deployment.close()
        self.traced_deployment.close()

    def _run_untraced(self):
        self.use("untraced")
        try:
            self.untraced()
        finally:
            self.use("traced")

    def _spans_of(self, action):
        self.provider.force_flush()
        self.exporter.clear()
        action()
        self.provider.force_flush()
        found = self.exporter.get_finished_spans()
        self.exporter.clear()
        return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument(
        "--dir", default=None, help="where the SQLite files go (default: a temp dir)"
    )
    args = parser.parse_args(argv)
    rounds = Rounds(args.dir or tempfile.mkdtemp(prefix="refnova-tracing-"))

    samples = {"untraced": [], "spans": [], "traced": []}
    cpu = {"untraced": [], "spans": [], "traced": []}
    timer, cpu_timer = time.perf_counter, time.thread_time

    def timed(name, function):
        cpu_start = cpu_timer()
        start = timer()
        function()
        samples[name].append(timer() - start)
        cpu[name].append(cpu_timer() - cpu_start)

    order = (("untraced", rounds.untraced), ("spans", rounds.floor), ("traced", rounds.traced))
    for index in range(args.warmup + args.rounds):
        rounds.between(index)
        for name, function in order if index % 2 == 0 else order[::-1]:
            rounds.use(name)
            timed(name, function)
        rounds.use("traced")
        if index + 1 == args.warmup:
            for values in (*samples.values(), *cpu.values()):
                values.clear()

    rounds.close()
    names = sorted({name for name, _, _, _ in _walk(rounds.tree)})
    print(
        json.dumps(
            {"samples": samples, "cpu": cpu, "span_count": rounds.span_count, "span_names": names}
        )
    )
    return 0


def _walk(tree):
    for node in tree:
        yield node
        yield from _walk(node[3])


if __name__ == "__main__":
    sys.exit(main())
