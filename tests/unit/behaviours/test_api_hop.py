"""The kinds that act at the compute API, in-process: what each answers, what it leaves in
the database, and its mark on the compute API's span."""

import pytest

from refnova.db import models
from tests.support.deployment import Client, make_deployment

BEHAVIOURS = [
    {"id": "f", "name": "fail", "criteria": {"server_name": "^fail$"}},
    {
        "id": "q",
        "name": "quota",
        "parameters": {"resource": "ram"},
        "criteria": {"server_name": "^quota$"},
    },
    {"id": "fn", "name": "false-negative", "criteria": {"server_name": "^false-negative$"}},
    {"id": "b", "name": "broker-down", "criteria": {"server_name": "^broker-down$"}},
    {"id": "d", "name": "delete-failure", "criteria": {"server_name": "^delete-failure$"}},
    {"id": "e", "name": "error", "criteria": {"server_name": "^later$"}},
]


@pytest.fixture
def client():
    with make_deployment({"behaviours": BEHAVIOURS}) as deployment:
        yield Client(deployment)


def rows(client):
    with client.deployment.db.transaction() as session:
        instances = {i.display_name: i.vm_state for i in session.query(models.Instance)}
        stored = {b.name for b in session.query(models.InstanceBehaviour)}
        usage = {u.resource: u.in_use + u.reserved for u in session.query(models.QuotaUsage)}
    return instances, stored, usage


PROVISION, CREATE_INSTANCE = (
    "compute.api.API._provision_instances",
    "compute.api.API._create_instance",
)


@pytest.mark.parametrize(
    ("name", "status", "behaviour_id", "span_name"),
    [
        ("fail", 500, "f", PROVISION),
        ("quota", 413, "q", PROVISION),
        # These two act at the cast, which _create_instance makes.
        ("false-negative", 500, "fn", CREATE_INSTANCE),
        ("broker-down", 503, "b", CREATE_INSTANCE),
    ],
)
def test_an_api_hop_behaviour_marks_the_compute_apis_span(
    client, spans, name, status, behaviour_id, span_name
):
    assert client.create({"name": name}).status_int == status
    (span,) = [span for span in spans.finished() if "nova.behaviour" in span.attributes]
    assert span.name == span_name
    assert span.attributes["nova.behaviour"] == name
    (event,) = [event for event in span.events if event.name == "refnova.behaviour"]
    assert dict(event.attributes) == {
        "refnova.behaviour.id": behaviour_id,
        "refnova.behaviour.name": name,
    }


def test_fail_and_quota_write_nothing(client):
    assert client.create({"name": "fail"}).status_int == 500
    quota = client.create({"name": "quota"})
    assert quota.json == {
        "overLimit": {
            "message": "Quota exceeded for ram: Requested 512, but already used 51200 of 51200 ram",
            "code": 413,
            "retryAfter": "0",
        }
    }
    assert quota.headers["Retry-After"] == "0"
    instances, _stored, usage = rows(client)
    assert instances == {} and set(usage.values()) <= {0}


def test_quota_states_the_counts_asked_for(client):
    answer = client.create({"name": "quota", "min_count": 2, "max_count": 3})
    assert answer.json["overLimit"]["message"] == (
        "Quota exceeded for ram: Requested 1536, but already used 51200 of 51200 ram"
    )


def test_broker_down_leaves_an_error_server_and_gives_the_quota_back(client):
    assert client.create({"name": "broker-down"}).status_int == 503
    instances, _stored, usage = rows(client)
    assert instances == {"broker-down": "error"}
    assert set(usage.values()) == {0}


def test_false_negative_builds_the_server(client):
    assert client.create({"name": "false-negative"}).status_int == 500
    instances, _stored, _usage = rows(client)
    assert list(instances) == ["false-negative"]


def test_later_hops_kinds_are_stored_with_the_instance_and_api_kinds_are_not(client):
    client.create({"name": "later"})
    client.create({"name": "delete-failure"})
    client.create({"name": "false-negative"})
    assert rows(client)[1] == {"error", "delete-failure"}


def test_delete_failure_marks_the_delete_span(client, spans):
    server_id = client.create({"name": "delete-failure"}).json["server"]["id"]
    path = "/v2/%s/servers/%s" % (client.project_id, server_id)
    assert client.request("DELETE", path).status_int == 500
    span = next(span for span in spans.finished() if span.name == "compute.api.API.delete")
    assert span.attributes["nova.behaviour"] == "delete-failure"
    assert client.request("DELETE", path).status_int == 204


def test_the_server_span_names_a_fault_key_of_the_behaviours_own(spans):
    behaviour = {"name": "fail", "parameters": {"code": 503, "fault": "computeFault"}}
    with make_deployment({"behaviours": [behaviour]}) as deployment:
        assert Client(deployment).create().status_int == 503
    (server,) = [span for span in spans.finished() if span.name.startswith("POST /v2/")]
    assert server.attributes["nova.fault"] == "computeFault"


def test_a_request_the_compute_api_refuses_meets_no_behaviour(client):
    """The behaviour is chosen once the request passed every check: a bad image is still
    Nova's 400."""
    answer = client.create({"name": "fail", "imageRef": "no-such-image"})
    assert answer.status_int == 400
    assert client.create({"name": "fail"}).status_int == 500


def test_quota_on_an_unlimited_resource_reads_as_a_quota_of_0():
    world = {"behaviours": [{"name": "quota"}], "quotas": {"instances": -1}}
    with make_deployment(world) as deployment:
        answer = Client(deployment).create()
    assert answer.json["overLimit"]["message"] == (
        "Quota exceeded for instances: Requested 1, but already used 0 of 0 instances"
    )
