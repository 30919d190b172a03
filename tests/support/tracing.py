"""Tracing in the tests: one SDK tracer provider per test process, spans recorded per test.

OpenTelemetry allows one global tracer provider per process, so it is installed once, on the
first use of the ``spans`` fixture (tests/conftest.py), with a routing span processor; each
test attaches its own ``SpanRecorder`` for its duration and detaches it afterwards, so nothing
leaks between tests.
While no recorder is attached the provider samples nothing, so other tests run with
non-recording spans, as close to untraced as an installed provider gets.
"""

import contextlib
import threading
import time

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

from refnova import tracing
from refnova.tracing import files as tracefiles
from tests.support.deployment import Client, make_deployment

TEST_SERVICE = "refnova-test"
CREATE_SPAN = "POST /v2/{project_id}/servers"
PUBLISH_SPAN = "publish nova:conductor"
PROCESS_SPAN = "process nova:conductor"


class SpanRecorder:
    """The spans that ended while it was attached; waits are event-driven, never sleeps."""

    def __init__(self):
        self._spans = []
        self._changed = threading.Condition()

    def add(self, span):
        with self._changed:
            self._spans.append(span)
            self._changed.notify_all()

    def finished(self):
        with self._changed:
            return list(self._spans)

    def records(self):
        return [tracefiles.from_readable(span) for span in self.finished()]

    def wait_for(self, predicate, timeout=10.0):
        """Block until ``predicate(finished spans)`` holds; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(list(self._spans)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    names = sorted({span.name for span in self._spans})
                    raise AssertionError(
                        "spans did not arrive within %ss; have %s" % (timeout, names)
                    )
                self._changed.wait(remaining)
            return list(self._spans)

    def wait_for_consumers(self, timeout=10.0):
        """Until each recorded PRODUCER span has its CONSUMER span (the conductor's side)."""

        def delivered(spans):
            consumed = {
                span.parent.span_id
                for span in spans
                if span.kind == trace.SpanKind.CONSUMER and span.parent is not None
            }
            return all(
                span.context.span_id in consumed
                for span in spans
                if span.kind == trace.SpanKind.PRODUCER
            )

        return self.wait_for(delivered, timeout)

    def trace_of(self, span_name):
        """The records of the one trace holding a span of that name (asserts there is one)."""
        records = self.records()
        ids = {record.trace_id for record in records if record.name == span_name}
        assert len(ids) == 1, "expected one trace with %r, found %d" % (span_name, len(ids))
        trace_id = ids.pop()
        return [record for record in records if record.trace_id == trace_id]


class _Router(SpanProcessor):
    def __init__(self):
        self.recorders = []
        self._lock = threading.Lock()

    def attach(self, recorder):
        with self._lock:
            self.recorders = self.recorders + [recorder]

    def detach(self, recorder):
        with self._lock:
            self.recorders = [r for r in self.recorders if r is not recorder]

    def on_end(self, span):
        for recorder in self.recorders:
            recorder.add(span)


class _WhileRecording(Sampler):
    """Samples every span while a recorder is attached, none otherwise."""

    def __init__(self, router):
        self.router = router

    def should_sample(
        self,
        parent_context,
        trace_id,
        name,
        kind=None,
        attributes=None,
        links=None,
        trace_state=None,
    ):
        decision = Decision.RECORD_AND_SAMPLE if self.router.recorders else Decision.DROP
        parent = trace.get_current_span(parent_context).get_span_context()
        return SamplingResult(
            decision,
            attributes if decision.is_sampled() else None,
            parent.trace_state if parent.is_valid else None,
        )

    def get_description(self):
        return "refnova-tests-while-recording"


ROUTER = _Router()
_installed = threading.Lock()


def ensure_provider():
    """Install the test provider once (or hook the router into one already installed)."""
    with _installed:
        provider = trace.get_tracer_provider()
        if getattr(provider, "_refnova_test_router", None) is ROUTER:
            return provider
        if not tracing.enabled():
            provider = TracerProvider(
                resource=Resource.create({"service.name": TEST_SERVICE}),
                sampler=_WhileRecording(ROUTER),
            )
            provider.add_span_processor(ROUTER)
            assert tracing.install_provider(provider)
        else:  # someone else's SDK provider: record through it as it samples
            provider.add_span_processor(ROUTER)
        provider._refnova_test_router = ROUTER
        return provider


@contextlib.contextmanager
def recording():
    """A SpanRecorder attached while the block runs (the ``spans`` fixture's)."""
    ensure_provider()
    recorder = SpanRecorder()
    ROUTER.attach(recorder)
    try:
        yield recorder
    finally:
        ROUTER.detach(recorder)


# --- what a whole create trace holds -----------------------------------------------------

# Every hop the issue names, by span name (DB spans and outside-service calls included).
CREATE_TRACE_SPANS = (
    CREATE_SPAN,
    "servers.Controller.create",
    "compute.api.API.create",
    "compute.api.API._create_instance",
    "compute.api.API._validate_and_build_base_options",
    "compute.api.API._check_num_instances_quota",
    "compute.api.API._provision_instances",
    "compute.api.API._record_action_start",
    "conductor.api.ComputeTaskAPI.build_instances",
    "conductor.rpcapi.ComputeTaskAPI.build_instances",
    PUBLISH_SPAN,
    PROCESS_SPAN,
    "conductor.manager.ComputeTaskManager.build_instances",
    "scheduler.filter_scheduler.FilterScheduler.schedule_run_instance",
    "scheduler.filter_scheduler.FilterScheduler._schedule",
    "compute.manager.ComputeManager.run_instance",
    "GET /v2/images/{image_id}",  # Glance
    "GET /v2.0/networks",  # Neutron
    "SELECT instance_types",  # the database
    "INSERT instances",
    "UPDATE instances",
)
CONDUCTOR_SIDE = (
    "process nova:conductor",
    "conductor.manager.ComputeTaskManager.build_instances",
    "scheduler.filter_scheduler.FilterScheduler.schedule_run_instance",
    "compute.manager.ComputeManager.run_instance",
)


def check_create_trace(records):
    """Assert that one create's records form the whole trace; return {name: [records]}."""
    assert len({record.trace_id for record in records}) == 1
    by_name = {}
    for record in records:
        by_name.setdefault(record.name, []).append(record)
    missing = [name for name in CREATE_TRACE_SPANS if name not in by_name]
    assert not missing, "missing spans %s; have %s" % (missing, sorted(by_name))
    ids = {record.span_id: record for record in records}
    roots = [record for record in records if record.parent_id not in ids]
    assert [root.name for root in roots] == [CREATE_SPAN], [r.name for r in roots]
    (producer,), (consumer,) = by_name[PUBLISH_SPAN], by_name[PROCESS_SPAN]
    assert (producer.kind, consumer.kind) == ("PRODUCER", "CONSUMER")
    assert consumer.parent_id == producer.span_id
    assert consumer.parent_is_remote
    assert [(link["trace_id"], link["span_id"]) for link in consumer.links] == [
        (producer.trace_id, producer.span_id)
    ]
    assert by_name[CREATE_SPAN][0].kind == "SERVER"
    # A real Glance is called over HTTP (CLIENT); the in-process stand-in makes no request.
    (image,) = by_name["GET /v2/images/{image_id}"]
    in_process = image.attributes.get("refnova.in_process", False)
    assert image.kind == ("INTERNAL" if in_process else "CLIENT")
    assert by_name["INSERT instances"][0].kind == "CLIENT"
    return by_name


def write_create_traces(recorder, directory):
    """A real create's trace and a quota rejection's (413), written as --traces-dir writes
    them: (create file, rejection file, the create's records)."""
    with make_deployment() as deployment:
        assert Client(deployment).create().status_int == 202
        recorder.wait_for_consumers()
        records = recorder.trace_of(CREATE_SPAN)
    before = {record.span_id for record in recorder.records()}
    with make_deployment() as deployment:
        assert Client(deployment).create({"min_count": 11}).status_int == 413
    later = [record for record in recorder.records() if record.span_id not in before]
    rejected_id = next(
        r.trace_id for r in later if r.name == CREATE_SPAN and r.trace_id != records[0].trace_id
    )
    rejected = [record for record in later if record.trace_id == rejected_id]
    path = tracefiles.write_trace(directory, records[0].trace_id, records)
    return path, tracefiles.write_trace(directory, rejected_id, rejected), records
