"""One trace across two processes and RabbitMQ: ``refnova serve`` and ``refnova conductor``.

Both export over OTLP/HTTP to one receiver and write to one --traces-dir. The cast crosses
the machine's RabbitMQ (127.0.0.1:5672, guest/guest) in a throwaway vhost of this test's
own, so the fixed ``conductor`` queue is not shared with any other test. With CI=true the
test never skips: a missing broker is a failure.
"""

import os
import shutil
import socket
import subprocess
import uuid

import kombu
import pytest

from refnova.tracing import files as tracefiles
from tests.tracing_helpers import (
    CONDUCTOR_SIDE,
    CREATE_SPAN,
    PROCESS_SPAN,
    PUBLISH_SPAN,
    READY,
    OtlpHttpReceiver,
    RefnovaProcess,
    check_create_trace,
    clean_environment,
    create_and_wait_active,
    world_defaults,
)

pytestmark = pytest.mark.rabbitmq
BROKER = ("127.0.0.1", 5672)


def _broker_listening():
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(BROKER) == 0


def _unavailable(reason):
    if os.environ.get("CI") == "true":
        pytest.fail("CI: %s" % reason)
    pytest.skip(reason)


def _rabbitmqctl(*args):
    return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def vhost():
    """A vhost of this test's own (created with rabbitmqctl, deleted afterwards).

    Without rabbitmqctl the default vhost is used, its ``conductor`` queue purged before and
    deleted after the test.
    """
    if not _broker_listening():
        _unavailable("RabbitMQ is not listening on %s:%d" % BROKER)
    name = "refnova-trace-%s" % uuid.uuid4().hex[:12]
    created = False
    if shutil.which("rabbitmqctl"):
        made = _rabbitmqctl("add_vhost", name)
        if made.returncode == 0:
            created = True
            allowed = _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
            assert allowed.returncode == 0, allowed.stderr
    url = "amqp://guest:guest@%s:%d/%s" % (BROKER[0], BROKER[1], name if created else "")
    if not created:
        _purge_conductor_queue(url)
    try:
        yield url
    finally:
        if created:
            _rabbitmqctl("delete_vhost", name)
        else:
            _purge_conductor_queue(url, delete=True)


def _purge_conductor_queue(url, delete=False):
    with kombu.Connection(url, connect_timeout=5) as conn:
        queue = kombu.Queue(
            "conductor",
            kombu.Exchange("nova", type="topic", durable=False),
            routing_key="conductor",
            durable=False,
        )(conn.default_channel)
        queue.declare()
        queue.purge()
        if delete:
            queue.delete()


def test_api_and_conductor_over_rabbitmq_make_one_trace(vhost, tmp_path):
    receiver = OtlpHttpReceiver()
    traces_dir = tmp_path / "traces"
    db = "sqlite:///%s" % (tmp_path / "shared.db")
    env = clean_environment(
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY="100"
    )
    processes = []
    try:
        conductor = RefnovaProcess(
            ["conductor", "--db", db, "--transport", vhost, "--traces-dir", str(traces_dir)],
            env,
            tmp_path,
        )
        processes.append(conductor)
        conductor.wait_for_line(r"refnova conductor consuming")
        api = RefnovaProcess(
            [
                "serve",
                "--port",
                "0",
                "--db",
                db,
                "--transport",
                vhost,
                "--traces-dir",
                str(traces_dir),
            ],
            env,
            tmp_path,
        )
        processes.append(api)
        port = int(api.wait_for_line(READY).group(1))
        assert "conductor in-process" not in api.output()
        defaults = world_defaults()
        server_id, _request_id = create_and_wait_active(
            "http://127.0.0.1:%d" % port,
            defaults["project_id"],
            defaults["user_id"],
            defaults["image_id"],
            defaults["flavor_id"],
        )
    finally:
        codes = [process.stop() for process in reversed(processes)]
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
    assert producer.attributes["server.address"] == "127.0.0.1"
    assert producer.attributes["server.port"] == 5672
    assert (
        consumer.attributes["messaging.message.id"] == producer.attributes["messaging.message.id"]
    )
    assert isinstance(consumer.attributes["messaging.rabbitmq.message.delivery_tag"], int)
    assert (
        by_name["compute.manager.ComputeManager.run_instance"][0].attributes["nova.instance_uuid"]
        == server_id
    )

    # Both processes wrote their part of the trace into the same file.
    (trace_id,) = trace_ids
    written = tracefiles.load_spans(tracefiles.trace_file_path(traces_dir, trace_id))
    assert {r.service for r in written} == {"refnova-api", "refnova-conductor"}
    assert sorted(r.span_id for r in written) == sorted(r.span_id for r in trace)
