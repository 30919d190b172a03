"""The RPC client and the transport on memory://: what a cast puts on the wire, prepare, the
target's routing, and the pool of publishers."""

import datetime
import json
import threading

import pytest

from refnova.messaging import RPCClient, Target, envelope

from .support import Context, inner


def test_the_cast_on_the_wire_is_oslo_s_envelope_with_the_target_s_fields(broker):
    unique_id = (
        broker.client()
        .prepare(version="1.5")
        .cast(Context(), "build_instances", instances=[{"uuid": "u-1"}], legacy_bdm=True)
    )
    (message,) = broker.drain("conductor")
    assert set(json.loads(message.body)) == {"oslo.version", "oslo.message"}
    assert json.loads(message.body)["oslo.version"] == "2.0"
    assert inner(message) == {
        "method": "build_instances",
        "namespace": "compute_task",
        "version": "1.5",
        "args": {"instances": [{"uuid": "u-1"}], "legacy_bdm": True},
        "_unique_id": unique_id,
        "_context_request_id": "req-1",
        "_context_project_id": "p1",
        "_context_user_id": "u1",
    }
    assert message.content_type == "application/json"
    assert message.content_encoding == "utf-8"
    assert message.properties["delivery_mode"] == 2
    # Nothing but the trace context (once a test installed a tracer provider).
    assert set(message.headers) <= {"traceparent", "tracestate", "baggage"}
    assert message.delivery_info["exchange"] == "nova"
    assert message.delivery_info["routing_key"] == "conductor"


def test_prepare_changes_only_the_fields_given_and_leaves_the_client_as_it_was(broker):
    client = broker.client()
    prepared = client.prepare(version="1.5")
    assert prepared.target == Target(topic="conductor", namespace="compute_task", version="1.5")
    assert client.target.version == "1.0"
    assert prepared.prepare(server="h").target == prepared.target(server="h")
    assert prepared.prepare(server="h").routing_key == "conductor.h"


def test_a_target_without_namespace_or_version_leaves_them_out_of_the_message(broker):
    RPCClient(broker.transport, Target(topic="conductor")).cast(Context(), "ping")
    (message,) = broker.drain("conductor")
    assert "namespace" not in inner(message) and "version" not in inner(message)


def test_a_client_needs_a_topic(broker):
    with pytest.raises(ValueError, match="needs a topic"):
        RPCClient(broker.transport, Target(namespace="compute_task"))


def test_more_publishing_threads_than_publishers_each_wait_their_turn(broker):
    client = broker.client()
    limit = broker.transport.publishers.limit
    ids, errors = [], []

    def cast(index):
        try:
            for _ in range(5):
                ids.append(client.cast(Context(), "build_instances", instances=[index]))
        except Exception as error:  # reported below: a thread's exception is otherwise lost
            errors.append(error)

    threads = [threading.Thread(target=cast, args=(index,)) for index in range(limit * 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    received = [inner(message)["_unique_id"] for message in broker.drain("conductor")]
    assert sorted(received) == sorted(ids) and len(set(ids)) == limit * 3 * 5


def test_the_envelope_is_byte_for_byte_oslo_messaging_s():
    common = pytest.importorskip("oslo_messaging._drivers.common")
    message = {
        "method": "build_instances",
        "namespace": "compute_task",
        "version": "1.5",
        "args": {
            "instances": [
                {
                    "created_at": datetime.datetime(2026, 8, 1, 12, 0, 0, 5),
                    "uuid": "u-1",
                    "memory_mb": 512,
                }
            ],
            "image": {"properties": {"min_ram": "0"}},
            "legacy_bdm": True,
        },
        "_unique_id": "0" * 32,
        "_context_timestamp": datetime.datetime(2026, 8, 1),
    }
    ours = envelope.serialize_msg(message)
    assert ours == common.serialize_msg(message)
    assert envelope.deserialize_msg(ours) == common.deserialize_msg(ours)
    assert json.loads(ours["oslo.message"])["_context_timestamp"] == "2026-08-01T00:00:00.000000"


@pytest.mark.parametrize(
    "body",
    [
        {"oslo.version": "2.1", "oslo.message": "{}"},
        {"oslo.version": "1.0", "oslo.message": "{}"},
    ],
)
def test_an_envelope_of_another_version_is_refused(body):
    with pytest.raises(ValueError, match="unsupported envelope version"):
        envelope.deserialize_msg(body)


def test_a_message_without_an_envelope_is_taken_as_it_is():
    assert envelope.deserialize_msg({"method": "m", "args": {}}) == {"method": "m", "args": {}}
