"""One trace across two processes and RabbitMQ: ``refnova serve`` and ``refnova conductor``.

Both export over OTLP/HTTP to one receiver and write to one --traces-dir. The cast crosses
the machine's RabbitMQ in a throwaway vhost of this test's own (tests/integration/conftest.py),
so the fixed ``conductor`` queue is not shared with any other test. Every span of the trace
is checked against OpenTelemetry's registry (tests/support/semconv.py). With CI=true the
test never skips: a missing broker is a failure.
"""

import pytest

from refnova.tracing import files as tracefiles
from tests.support import semconv
from tests.support.http import ServedApi
from tests.support.otlp import OtlpHttpReceiver
from tests.support.processes import clean_environment
from tests.support.tracing import (
    CONDUCTOR_SIDE,
    CREATE_SPAN,
    PROCESS_SPAN,
    PUBLISH_SPAN,
    check_create_trace,
)

pytestmark = pytest.mark.rabbitmq


def test_api_and_conductor_over_rabbitmq_make_one_trace(vhost, refnova_processes, tmp_path):
    receiver = OtlpHttpReceiver()
    traces_dir = tmp_path / "traces"
    db = "sqlite:///%s" % (tmp_path / "shared.db")
    env = clean_environment(
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY="100"
    )
    common = ["--db", db, "--transport", vhost.url, "--traces-dir", str(traces_dir)]
    try:
        conductor = refnova_processes.start("conductor", *common, env=env)
        conductor.wait_for_line(r"refnova conductor consuming")
        api = refnova_processes.serve(*common, env=env)
        assert "conductor in-process" not in api.output()
        server_id, _request_id = ServedApi(api.url).create_active(name="traced")
    finally:
        processes = list(reversed(refnova_processes.started))
        codes = [process.stop() for process in processes]
        receiver.close()
    assert codes == [0] * len(processes), "\n".join(p.output() for p in processes)

    records = receiver.records()
    trace_ids = {r.trace_id for r in records if r.name == CREATE_SPAN}
    assert len(trace_ids) == 1
    trace = [r for r in records if r.trace_id in trace_ids]
    by_name = check_create_trace(trace)
    assert {r.service for r in trace} == {"refnova-api", "refnova-conductor"}
    for name in CONDUCTOR_SIDE:
        assert {r.service for r in by_name[name]} == {"refnova-conductor"}, name
    for name in (CREATE_SPAN, PUBLISH_SPAN, "compute.api.API._create_instance"):
        assert {r.service for r in by_name[name]} == {"refnova-api"}, name
    producer, consumer = by_name[PUBLISH_SPAN][0], by_name[PROCESS_SPAN][0]
    for span in (producer, consumer):  # the broker, on both sides of the cast
        assert span.attributes["messaging.system"] == "rabbitmq"
        assert span.attributes["messaging.destination.name"] == "nova:conductor"
        assert span.attributes["messaging.rabbitmq.destination.routing_key"] == "conductor"
        assert span.attributes["server.address"] == "127.0.0.1"
        assert span.attributes["server.port"] == 5672
    assert (
        consumer.attributes["messaging.message.id"] == producer.attributes["messaging.message.id"]
    )
    assert isinstance(consumer.attributes["messaging.rabbitmq.message.delivery_tag"], int)
    assert (
        by_name["compute.manager.ComputeManager.run_instance"][0].attributes["nova.instance_uuid"]
        == server_id
    )

    # Every span against OpenTelemetry's registry (the pinned semantic conventions).
    problems = semconv.trace_problems(trace)
    assert not problems, "\n".join(problems)

    # Both processes wrote their part of the trace into the same file.
    (trace_id,) = trace_ids
    written = tracefiles.load_spans(tracefiles.trace_file_path(traces_dir, trace_id))
    assert {r.service for r in written} == {"refnova-api", "refnova-conductor"}
    assert sorted(r.span_id for r in written) == sorted(r.span_id for r in trace)
