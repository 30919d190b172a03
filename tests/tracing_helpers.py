"""Test support for tracing: one SDK tracer provider per test process, spans recorded per test.

OpenTelemetry allows one global tracer provider per process, so it is installed once, on the
first use of the ``spans`` fixture, with a routing span processor; each test attaches its own
``SpanRecorder`` for its duration and detaches it afterwards, so nothing leaks between tests.
While no recorder is attached the provider samples nothing, so other tests run with
non-recording spans, as close to untraced as an installed provider gets.
"""

import threading
import time

import pytest
import requests
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

from refnova import tracing
from refnova.tracing import files as tracefiles

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


@pytest.fixture
def spans():
    """A SpanRecorder attached for this test only."""
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
    assert by_name["GET /v2/images/{image_id}"][0].kind == "CLIENT"
    assert by_name["INSERT instances"][0].kind == "CLIENT"
    return by_name


# --- OTLP receivers -------------------------------------------------------------------------


class _Collected:
    def __init__(self):
        self.requests = []  # (headers dict, ExportTraceServiceRequest)
        self._changed = threading.Condition()

    def add(self, headers, request):
        with self._changed:
            self.requests.append((headers, request))
            self._changed.notify_all()

    def records(self):
        from google.protobuf.json_format import MessageToDict

        with self._changed:
            requests = [request for _headers, request in self.requests]
        return [
            record
            for request in requests
            for record in tracefiles.from_otlp_json(MessageToDict(request))
        ]

    def wait_for(self, predicate, timeout=15.0):
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        "the OTLP receiver did not get the expected spans in %ss" % timeout
                    )
                self._changed.wait(remaining)


class OtlpHttpReceiver(_Collected):
    """An OTLP/HTTP (protobuf) receiver on 127.0.0.1: POST /v1/traces."""

    def __init__(self):
        super().__init__()
        import gzip
        import zlib
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                encoding = (self.headers.get("Content-Encoding") or "").lower()
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                if (
                    self.path != "/v1/traces"
                    or self.headers.get("Content-Type") != "application/x-protobuf"
                ):
                    self.send_response(404)
                    self.end_headers()
                    return
                request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
                receiver.add({k.lower(): v for k, v in self.headers.items()}, request)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self._server.server_address[1]

    def close(self):
        self._server.shutdown()
        self._server.server_close()


class OtlpGrpcReceiver(_Collected):
    """An OTLP/gRPC receiver on 127.0.0.1 (TraceService/Export)."""

    def __init__(self):
        super().__init__()
        from concurrent import futures

        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

        receiver = self

        class Service(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request, context):
                receiver.add(dict(context.invocation_metadata()), request)
                return trace_service_pb2.ExportTraceServiceResponse()

        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def close(self):
        self._server.stop(0)


# --- refnova in child processes -------------------------------------------------------------


def clean_environment(**extra):
    """os.environ without OTEL_* and REFNOVA_* settings, plus ``extra``."""
    import os

    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "REFNOVA_"))
    }
    env.update({key: str(value) for key, value in extra.items()})
    return env


class RefnovaProcess:
    """``python -m refnova.cli ...`` with its stderr collected line by line."""

    def __init__(self, args, env, cwd):
        import subprocess
        import sys

        self.args = args
        self.lines = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "refnova.cli"] + list(args),
            env=env,
            cwd=str(cwd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_line(self, pattern, timeout=30.0):
        """The match of the first stderr line matching ``pattern`` (regex)."""
        import re

        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    found = regex.search(line)
                    if found:
                        return found
                remaining = deadline - time.monotonic()
                if self.process.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(
                        "%s exited (%s) before %r:\n%s"
                        % (self.args[0], self.process.returncode, pattern, "\n".join(self.lines))
                    )
                if remaining <= 0:
                    raise AssertionError(
                        "no %r from %s within %ss:\n%s"
                        % (pattern, self.args[0], timeout, "\n".join(self.lines))
                    )
                self._changed.wait(min(remaining, 0.5))

    def stop(self, timeout=30.0):
        """SIGTERM, then wait: a refnova process flushes its spans as it exits."""
        import signal

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except Exception:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                "%s did not stop on SIGTERM:\n%s" % (self.args[0], "\n".join(self.lines))
            )

    def output(self):
        with self._changed:
            return "\n".join(self.lines)


# --- a create over real HTTP ------------------------------------------------------------------

READY = r"refnova API on http://127\.0\.0\.1:(\d+)/v2"


def create_and_wait_active(base, project_id, user_id, image_id, flavor_id, timeout=30.0):
    headers = {"X-Auth-Token": "%s:%s" % (user_id, project_id), "Content-Type": "application/json"}
    response = requests.post(
        "%s/v2/%s/servers" % (base, project_id),
        headers=headers,
        timeout=30,
        json={"server": {"name": "traced", "imageRef": image_id, "flavorRef": flavor_id}},
    )
    assert response.status_code == 202, response.text
    server_id = response.json()["server"]["id"]
    deadline = time.monotonic() + timeout
    while True:
        shown = requests.get(
            "%s/v2/%s/servers/%s" % (base, project_id, server_id), headers=headers, timeout=30
        ).json()["server"]
        if shown["status"] in ("ACTIVE", "ERROR"):
            assert shown["status"] == "ACTIVE", shown
            return server_id, response.headers["x-compute-request-id"]
        assert time.monotonic() < deadline, "server %s still %s" % (server_id, shown["status"])
        time.sleep(0.05)


def world_defaults():
    from refnova.world import load_world

    return load_world()["defaults"]
