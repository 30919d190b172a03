"""The RPC server on memory://: acks after the endpoint, dispatch failures, sending a failed
message again, transient failures, and the dead-letter queue."""

import json

import pytest

from refnova.messaging import Target
from refnova.messaging.server import ATTEMPT_HEADER, ORIGIN_HEADER, REASON_HEADER

from .support import Context, Endpoint, inner

INSTANCES = [{"uuid": "0d8e2b8f-0000-4000-8000-000000000001"}]


class DatabaseAway(Exception):
    """Stands for the database errors the conductor declares transient."""


def test_a_cast_reaches_the_endpoint_with_its_context_and_arguments_and_is_acked(broker):
    endpoint = Endpoint(broker)
    with broker.serving(endpoint):
        unique_id = (
            broker.client()
            .prepare(version="1.5")
            .cast(Context(), "build_instances", instances=INSTANCES, legacy_bdm=False)
        )
        broker.wait_for(lambda: endpoint.calls, "the endpoint to be called")
    assert broker.journal == ["built", "ack"]  # acknowledged once, after the endpoint
    assert broker.drain("conductor") == []
    assert broker.dead_letters() == []
    (call,) = endpoint.calls
    assert call["instances"] == INSTANCES and call["legacy_bdm"] is False
    assert call["context"] == {"request_id": "req-1", "project_id": "p1", "user_id": "u1"}
    assert len(unique_id) == 32


@pytest.mark.parametrize(
    "prepare,method,args,reason",
    [
        ({}, "no_such_method", {}, "Endpoint does not support RPC method no_such_method"),
        ({}, "_private", {}, "Endpoint does not support RPC method _private"),
        (
            {"version": "1.7"},
            "build_instances",
            {"instances": INSTANCES},
            "Endpoint does not support RPC version 1.7. Attempted method: build_instances",
        ),
        (
            {"version": "2.0"},
            "build_instances",
            {"instances": INSTANCES},
            "Endpoint does not support RPC version 2.0. Attempted method: build_instances",
        ),
        (
            {"namespace": "baseapi"},
            "build_instances",
            {"instances": INSTANCES},
            "Endpoint does not support RPC version 1.0. Attempted method: build_instances",
        ),
        (
            {},
            "build_instances",
            {},
            (
                "Invalid arguments for RPC method build_instances: "
                "missing a required argument: 'instances'"
            ),
        ),
        (
            {},
            "build_instances",
            {"instances": INSTANCES, "flavor": {}},
            (
                "Invalid arguments for RPC method build_instances: "
                "got an unexpected keyword argument 'flavor'"
            ),
        ),
    ],
    ids=[
        "no-such-method",
        "private-method",
        "minor-too-high",
        "other-major",
        "other-namespace",
        "missing-argument",
        "unexpected-argument",
    ],
)
def test_a_message_no_endpoint_serves_goes_to_the_dead_letter_queue_at_once(
    broker, prepare, method, args, reason
):
    endpoint = Endpoint(broker)
    with broker.serving(endpoint):
        unique_id = broker.client().prepare(**prepare).cast(Context(), method, **args)
        broker.wait_for(lambda: broker.transport_has("conductor.dead"), "the dead letter")
    (dead,) = broker.dead_letters()
    assert dead.headers[REASON_HEADER] == reason
    assert dead.headers[ORIGIN_HEADER] == "conductor"
    assert ATTEMPT_HEADER not in dead.headers  # never sent again: dead at once
    assert inner(dead)["_unique_id"] == unique_id and inner(dead)["method"] == method
    assert endpoint.calls == []
    assert broker.journal == ["ack"]  # acknowledged once its copy was published
    assert broker.drain("conductor") == []


def test_a_handler_that_fails_once_is_sent_again_and_succeeds(broker):
    endpoint = Endpoint(broker, failures=[RuntimeError("the first try fails")])
    with broker.serving(endpoint, max_attempts=3):
        broker.client().cast(Context(), "build_instances", instances=INSTANCES)
        broker.wait_for(lambda: len(endpoint.calls) == 2, "the second attempt")
    assert [call["instances"] for call in endpoint.calls] == [INSTANCES, INSTANCES]
    # The failed delivery is acknowledged once its copy (attempt 2) was published.
    assert broker.journal == ["failed", "ack", "built", "ack"]
    assert broker.dead_letters() == []
    assert broker.drain("conductor") == []


def test_transient_failures_are_requeued_and_not_counted_as_attempts(broker):
    # More transient failures in a row than max_attempts: none of them may dead-letter it.
    endpoint = Endpoint(broker, failures=[DatabaseAway("the database is away")] * 5)
    with broker.serving(endpoint, max_attempts=2, transient_errors=(DatabaseAway,)):
        broker.client().cast(Context(), "build_instances", instances=INSTANCES)
        broker.wait_for(lambda: len(endpoint.calls) == 6, "the call after five failures")
    assert broker.journal == ["failed", "requeue"] * 5 + ["built", "ack"]
    assert broker.dead_letters() == []
    assert broker.drain("conductor") == []


def test_a_handler_that_keeps_failing_is_dead_lettered_after_max_attempts(broker):
    endpoint = Endpoint(broker, failures=[RuntimeError("boom")] * 10)
    with broker.serving(endpoint, max_attempts=3):
        unique_id = broker.client().cast(Context(), "build_instances", instances=INSTANCES)
        broker.wait_for(lambda: broker.transport_has("conductor.dead"), "the dead letter")
    assert len(endpoint.calls) == 3
    assert broker.journal == ["failed", "ack"] * 3
    (dead,) = broker.dead_letters()
    assert dead.headers[REASON_HEADER] == "failed 3 times, last with RuntimeError: boom"
    assert dead.headers[ATTEMPT_HEADER] == 3
    assert dead.headers[ORIGIN_HEADER] == "conductor"
    assert inner(dead)["_unique_id"] == unique_id
    assert broker.drain("conductor") == []


@pytest.mark.parametrize(
    "body,properties,reason",
    [
        (
            "not json at all",
            {"content_type": "application/json", "content_encoding": "utf-8"},
            "cannot decode the message: Expecting value: line 1 column 1 (char 0)",
        ),
        (
            {"oslo.version": "3.0", "oslo.message": json.dumps({"method": "build_instances"})},
            {"serializer": "json"},
            "cannot decode the message: ValueError: unsupported envelope version 3.0",
        ),
        (
            {"oslo.version": "2.0", "oslo.message": "[1, 2]"},
            {"serializer": "json"},
            "cannot decode the message: ValueError: inner message is not an object",
        ),
        (
            ["not", "an", "object"],
            {"serializer": "json"},
            "cannot decode the message: ValueError: message body is not an object",
        ),
        (
            b"a pickle, say",
            {"content_type": "application/x-python-serialize", "content_encoding": "binary"},
            (
                "cannot decode the message: Refusing to deserialize untrusted content of type "
                "pickle (application/x-python-serialize)"
            ),
        ),
    ],
    ids=["not-json", "envelope-3.0", "inner-not-object", "body-not-object", "not-accepted"],
)
def test_a_message_that_cannot_be_decoded_goes_to_the_dead_letter_queue_unchanged(
    broker, body, properties, reason
):
    endpoint = Endpoint(broker)
    with broker.serving(endpoint):
        broker.publish_raw(body, headers={"x-test": "kept"}, **properties)
        broker.wait_for(lambda: broker.transport_has("conductor.dead"), "the dead letter")
    (dead,) = broker.dead_letters()
    assert dead.headers[REASON_HEADER] == reason
    assert dead.headers["x-test"] == "kept"
    sent = (
        body
        if isinstance(body, bytes)
        else (body if isinstance(body, str) else json.dumps(body)).encode()
    )
    assert dead.body == sent
    assert dead.content_type == properties.get("content_type", "application/json")
    assert endpoint.calls == [] and broker.journal == ["ack"]
    assert broker.drain("conductor") == []


def test_a_target_naming_a_server_reaches_that_server_s_own_queue_too(broker):
    endpoint = Endpoint(broker)
    with broker.serving(endpoint, target=Target(topic="conductor", server="host-1")) as server:
        assert sorted(server.queues) == ["conductor", "conductor.host-1"]
        client = broker.client()
        client.prepare(server="host-1").cast(Context(), "build_instances", instances=[{"n": 1}])
        client.cast(Context(), "build_instances", instances=[{"n": 2}])
        broker.wait_for(lambda: len(endpoint.calls) == 2, "both casts")
    assert sorted(call["instances"][0]["n"] for call in endpoint.calls) == [1, 2]
    assert broker.drain("conductor.host-1") == [] and broker.drain("conductor") == []


def test_a_target_naming_another_exchange_is_served_on_it(broker):
    endpoint = Endpoint(broker)
    with broker.serving(endpoint, target=Target(exchange="openstack", topic="conductor")):
        broker.client(exchange="openstack").cast(Context(), "build_instances", instances=INSTANCES)
        broker.wait_for(lambda: endpoint.calls, "the cast on the other exchange")
    assert [call["instances"] for call in endpoint.calls] == [INSTANCES]
