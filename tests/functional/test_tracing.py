"""Spans at every hop, in-process: names, kinds, parents, attributes, errors, propagation."""

import json
import re
import socket
import uuid

import kombu
import pytest

from refnova import messaging, tracing
from tests.support.deployment import Client, make_deployment
from tests.support.tracing import CREATE_SPAN, PROCESS_SPAN, PUBLISH_SPAN, check_create_trace

HEX32 = re.compile(r"^[0-9a-f]{32}$")
ADMIN_PASSWORD = "Adm1n-Pa55-7f3e9c"


@pytest.fixture
def traced_client(spans):
    with make_deployment() as deployment:
        yield Client(deployment)


def traceresponse_of(response):
    """(trace id, span id) of a sampled answer's ``traceresponse`` header."""
    version, trace_id, span_id, flags = response.headers["traceresponse"].split("-")
    assert version == "00" and int(flags, 16) & 1  # sampled
    return trace_id, span_id


def _create_and_wait(client, spans, server=None, headers=None):
    body = {
        "server": {
            "name": "vm",
            "imageRef": client.defaults["image_id"],
            "flavorRef": client.defaults["flavor_id"],
            **(server or {}),
        }
    }
    response = client.request("POST", "/v2/%s/servers" % client.project_id, body, headers=headers)
    spans.wait_for_consumers()
    return response, spans.trace_of(CREATE_SPAN)


def test_a_create_is_one_trace_through_every_hop(traced_client, spans):
    response, records = _create_and_wait(traced_client, spans)
    assert response.status_int == 202
    server_id = json.loads(response.body)["server"]["id"]
    by_name = check_create_trace(records)

    (server,) = by_name[CREATE_SPAN]
    attributes = server.attributes
    assert attributes["http.request.method"] == "POST"
    assert attributes["http.route"] == "/v2/{project_id}/servers"
    assert attributes["url.path"] == "/v2/%s/servers" % traced_client.project_id
    assert attributes["url.scheme"] == "http"
    assert attributes["http.response.status_code"] == 202
    assert attributes["server.address"] and isinstance(attributes["server.port"], int)
    assert attributes["network.protocol.name"] == "http"
    assert attributes["nova.request_id"] == response.headers["x-compute-request-id"]
    assert attributes["nova.project_id"] == traced_client.project_id
    assert server.status == "UNSET"
    # W3C traceresponse: the SERVER span's own context, so a client finds the trace.
    assert traceresponse_of(response) == (server.trace_id, server.span_id)
    (controller,) = by_name["servers.Controller.create"]
    assert (
        controller.attributes["code.function.name"]
        == "refnova.api.openstack.compute.servers.Controller.create"
    )
    assert {record.scope["schema_url"] for record in records} == {tracing.SCHEMA_URL}

    (create_instance,) = by_name["compute.api.API._create_instance"]
    assert create_instance.attributes["nova.instance_uuids"] == [server_id]
    assert re.match(r"^r-[0-9a-z]{8}$", create_instance.attributes["nova.reservation_id"])
    assert create_instance.attributes["nova.request_id"] == attributes["nova.request_id"]
    (provision,) = by_name["compute.api.API._provision_instances"]
    assert provision.attributes["nova.instance_uuids"] == [server_id]
    assert (
        provision.attributes["nova.reservation_id"]
        == create_instance.attributes["nova.reservation_id"]
    )
    assert (
        create_instance.attributes["code.function.name"]
        == "refnova.compute.api.API._create_instance"
    )

    (producer,), (consumer,) = by_name[PUBLISH_SPAN], by_name[PROCESS_SPAN]
    # memory:// is kombu's in-process broker, not RabbitMQ: no RabbitMQ attribute either.
    for span in (producer, consumer):
        assert span.attributes["messaging.system"] == "kombu_memory"
        assert span.attributes["messaging.destination.name"] == "nova:conductor"
        assert not any(key.startswith("messaging.rabbitmq.") for key in span.attributes)
    assert producer.attributes["messaging.operation.type"] == "send"
    assert HEX32.match(producer.attributes["messaging.message.id"])
    assert producer.attributes["nova.rpc.method"] == "build_instances"
    assert producer.attributes["nova.rpc.version"] == "1.5"
    assert producer.attributes["nova.request_id"] == attributes["nova.request_id"]
    assert (
        consumer.attributes["messaging.message.id"] == producer.attributes["messaging.message.id"]
    )
    assert consumer.attributes["messaging.operation.type"] == "process"
    assert consumer.attributes["nova.request_id"] == attributes["nova.request_id"]
    assert consumer.attributes["nova.project_id"] == traced_client.project_id
    (manager,) = by_name["conductor.manager.ComputeTaskManager.build_instances"]
    assert manager.parent_id == consumer.span_id
    assert manager.attributes["nova.instance_uuids"] == [server_id]
    (run_instance,) = by_name["compute.manager.ComputeManager.run_instance"]
    assert run_instance.attributes["nova.instance_uuid"] == server_id
    assert run_instance.attributes["nova.host"]

    (insert,) = by_name["INSERT instances"]
    assert insert.attributes["db.system.name"] == "sqlite"
    assert insert.attributes["db.operation.name"] == "INSERT"
    assert insert.attributes["db.collection.name"] == "instances"
    assert insert.attributes["db.query.text"].startswith("INSERT INTO instances")
    assert server_id not in insert.attributes["db.query.text"]  # parameterized, never values
    assert insert.parent_id == provision.span_id

    # The in-process Glance and Neutron make no HTTP request: INTERNAL spans, no HTTP keys.
    (image,) = by_name["GET /v2/images/{image_id}"]
    assert (image.kind, image.attributes["service.peer.name"]) == ("INTERNAL", "glance")
    assert image.attributes["refnova.in_process"] is True
    assert image.parent_id == create_instance.span_id
    networks = by_name["GET /v2.0/networks"]
    assert {(r.kind, r.attributes["service.peer.name"]) for r in networks} == {
        ("INTERNAL", "neutron")
    }
    for record in (image, *networks):
        assert not any(key.startswith(("http.", "url.", "server.")) for key in record.attributes)
        assert "peer.service" not in record.attributes


def test_a_controller_rejection_shows_where_and_why(traced_client, spans):
    response = traced_client.create({"name": " \t "})
    assert response.status_int == 400
    by_name = {r.name: r for r in spans.trace_of(CREATE_SPAN)}
    checks = "servers.Controller._check_fields"
    assert set(by_name) == {CREATE_SPAN, "servers.Controller.create", checks}
    server, controller = by_name[CREATE_SPAN], by_name["servers.Controller.create"]
    # A 4xx is the client's error: the SERVER span's status stays unset, with no error.type.
    assert server.status == "UNSET" and "error.type" not in server.attributes
    assert server.attributes["http.response.status_code"] == 400
    assert server.attributes["nova.fault"] == "badRequest"
    assert server.events == []
    assert controller.status == "ERROR"
    assert "Server name has a minimum character requirement of 1." in controller.status_message
    # The controller's own check: the class Nova raises there (webob's HTTPBadRequest), on
    # the span of the checks where it failed and on the controller's.
    for span in (by_name[checks], controller):
        assert span.status == "ERROR"
        assert span.attributes["error.type"] == "HTTPBadRequest"
    assert [event["name"] for event in controller.events] == ["exception"]
    assert (
        controller.events[0]["attributes"]["exception.message"]
        == "Server name has a minimum character requirement of 1."
    )


def test_a_compute_api_rejection_shows_where_and_why(traced_client, spans):
    image_id = "a2459075-d96c-40d5-893e-577ff92e721c"  # the world's queued image
    response = traced_client.create({"imageRef": image_id})
    assert response.status_int == 400
    records = spans.trace_of(CREATE_SPAN)
    by_name = {r.name: r for r in records}
    origin = by_name["compute.api.API._validate_and_build_base_options"]
    assert origin.status == "ERROR"
    assert origin.attributes["error.type"] == "ImageNotActive"
    assert origin.status_message == "ImageNotActive: Image %s is not active." % image_id
    assert origin.events[0]["attributes"]["exception.type"].endswith("ImageNotActive")
    # Each span the exception left is an error of that class; the SERVER span's 400 is not.
    for name in (
        "compute.api.API._create_instance",
        "compute.api.API.create",
        "servers.Controller.create",
    ):
        assert by_name[name].status == "ERROR", name
        assert by_name[name].attributes["error.type"] == "ImageNotActive", name
    assert [e["name"] for e in by_name["servers.Controller.create"].events] == ["exception"]
    assert by_name[CREATE_SPAN].status == "UNSET"
    assert "error.type" not in by_name[CREATE_SPAN].attributes
    assert by_name[CREATE_SPAN].attributes["http.response.status_code"] == 400
    assert by_name[CREATE_SPAN].attributes["nova.fault"] == "badRequest"
    assert PUBLISH_SPAN not in by_name and "INSERT instances" not in by_name


def test_a_quota_rejection_shows_where_and_why(traced_client, spans):
    response = traced_client.create({"min_count": 11})
    assert response.status_int == 413
    by_name = {r.name: r for r in spans.trace_of(CREATE_SPAN)}
    quota = by_name["compute.api.API._check_num_instances_quota"]
    assert quota.status == "ERROR"
    assert quota.attributes["error.type"] == "TooManyInstances"
    assert "Quota exceeded for instances" in quota.status_message
    server = by_name[CREATE_SPAN]
    assert (server.attributes["http.response.status_code"], server.attributes["nova.fault"]) == (
        413,
        "overLimit",
    )


def test_a_request_refused_before_any_handler_is_an_error_too(traced_client, spans):
    response = traced_client.request(
        "POST",
        "/v2/%s/servers" % traced_client.project_id,
        {"server": {}},
        headers={"X-Auth-Token": None},
    )
    assert response.status_int == 401
    (server,) = spans.trace_of(CREATE_SPAN)
    assert server.status == "UNSET" and "error.type" not in server.attributes
    assert server.attributes["nova.fault"] == "unauthorized"
    # No context yet: an id of its own on the span; /v2 sends none (Icehouse's came from the
    # context), /v2.1 the span's (tests/functional/test_request_id_headers.py).
    assert server.attributes["nova.request_id"].startswith("req-")
    assert "x-compute-request-id" not in response.headers
    assert traceresponse_of(response) == (server.trace_id, server.span_id)


def test_a_flavor_the_controller_cannot_find_is_recorded_where_it_arose(traced_client, spans):
    response = traced_client.create({"flavorRef": "999"})
    assert response.status_int == 400
    by_name = {r.name: r for r in spans.trace_of(CREATE_SPAN)}
    lookup = by_name["compute.flavors.get_flavor_by_flavor_id"]
    assert lookup.status == "ERROR" and lookup.attributes["error.type"] == "FlavorNotFound"
    assert [e["attributes"]["exception.type"] for e in lookup.events] == [
        "refnova.exception.FlavorNotFound"
    ]
    # The controller answered 400 for it: the same class, its own answer recorded once.
    controller = by_name["servers.Controller.create"]
    assert controller.status == "ERROR"
    assert controller.attributes["error.type"] == "FlavorNotFound"
    types = [e["attributes"]["exception.type"] for e in controller.events]
    assert types == ["refnova.exception.ApiError"]
    assert "error.type" not in by_name[CREATE_SPAN].attributes
    assert by_name[CREATE_SPAN].status == "UNSET"


def test_the_server_span_continues_an_incoming_w3c_trace(traced_client, spans):
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    response, records = _create_and_wait(
        traced_client,
        spans,
        headers={"traceparent": "00-%s-%s-01" % (trace_id, span_id), "tracestate": "vendor=blue"},
    )
    assert response.status_int == 202
    server = next(r for r in records if r.name == CREATE_SPAN)
    assert (server.trace_id, server.parent_id, server.parent_is_remote) == (trace_id, span_id, True)
    consumer = next(r for r in records if r.name == PROCESS_SPAN)
    assert consumer.trace_id == trace_id and consumer.trace_state == "vendor=blue"


def _read_cast(deployment):
    """The cast as it sits on the queue (the conductor stopped first)."""
    with deployment.transport.connection.clone() as conn:
        queue = deployment.transport.queue("conductor")(conn.default_channel)
        message = queue.get(no_ack=True)
    assert message is not None
    return message


def test_the_amqp_headers_carry_the_producer_span_and_no_secret(spans):
    with make_deployment() as deployment:
        deployment.conductor.stop()
        client = Client(deployment)
        token = "%s:%s" % (client.defaults["user_id"], client.project_id)
        response = client.request(
            "POST",
            "/v2/%s/servers" % client.project_id,
            {
                "server": {
                    "name": "vm",
                    "imageRef": client.defaults["image_id"],
                    "flavorRef": client.defaults["flavor_id"],
                    "adminPass": ADMIN_PASSWORD,
                }
            },
            headers={
                "tracestate": "vendor=blue",
                "baggage": "color=blue,auth_token=%s,userPassword=x,X-Api-Key=k" % token,
                "traceparent": "00-%s-%s-01" % (uuid.uuid4().hex, uuid.uuid4().hex[:16]),
            },
        )
        assert response.status_int == 202
        message = _read_cast(deployment)
    producer = next(r for r in spans.records() if r.name == PUBLISH_SPAN)
    headers = message.headers
    assert headers["traceparent"] == "00-%s-%s-01" % (producer.trace_id, producer.span_id)
    assert headers["tracestate"] == "vendor=blue"
    assert headers["baggage"] == "color=blue"
    # The body is Nova's wire format, token included; the headers and spans carry none of it.
    assert json.loads(json.loads(message.body)["oslo.message"])["_context_auth_token"] == token
    text = json.dumps(headers)
    assert token not in text and ADMIN_PASSWORD not in text


def test_no_span_carries_the_token_or_the_admin_password(traced_client, spans):
    token = "%s:%s" % (traced_client.defaults["user_id"], traced_client.project_id)
    response, records = _create_and_wait(
        traced_client,
        spans,
        {"adminPass": ADMIN_PASSWORD},
        headers={"baggage": "auth_token=%s" % token},
    )
    assert response.status_int == 202
    from refnova.tracing import files as tracefiles

    dumped = json.dumps(tracefiles.to_otlp_json(records))
    assert ADMIN_PASSWORD not in dumped
    assert token not in dumped


def _publish_raw(deployment, headers, method="build_instances"):
    """A cast as another producer could send it, with exactly these AMQP headers."""
    inner = {
        "method": method,
        "namespace": "compute_task",
        "version": "1.5",
        "_unique_id": uuid.uuid4().hex,
        "_context_user_id": "u",
        "_context_project_id": "p",
        "_context_request_id": "req-%s" % uuid.uuid4(),
        "args": {
            "instances": [{"nova_object.data": {"uuid": str(uuid.uuid4())}}],
            "image": {},
            "filter_properties": {},
            "admin_password": "",
            "injected_files": [],
            "requested_networks": None,
            "security_groups": ["default"],
            "block_device_mapping": [],
            "legacy_bdm": False,
        },
    }
    transport = deployment.transport
    with transport.connection.clone() as conn:
        conn.Producer(serializer="json").publish(
            messaging.serialize_msg(inner),
            exchange=transport.exchange,
            routing_key="conductor",
            declare=[transport.queue("conductor")],
            headers=headers,
        )
    return inner


@pytest.mark.parametrize(
    "headers",
    [{}, {"traceparent": "00-not-a-trace-context-01"}],
    ids=["no-headers", "malformed-traceparent"],
)
def test_a_message_without_trace_context_starts_a_new_trace(spans, headers):
    with make_deployment() as deployment:
        inner = _publish_raw(deployment, headers)
        spans.wait_for(lambda done: any(s.name == PROCESS_SPAN for s in done))
    consumer = next(r for r in spans.records() if r.name == PROCESS_SPAN)
    assert consumer.parent_id is None and consumer.links == []
    assert consumer.attributes["messaging.message.id"] == inner["_unique_id"]
    assert consumer.attributes["nova.request_id"] == inner["_context_request_id"]
    manager = next(
        r
        for r in spans.records()
        if r.name == "conductor.manager.ComputeTaskManager.build_instances"
    )
    assert (manager.trace_id, manager.parent_id) == (consumer.trace_id, consumer.span_id)


def test_a_message_the_conductor_refuses_marks_its_consumer_span(spans):
    with make_deployment() as deployment:
        _publish_raw(deployment, {}, method="no_such_method")
        spans.wait_for(lambda done: any(s.name == PROCESS_SPAN for s in done))
    consumer = next(r for r in spans.records() if r.name == PROCESS_SPAN)
    assert consumer.status == "ERROR"
    assert consumer.attributes["error.type"] == "NoSuchMethod"


def test_statements_outside_a_traced_operation_make_no_trace(spans):
    with make_deployment() as deployment:
        from refnova.db import api as db_api
        from refnova.db import models

        db_api.count_rows(deployment.db, models.Instance)
    assert [r.name for r in spans.records()] == []


def test_a_publish_that_cannot_reach_the_broker_marks_the_producer_span(spans):
    with socket.socket() as probe:  # a port on which nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with make_deployment(
        transport_url="amqp://guest:guest@127.0.0.1:%d//" % port,
        publish_timeout=0.5,
        conductor_in_process=False,
    ) as deployment:
        response = Client(deployment).create()
    assert response.status_int == 503
    producer = next(r for r in spans.records() if r.name == PUBLISH_SPAN)
    assert producer.status == "ERROR" and producer.attributes["error.type"]
    # The broker's error, then the ServiceUnavailable the cast raised for it.
    types = [e["attributes"]["exception.type"] for e in producer.events if e["name"] == "exception"]
    assert len(types) == 2 and types[-1].endswith("ServiceUnavailable")
    server = next(r for r in spans.records() if r.name == CREATE_SPAN)
    assert server.attributes["nova.fault"] == "serviceUnavailable"
    # A 5xx is the server's error: the SERVER span is marked, with the Nova exception's class.
    assert server.status == "ERROR"
    assert server.attributes["error.type"] == "ServiceUnavailable"


def test_kombu_headers_are_what_the_consumer_reads(spans):
    """The carrier is the AMQP headers table: kombu's ``headers=`` on publish."""
    with make_deployment() as deployment:
        deployment.conductor.stop()
        assert Client(deployment).create().status_int == 202
        message = _read_cast(deployment)
    assert isinstance(message, kombu.Message)
    assert set(message.headers) >= {"traceparent"}
    assert not any(key.lower().startswith(("x-auth", "authorization")) for key in message.headers)


def test_a_glance_call_over_http_is_a_client_span_that_propagates_the_context(spans):
    import responses

    glance = "http://glance.example:9292"
    with make_deployment(glance_url=glance) as deployment:
        client = Client(deployment)
        image = deployment.world["images"][0]
        missing = str(uuid.uuid4())
        with responses.RequestsMock() as mock:
            mock.get("%s/v2/images/%s" % (glance, image["id"]), json=image)
            mock.get("%s/v2/images/%s" % (glance, missing), status=404)
            response, records = _create_and_wait(client, spans)
            assert response.status_int == 202
            sent = mock.calls[0].request.headers
            rejected = client.create({"imageRef": missing})
            assert rejected.status_int == 400
    (call,) = [r for r in records if r.name == "GET /v2/images/{image_id}"]
    assert call.kind == "CLIENT" and "refnova.in_process" not in call.attributes
    assert call.attributes["url.full"] == "%s/v2/images/%s" % (glance, image["id"])
    assert (call.attributes["server.address"], call.attributes["server.port"]) == (
        "glance.example",
        9292,
    )
    assert call.attributes["http.response.status_code"] == 200
    version, trace_id, parent_id, flags = sent["traceparent"].split("-")
    assert (version, trace_id, parent_id) == ("00", call.trace_id, call.span_id)
    assert int(flags, 16) & 1  # sampled
    assert sent["X-Auth-Token"] and sent["X-Auth-Token"] not in json.dumps(call.attributes)
    failed = next(
        r
        for r in spans.records()
        if r.name == "GET /v2/images/{image_id}" and r.trace_id != call.trace_id
    )
    assert failed.status == "ERROR"
    assert failed.attributes["http.response.status_code"] == 404
    assert failed.attributes["error.type"] == "ImageNotFound"


def test_a_v21_schema_rejection_is_nova_s_validation_error(traced_client, spans):
    """On /v2.1 a request schema refuses the body: Nova raises exception.ValidationError
    (nova.api.validation), so that is the error.type of the span where it failed."""
    body = {"server": {"name": "", "imageRef": "x", "flavorRef": "1"}}
    response = traced_client.request("POST", "/v2.1/%s/servers" % traced_client.project_id, body)
    assert response.status_int == 400
    records = spans.trace_of("POST /v2.1/{project_id}/servers")
    server = next(r for r in records if r.kind == "SERVER")
    assert server.status == "UNSET" and "error.type" not in server.attributes
    failed = [r for r in records if r.status == "ERROR"]
    assert failed and {r.attributes["error.type"] for r in failed} == {"ValidationError"}
