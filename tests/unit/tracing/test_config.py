"""refnova.tracing's provider: built from settings and the standard OTEL_* variables.

These build providers without installing them (one global provider per process); the
``configure`` path, which installs one, runs in child processes.
"""

import json
import subprocess
import sys

import pytest

from refnova import tracing
from refnova.config import Settings
from refnova.tracing import files as tracefiles
from tests.support.otlp import OtlpGrpcReceiver, OtlpHttpReceiver
from tests.support.processes import clean_environment

OTEL_VARIABLES = (
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
)


@pytest.fixture(autouse=True)
def clean_otel_environment(monkeypatch):
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def emit(provider, name="hello", **attributes):
    with provider.get_tracer("test").start_as_current_span(name, attributes=attributes):
        pass
    assert provider.force_flush(10000)


@pytest.mark.parametrize(
    "setting,environment,expected",
    [
        (None, {}, []),
        ("none", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, []),
        (None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, ["otlp"]),
        (None, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, ["otlp"]),
        (None, {"OTEL_TRACES_EXPORTER": "console"}, ["console"]),
        (None, {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, []),
        ("otlp, file,otlp", {}, ["otlp", "file"]),
        ("otlp", {"OTEL_SDK_DISABLED": "true"}, []),
    ],
)
def test_exporters_come_from_settings_else_the_otel_variables(
    monkeypatch, setting, environment, expected
):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert tracing.exporter_names(Settings(tracing=setting)) == expected


def test_unknown_exporters_and_protocols_are_refused(monkeypatch):
    with pytest.raises(tracing.TracingConfigError, match="zipkin"):
        tracing.exporter_names(Settings(tracing="zipkin"))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    with pytest.raises(tracing.TracingConfigError, match="http/json"):
        tracing.build_provider(Settings(tracing="otlp"), tracing.SERVICE_API)


def test_tracing_off_builds_no_provider():
    assert tracing.build_provider(Settings(), tracing.SERVICE_API) is None


def test_service_name_per_process_unless_the_environment_names_one(monkeypatch):
    resource = tracing.build_resource(tracing.SERVICE_CONDUCTOR)
    assert resource.attributes["service.name"] == "refnova-conductor"
    assert resource.attributes["service.namespace"] == "refnova"
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=lab")
    assert tracing.build_resource("refnova-api").attributes["deployment.environment.name"] == "lab"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "nova-api-lab")
    assert tracing.build_resource("refnova-api").attributes["service.name"] == "nova-api-lab"


def test_the_sampler_comes_from_otel_traces_sampler(monkeypatch, tmp_path):
    settings = Settings(tracing="file", trace_file=str(tmp_path / "t.jsonl"))
    default = tracing.build_provider(settings, "refnova-api")
    assert default.sampler.get_description().startswith("ParentBased{root:AlwaysOnSampler")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")
    ratio = tracing.build_provider(settings, "refnova-api")
    assert "TraceIdRatioBased{0.25}" in ratio.sampler.get_description()
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    off = tracing.build_provider(settings, "refnova-api")
    emit(off)
    off.shutdown()
    assert not (tmp_path / "t.jsonl").exists() or (tmp_path / "t.jsonl").read_text() == ""


def test_otlp_http_protobuf_to_the_standard_endpoint_with_headers(monkeypatch):
    receiver = OtlpHttpReceiver()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-refnova-test=yes,x-tenant=lab")
        provider = tracing.build_provider(Settings(), tracing.SERVICE_API)
        emit(provider, nova_request_id="req-1")
        receiver.wait_for(lambda r: r.records())
        (record,) = receiver.records()
        headers, _request = receiver.requests[0]
        provider.shutdown()
    finally:
        receiver.close()
    assert (record.name, record.service) == ("hello", "refnova-api")
    assert record.attributes == {"nova_request_id": "req-1"}
    assert headers["x-refnova-test"] == "yes" and headers["x-tenant"] == "lab"


def test_otlp_grpc_when_the_protocol_says_so(monkeypatch):
    receiver = OtlpGrpcReceiver()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-refnova-test=grpc")
        provider = tracing.build_provider(Settings(tracing="otlp"), tracing.SERVICE_CONDUCTOR)
        emit(provider, "over-grpc")
        receiver.wait_for(lambda r: r.records())
        (record,) = receiver.records()
        headers, _request = receiver.requests[0]
        provider.shutdown()
    finally:
        receiver.close()
    assert (record.name, record.service) == ("over-grpc", "refnova-conductor")
    assert headers["x-refnova-test"] == "grpc"


def test_console_exporter(capsys):
    provider = tracing.build_provider(Settings(tracing="console"), tracing.SERVICE_API)
    emit(provider, "to-the-console")
    provider.shutdown()
    out = capsys.readouterr().out
    assert '"name": "to-the-console"' in out and "refnova-api" in out


def test_file_exporter_appends_otlp_json_lines(tmp_path):
    path = tmp_path / "sub" / "traces.jsonl"
    provider = tracing.build_provider(Settings(tracing="file", trace_file=str(path)), "refnova-api")
    emit(provider, "one")
    emit(provider, "two")
    provider.shutdown()
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and all("resourceSpans" in json.loads(line) for line in lines)
    assert sorted(r.name for r in tracefiles.load_spans(path)) == ["one", "two"]


def test_traces_dir_alone_turns_tracing_on(tmp_path):
    provider = tracing.build_provider(Settings(traces_dir=str(tmp_path)), tracing.SERVICE_API)
    emit(provider, "alone")
    provider.shutdown()
    (path,) = tmp_path.glob("*.json")
    (record,) = tracefiles.load_spans(path)
    assert path.name == record.trace_id + ".json"


def _run_python(code, **environment):
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=clean_environment(**environment),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_with_tracing_off_nothing_is_installed_or_hooked():
    out = _run_python("""
from opentelemetry import trace
from refnova import tracing
from refnova.config import Settings
from refnova.db import api as db_api
assert tracing.configure(Settings(), tracing.SERVICE_API) is None
assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
assert not tracing.enabled()
db = db_api.Database("sqlite://")
assert "do_execute" not in vars(db.engine.dialect)
assert not tracing.tracer().start_span("x").is_recording()
@tracing.traced("f")
def f():
    return tracing.current_span().is_recording()
assert f() is False
print("ok")
""")
    assert out.strip() == "ok"


def test_a_provider_set_after_the_first_look_is_seen():
    out = _run_python("""
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from refnova import tracing
assert not tracing.enabled() and not tracing.enabled()
trace.set_tracer_provider(TracerProvider())
assert tracing.enabled()
print("ok")
""")
    assert out.strip() == "ok"


def test_a_provider_named_by_the_environment_is_loaded_at_the_first_look():
    out = _run_python(
        """
from opentelemetry import trace
from refnova import tracing
assert tracing.enabled() and tracing.enabled()
assert type(trace.get_tracer_provider()).__name__ == "TracerProvider"
print("ok")
""",
        OTEL_PYTHON_TRACER_PROVIDER="sdk_tracer_provider",
    )
    assert out.strip() == "ok"


def test_configure_installs_one_provider_once(tmp_path):
    out = _run_python(
        """
from opentelemetry import trace
from refnova import tracing
from refnova.config import Settings
from refnova.db import api as db_api
settings = Settings(tracing="file", trace_file=%r)
first = tracing.configure(settings, tracing.SERVICE_API)
assert first is not None and trace.get_tracer_provider() is first
assert tracing.configure(settings, tracing.SERVICE_CONDUCTOR) is first
db = db_api.Database("sqlite://")
assert "do_execute" in vars(db.engine.dialect)
with tracing.tracer().start_as_current_span("outer"):
    db_api.count_rows(db, __import__("refnova.db.models").db.models.Instance)
tracing.shutdown()
print("ok")
"""
        % str(tmp_path / "t.jsonl")
    )
    assert out.strip() == "ok"
    names = sorted(r.name for r in tracefiles.load_spans(tmp_path / "t.jsonl"))
    assert names == ["BEGIN", "COMMIT", "SELECT instances", "outer"]
    assert {r.service for r in tracefiles.load_spans(tmp_path / "t.jsonl")} == {"refnova-api"}
