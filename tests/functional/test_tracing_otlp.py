"""``refnova serve`` exporting to an OTLP/HTTP receiver through the standard OTEL_* variables.

The receiver on 127.0.0.1 decodes the protobuf with opentelemetry-proto; the API (with its
in-process conductor on kombu's memory transport) runs as a child process that only knows
OTEL_EXPORTER_OTLP_ENDPOINT. One create gives one trace holding every hop.
"""

import json

import pytest

from refnova import cli
from refnova.tracing import files as tracefiles
from tests.support.http import ServedApi
from tests.support.otlp import OtlpHttpReceiver
from tests.support.processes import clean_environment
from tests.support.tracing import CREATE_SPAN, check_create_trace


@pytest.fixture
def receiver():
    receiver = OtlpHttpReceiver()
    yield receiver
    receiver.close()


def test_refnova_serve_exports_one_whole_trace_over_otlp_http(
    receiver, refnova_processes, tmp_path, capsys
):
    env = clean_environment(
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY="100"
    )
    traces_dir = tmp_path / "traces"
    api = refnova_processes.serve(
        "--db",
        "sqlite:///%s" % (tmp_path / "api.db"),
        "--traces-dir",
        str(traces_dir),
        env=env,
    )
    try:
        server_id, request_id = ServedApi(api.url).create_active(name="traced")
    finally:
        assert api.stop() == 0, api.output()

    records = receiver.records()
    creates = {r.trace_id for r in records if r.name == CREATE_SPAN}
    assert len(creates) == 1
    trace = [r for r in records if r.trace_id in creates]
    by_name = check_create_trace(trace)
    assert {r.service for r in trace} == {"refnova-api"}
    assert by_name[CREATE_SPAN][0].attributes["nova.request_id"] == request_id
    assert by_name["compute.api.API._create_instance"][0].attributes["nova.instance_uuids"] == [
        server_id
    ]

    # --traces-dir wrote the same trace, one file, which the trace commands read.
    (path,) = [p for p in traces_dir.glob("*.json") if p.stem in creates]
    written = tracefiles.load_spans(path)
    assert sorted((r.span_id, r.name) for r in written) == sorted(
        (r.span_id, r.name) for r in trace
    )
    assert cli.main(["trace", "show", str(path)]) == 0
    assert "process nova:conductor  [CONSUMER]" in capsys.readouterr().out
    assert cli.main(["trace", "export", "--jaeger", str(path), "-o", str(tmp_path / "j.json")]) == 0
    assert len(json.loads((tmp_path / "j.json").read_text())["data"][0]["spans"]) == len(trace)
    assert cli.main(["trace", "html", str(path), "-o", str(tmp_path / "t.html")]) == 0
