"""Every span of a traced create and of its rejections against OpenTelemetry's attribute
registry, as the pinned ``opentelemetry-semantic-conventions`` has it (tests/support/semconv.py):
names known and none deprecated, value types, required attributes, refnova's own keys only
under ``nova.*``/``refnova.*``, one schema URL. The RabbitMQ create is checked in
tests/integration/test_semconv_registry_rabbitmq.py.
"""

import uuid

import pytest

from refnova import tracing
from refnova.tracing.files import SpanRecord
from tests.support import semconv
from tests.support.deployment import Client, make_deployment
from tests.support.tracing import CREATE_SPAN

QUEUED_IMAGE = "a2459075-d96c-40d5-893e-577ff92e721c"  # the world's image that is not active


def record(kind="INTERNAL", status="UNSET", **attributes):
    return SpanRecord(
        trace_id="0" * 32,
        span_id="1" * 16,
        parent_id=None,
        name="probe",
        kind=kind,
        start_ns=0,
        end_ns=1,
        attributes=attributes,
        status=status,
        scope={"schema_url": tracing.SCHEMA_URL},
    )


def test_the_registry_is_the_pinned_package_s():
    registry = semconv.registry()
    assert {"service.peer.name", "http.request.method", "db.query.text"} <= registry.known
    assert "service.peer.name" not in registry.deprecated
    assert "peer.service" in registry.deprecated and "http.method" in registry.deprecated
    # A stable attribute's incubating copy is no deprecation of the attribute.
    assert "http.request.method" not in registry.deprecated
    assert "rabbitmq" in registry.enums["messaging.system"]
    assert tracing.SCHEMA_URL.endswith("/1.44.0")  # the newest schema 0.66b2 knows


@pytest.mark.parametrize(
    ("span", "problem"),
    [
        (record(**{"peer.service": "glance"}), "peer.service: deprecated"),
        (record(**{"glance.image": "x"}), "glance.image: unknown to the conventions"),
        (record(**{"code.function.name": 7}), "code.function.name: 7 is int, not"),
        (record(**{"messaging.system": "memory"}), "'memory' is none of"),
        (record(kind="SERVER", **{"http.request.method": "GET"}), "url.path: required"),
        (record(kind="CLIENT", **{"db.system.name": "sqlite"}), "db.query.text or db."),
        (record(kind="PRODUCER"), "messaging.destination.name: required"),
        (record(status="ERROR"), "error.type: required on a span that failed"),
    ],
)
def test_the_check_finds_what_the_conventions_refuse(span, problem):
    assert any(problem in found for found in semconv.span_problems(span)), problem


def assert_conforms(records):
    assert records
    problems = semconv.trace_problems(records)
    assert not problems, "\n".join(problems)


@pytest.fixture
def client(spans):
    with make_deployment() as deployment:
        yield Client(deployment)


def test_every_span_of_a_traced_create_conforms(client, spans):
    assert client.create().status_int == 202
    spans.wait_for_consumers()
    records = spans.trace_of(CREATE_SPAN)
    kinds = {r.kind for r in records}
    assert kinds == {"SERVER", "INTERNAL", "CLIENT", "PRODUCER", "CONSUMER"}
    assert_conforms(records)


@pytest.mark.parametrize(
    ("server", "status"),
    [
        ({"name": " \t "}, 400),  # the controller's checks
        ({"flavorRef": "999"}, 400),  # FlavorNotFound
        ({"imageRef": QUEUED_IMAGE}, 400),  # the compute API: ImageNotActive
        ({"min_count": 11}, 413),  # the quota
    ],
    ids=["controller", "flavor", "compute-api", "quota"],
)
def test_every_span_of_a_rejection_conforms(client, spans, server, status):
    assert client.create(server).status_int == status
    records = spans.trace_of(CREATE_SPAN)
    assert any(r.status == "ERROR" for r in records)
    assert_conforms(records)


def test_a_request_refused_without_credentials_conforms(client, spans):
    response = client.request(
        "POST", "/v2/%s/servers" % client.project_id, {}, headers={"X-Auth-Token": None}
    )
    assert response.status_int == 401
    assert_conforms(spans.trace_of(CREATE_SPAN))


def test_http_client_spans_of_a_real_glance_conform(spans):
    import responses

    glance = "http://glance.example:9292"
    with make_deployment(glance_url=glance) as deployment:
        client = Client(deployment)
        image = deployment.world["images"][0]
        with responses.RequestsMock() as mock:
            mock.get("%s/v2/images/%s" % (glance, image["id"]), json=image)
            mock.get("%s/v2/images/%s" % (glance, uuid.UUID(int=1)), status=404)
            assert client.create().status_int == 202
            spans.wait_for_consumers()
            assert client.create({"imageRef": str(uuid.UUID(int=1))}).status_int == 400
    records = spans.records()
    calls = [r for r in records if r.name == "GET /v2/images/{image_id}"]
    assert {r.kind for r in calls} == {"CLIENT"} and len(calls) == 2
    assert_conforms(records)
