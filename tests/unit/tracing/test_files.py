"""Trace files: OTLP JSON, one file per trace, and ``refnova trace show | export | html |
shape``."""

import base64
import html
import json
import re

import pytest
from google.protobuf import json_format
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from refnova import cli
from refnova.tracing import files as tracefiles
from refnova.tracing import views as traceviews
from refnova.tracing.files import TraceDirectoryWriter
from tests.support.tracing import CREATE_SPAN, check_create_trace, write_create_traces


def _provider(service, *processors):
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    for processor in processors:
        provider.add_span_processor(processor)
    return provider


def _sample_spans():
    """Spans of every kind, with events, a link, an error and attributes of each type."""
    exporter = InMemorySpanExporter()
    provider = _provider("refnova-api", SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer(
        "refnova", "1.0", schema_url="https://opentelemetry.io/schemas/1.33.0"
    )
    with tracer.start_as_current_span(
        "root",
        kind=SpanKind.SERVER,
        attributes={"s": "x", "i": 7, "f": 1.5, "b": True, "l": ["a", "b"], "n": [1, 2]},
    ) as root:
        with tracer.start_as_current_span("child", kind=SpanKind.PRODUCER) as child:
            child.add_event("something", {"k": "v"})
        with tracer.start_as_current_span("failing") as failing:
            failing.record_exception(ValueError("bad"))
            failing.set_status(Status(StatusCode.ERROR, "bad"))
    with tracer.start_as_current_span(
        "linked",
        kind=SpanKind.CONSUMER,
        links=[Link(root.get_span_context(), {"why": "test"})],
        context=trace.set_span_in_context(trace.NonRecordingSpan(child.get_span_context())),
    ):
        pass
    return exporter.get_finished_spans()


def test_otlp_json_is_what_the_official_encoder_means():
    finished = _sample_spans()
    ours = tracefiles.to_otlp_json([tracefiles.from_readable(span) for span in finished])
    official = json_format.MessageToDict(encode_spans(finished))  # ids in base64

    def key(records):
        # The official encoder leaves the W3C trace flags (bits 0-7) out of span.flags.
        return sorted(
            (
                r.span_id,
                json.dumps({**r.__dict__, "flags": r.flags & ~0xFF}, sort_keys=True, default=str),
            )
            for r in records
        )

    assert key(tracefiles.from_otlp_json(json.loads(json.dumps(ours)))) == key(
        tracefiles.from_otlp_json(official)
    )
    # Hex ids as OTLP JSON has them; with ids turned back into base64 it is valid protobuf JSON.
    span = ours["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert re.match(r"^[0-9a-f]{32}$", span["traceId"]) and re.match(
        r"^[0-9a-f]{16}$", span["spanId"]
    )
    assert isinstance(span["kind"], int) and isinstance(span["startTimeUnixNano"], str)

    def to_base64(value):
        if isinstance(value, dict):
            return {
                k: (
                    base64.b64encode(bytes.fromhex(v)).decode()
                    if k in ("traceId", "spanId", "parentSpanId")
                    else to_base64(v)
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [to_base64(item) for item in value]
        return value

    parsed = json_format.ParseDict(to_base64(ours), trace_pb2.TracesData())
    assert sum(len(s.spans) for rs in parsed.resource_spans for s in rs.scope_spans) == len(
        finished
    )


def test_one_file_per_trace_merged_across_processes(tmp_path):
    api_writer, conductor_writer = TraceDirectoryWriter(tmp_path), TraceDirectoryWriter(tmp_path)
    api = _provider("refnova-api", api_writer).get_tracer("refnova")
    conductor = _provider("refnova-conductor", conductor_writer).get_tracer("refnova")
    with api.start_as_current_span("POST", kind=SpanKind.SERVER):
        with api.start_as_current_span("publish", kind=SpanKind.PRODUCER) as producer:
            pass
        assert api_writer.force_flush() and list(tmp_path.glob("*.json")) == []  # not finished
    assert api_writer.force_flush()
    (path,) = tmp_path.glob("*.json")
    assert sorted(r.name for r in tracefiles.load_spans(path)) == ["POST", "publish"]
    sent = producer.get_span_context()  # as the consumer extracts it from the message
    remote = trace.set_span_in_context(
        trace.NonRecordingSpan(
            trace.SpanContext(
                sent.trace_id, sent.span_id, is_remote=True, trace_flags=sent.trace_flags
            )
        )
    )
    with conductor.start_as_current_span("process", kind=SpanKind.CONSUMER, context=remote):
        pass
    assert conductor_writer.force_flush()
    (same,) = tmp_path.glob("*.json")
    records = tracefiles.load_spans(same)
    assert same == path and path.name == "%032x.json" % producer.get_span_context().trace_id
    assert sorted((r.name, r.service) for r in records) == [
        ("POST", "refnova-api"),
        ("process", "refnova-conductor"),
        ("publish", "refnova-api"),
    ]
    process = next(r for r in records if r.name == "process")
    assert process.parent_is_remote
    assert [node.span.name for _, node in traceviews.walk(traceviews.build_tree(records))] == [
        "POST",
        "publish",
        "process",
    ]
    api_writer.shutdown()
    conductor_writer.shutdown()


def test_a_trace_cut_short_is_written_at_shutdown(tmp_path):
    writer = TraceDirectoryWriter(tmp_path)
    tracer = _provider("refnova-api", writer).get_tracer("refnova")
    outer = tracer.start_span("never-ends")
    with tracer.start_as_current_span("ended", context=trace.set_span_in_context(outer)):
        pass
    writer.shutdown()
    (path,) = tmp_path.glob("*.json")
    (record,) = tracefiles.load_spans(path)
    assert record.name == "ended"


@pytest.fixture
def create_trace_file(spans, tmp_path):
    """A real create's trace, written as --traces-dir writes it, and a rejection's."""
    return write_create_traces(spans, tmp_path)


def test_trace_show_prints_an_indented_tree_with_durations(create_trace_file, capsys):
    path, bad, records = create_trace_file
    assert cli.main(["trace", "show", str(path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("trace %s: %d spans" % (records[0].trace_id, len(records)))
    row = re.compile(r"^ +\+\d+\.\d{3} ms +\d+\.\d{3} ms  ( *)(\S.*)$")
    depth = {}
    for line in lines[2:]:
        found = row.match(line)
        assert found, line
        depth[found.group(2).split("  ")[0]] = len(found.group(1)) // 2
    assert depth[CREATE_SPAN] == 0
    assert depth["servers.Controller.create"] == 1
    assert depth["process nova:conductor"] == depth["publish nova:conductor"] + 1
    assert "-> 202" in out and "[CONSUMER]" in out

    assert cli.main(["trace", "show", str(bad)]) == 0
    out = capsys.readouterr().out
    quota = next(line for line in out.splitlines() if "_check_num_instances_quota" in line)
    assert "ERROR: TooManyInstances: Quota exceeded for instances" in quota
    server = next(line for line in out.splitlines() if CREATE_SPAN in line)
    # A 4xx is the client's error: the SERVER span's status stays unset.
    assert "-> 413 overLimit" in server and not server.rstrip().endswith("ERROR")


def test_trace_export_jaeger(create_trace_file, tmp_path):
    path, _bad, records = create_trace_file
    output = tmp_path / "out.json"
    assert cli.main(["trace", "export", "--jaeger", str(path), "-o", str(output)]) == 0
    document = json.loads(output.read_text())
    (jaeger_trace,) = document["data"]
    assert jaeger_trace["traceID"] == records[0].trace_id
    assert len(jaeger_trace["spans"]) == len(records)
    by_name = {span["operationName"]: span for span in jaeger_trace["spans"]}
    producer, consumer = by_name["publish nova:conductor"], by_name["process nova:conductor"]
    assert consumer["references"] == [
        {"refType": "CHILD_OF", "traceID": records[0].trace_id, "spanID": producer["spanID"]},
        {"refType": "FOLLOWS_FROM", "traceID": records[0].trace_id, "spanID": producer["spanID"]},
    ]
    assert by_name[CREATE_SPAN]["references"] == []
    tags = {tag["key"]: tag for tag in by_name[CREATE_SPAN]["tags"]}
    assert tags["span.kind"]["value"] == "server"
    assert tags["http.response.status_code"] == {
        "key": "http.response.status_code",
        "type": "int64",
        "value": 202,
    }
    source = next(r for r in records if r.name == CREATE_SPAN)
    assert by_name[CREATE_SPAN]["startTime"] == source.start_ns // 1000
    assert by_name[CREATE_SPAN]["duration"] == source.duration_ns // 1000
    process = jaeger_trace["processes"][by_name[CREATE_SPAN]["processID"]]
    assert process["serviceName"] == source.service
    for span in jaeger_trace["spans"]:
        assert set(span) >= {
            "traceID",
            "spanID",
            "operationName",
            "references",
            "startTime",
            "duration",
            "tags",
            "logs",
            "processID",
        }
    # Default output: beside the input.
    assert cli.main(["trace", "export", "--jaeger", str(path)]) == 0
    assert json.loads(path.with_name(path.stem + ".jaeger.json").read_text()) == document


def test_trace_html_is_one_self_contained_page(create_trace_file, tmp_path):
    path, bad, records = create_trace_file
    output = tmp_path / "page.html"
    assert cli.main(["trace", "html", str(path), "-o", str(output)]) == 0
    page = output.read_text()
    assert page.startswith("<!DOCTYPE html>")
    for record in records:
        assert 'class="label" title="%s">' % html.escape(record.name) in page
    assert page.count("<details") == len(records)
    for fetch in ("<script src", "<link", "@import", "url(", "src=", "href="):
        assert fetch not in page, fetch
    assert cli.main(["trace", "html", str(bad), "-o", str(output)]) == 0
    assert 'class="span err"' in output.read_text()


def test_trace_shape_prints_the_golden_form(create_trace_file, capsys):
    path, _bad, records = create_trace_file
    assert cli.main(["trace", "shape", str(path)]) == 0
    shape = json.loads(capsys.readouterr().out)
    assert shape == traceviews.shape(records)
    assert shape[0]["name"] == CREATE_SPAN and "error" not in shape[0]
    check_create_trace(records)


def test_trace_files_in_other_layouts_load(tmp_path, create_trace_file):
    path, bad, records = create_trace_file
    documents = tracefiles.load_documents(path) + tracefiles.load_documents(bad)
    lines = tmp_path / "both.jsonl"
    lines.write_text("".join(json.dumps(d) + "\n" for d in documents))
    array = tmp_path / "both.json"
    array.write_text(json.dumps(documents))
    for source in (lines, array):
        assert len(tracefiles.by_trace(tracefiles.load_spans(source))) == 2
    not_otlp = tmp_path / "x.json"
    not_otlp.write_text('{"data": []}')
    with pytest.raises(SystemExit, match="not OTLP JSON"):
        cli.main(["trace", "show", str(not_otlp)])
