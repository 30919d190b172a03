"""Behaviours on request through a served refnova: the control API over HTTP, and each
behaviour that acts at the compute API as a client meets it (``refnova/compute/behaviours.py``).

One `refnova serve` for the module, its world file registering one behaviour; every test
registers its own behaviours through the control API, matched by a server name of its own.
"""

import json

import pytest
import requests

from tests.support.cluster import write_world
from tests.support.http import DEFAULTS, PROJECT, ServedApi
from tests.support.polling import poll_until
from tests.support.processes import Processes

ADMIN = {"X-Auth-Token": "admin:admin", "Content-Type": "application/json"}
WORLD_BEHAVIOURS = [{"id": "from-world", "name": "fail", "criteria": {"server_name": "^world$"}}]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("behaviours")
    world = write_world(workdir / "world.json", {"behaviours": WORLD_BEHAVIOURS})
    with Processes(workdir) as processes:
        process = processes.serve("--world", world, "--db", "sqlite:///%s" % (workdir / "r.db"))
        yield ServedApi(process.url, process)


@pytest.fixture
def control(api):
    """POST a behaviour (checked 201); every behaviour a test registers is deleted after it."""
    made = []

    def register(body):
        answer = requests.post(
            api.base + "/refnova/v1/behaviours", data=json.dumps(body), headers=ADMIN, timeout=30
        )
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["behaviour"]["id"])
        return made[-1]

    yield register
    for behaviour_id in made:
        requests.delete(api.base + "/refnova/v1/behaviours/" + behaviour_id, headers=ADMIN)


def listed(api):
    answer = requests.get(api.base + "/refnova/v1/behaviours", headers=ADMIN, timeout=30)
    assert answer.status_code == 200
    return answer.json()["behaviours"]


def servers_named(api, name, path="/v2/%s/servers/detail" % PROJECT):
    answer = requests.get(api.base + path, headers=api.headers(), timeout=30)
    return [server for server in answer.json()["servers"] if server["name"] == name]


def test_the_control_api_over_http(api):
    url = api.base + "/refnova/v1/behaviours"
    body = {"name": "build", "parameters": {"seconds": 1}, "criteria": {"server_name": "^x$"}}
    created = requests.post(url, data=json.dumps(body), headers=ADMIN, timeout=30)
    assert created.status_code == 201
    behaviour = created.json()["behaviour"]
    assert created.headers["Location"] == "%s/%s" % (url, behaviour["id"])
    assert listed(api) == [WORLD_BEHAVIOURS[0], behaviour]
    assert requests.get(created.headers["Location"], headers=ADMIN).json() == {
        "behaviour": behaviour
    }
    assert requests.delete(created.headers["Location"], headers=ADMIN).status_code == 204
    assert requests.get(created.headers["Location"], headers=ADMIN).status_code == 404
    assert [item["id"] for item in listed(api)] == ["from-world"]


def test_a_refused_behaviour_leaves_nothing_behind(api):
    url = api.base + "/refnova/v1/behaviours"
    bad_json = requests.post(url, data="{", headers=ADMIN, timeout=30)
    assert bad_json.json() == {"badRequest": {"message": "Malformed request body", "code": 400}}
    invalid = requests.post(
        url, data=json.dumps({"name": "fail", "parameters": {"times": 2}}), headers=ADMIN
    )
    assert invalid.status_code == 400
    assert invalid.json()["badRequest"]["message"] == (
        "Invalid behaviour: parameters.times is not a known field (allowed: code, fault, "
        "message, preset)"
    )
    user = {**ADMIN, "X-Auth-Token": "demo:%s" % PROJECT}
    assert requests.post(url, data=json.dumps({"name": "fail"}), headers=user).status_code == 403
    assert requests.get(url, headers=user).status_code == 403
    assert [item["id"] for item in listed(api)] == ["from-world"]
    assert api.create(name="after-refusals").status_code == 202


def test_the_world_files_behaviour_acts(api):
    answer = api.create(name="world")
    assert answer.status_code == 500
    assert servers_named(api, "world") == []


def test_fail_answers_the_error_and_makes_no_server(api, control):
    control({"name": "fail", "criteria": {"server_name": "^fail-default$"}})
    answer = api.create(name="fail-default")
    assert answer.status_code == 500
    assert answer.json() == {
        "computeFault": {
            "message": "The server has either erred or is incapable of performing\r\n"
            "the requested operation.\r\n",
            "code": 500,
        }
    }
    assert servers_named(api, "fail-default") == []


def test_fail_with_a_preset_and_a_fault_key_of_its_own(api, control):
    control(
        {
            "name": "fail",
            "parameters": {"preset": "NoValidHost"},
            "criteria": {"server_name": "^nvh$"},
        }
    )
    control(
        {
            "name": "fail",
            "parameters": {"code": 503, "fault": "computeFault", "message": "down for lunch"},
            "criteria": {"server_name": "^lunch$"},
        }
    )
    assert api.create(name="nvh").json() == {
        "computeFault": {"message": "No valid host was found. ", "code": 500}
    }
    lunch = api.create(name="lunch")
    assert lunch.status_code == 503
    assert lunch.json() == {"computeFault": {"message": "down for lunch", "code": 503}}


def test_false_negative_answers_the_error_and_builds_the_server(api, control):
    control({"name": "false-negative", "criteria": {"server_name": "^false-negative$"}})
    answer = api.create(name="false-negative")
    assert answer.status_code == 500
    assert list(answer.json()) == ["computeFault"]
    statuses = poll_until(
        lambda: [server["status"] for server in servers_named(api, "false-negative")],
        lambda found: found == ["ACTIVE"],
    )
    assert statuses == ["ACTIVE"]


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        (
            "/v2/%s/servers" % PROJECT,
            413,
            {
                "overLimit": {
                    "message": "Quota exceeded for cores: Requested 1, but already used 20 of "
                    "20 cores",
                    "code": 413,
                    "retryAfter": "0",
                }
            },
        ),
        (
            "/v2.1/servers",
            403,
            {
                "forbidden": {
                    "message": "Quota exceeded for cores: Requested 1, but already used 20 of "
                    "20 cores",
                    "code": 403,
                }
            },
        ),
    ],
)
def test_quota_answers_novas_own_error_on_each_contract(api, control, path, status, body):
    control(
        {
            "name": "quota",
            "parameters": {"resource": "cores"},
            "criteria": {"server_name": "^full$"},
        }
    )
    request = {"server": {"name": "full", "imageRef": DEFAULTS["image_id"], "flavorRef": "1"}}
    answer = requests.post(api.base + path, data=json.dumps(request), headers=api.headers())
    assert (answer.status_code, answer.json()) == (status, body)
    assert answer.headers.get("Retry-After") == ("0" if status == 413 else None)
    assert servers_named(api, "full") == []


def test_broker_down_takes_the_path_of_an_unreachable_broker(api, control):
    control({"name": "broker-down", "criteria": {"server_name": "^no-broker$"}})
    answer = api.create(name="no-broker")
    assert answer.status_code == 503
    assert answer.json() == {
        "serviceUnavailable": {
            "message": "Service unavailable: the message broker could not be reached",
            "code": 503,
        }
    }
    (server,) = servers_named(api, "no-broker")
    assert server["status"] == "ERROR"
    assert (
        server["fault"]["message"] == "Service unavailable: the message broker could not be reached"
    )


def test_database_down_takes_the_path_of_an_unreachable_database(api, control):
    control({"name": "database-down", "criteria": {"server_name": "^no-database$"}})
    answer = api.create(name="no-database")
    assert answer.status_code == 500
    assert answer.json() == {
        "computeFault": {
            "message": "The server has either erred or is incapable of performing the "
            "requested operation.",
            "code": 500,
        }
    }
    assert servers_named(api, "no-database") == []
    assert "Connection refused (behaviour database-down)" in api.process.output()


def test_a_sequence_fails_twice_then_succeeds(api, control):
    steps = [{"name": "fail"}, {"name": "fail"}, {"name": "default"}]
    control(
        {
            "name": "sequence",
            "parameters": {"behaviours": steps},
            "criteria": {"server_name": "^seq$"},
        }
    )
    assert [api.create(name="seq").status_code for _ in range(4)] == [500, 500, 202, 202]


def test_delete_failure_answers_its_code_the_times_asked(api, control):
    control(
        {
            "name": "delete-failure",
            "parameters": {"code": 409, "times": 2},
            "criteria": {"server_name": "^sticky$"},
        }
    )
    server_id = api.create(name="sticky").json()["server"]["id"]
    url = "%s/v2/%s/servers/%s" % (api.base, PROJECT, server_id)
    answers = [requests.delete(url, headers=api.headers(), timeout=30) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [409, 409, 204]
    assert answers[0].json() == {
        "conflictingRequest": {
            "message": "There was a conflict when trying to complete your request.",
            "code": 409,
        }
    }
    assert requests.get(url, headers=api.headers()).status_code == 404


def test_criteria_on_metadata_flavor_and_user(api, control):
    control(
        {
            "name": "fail",
            "parameters": {"code": 400},
            "criteria": {
                "server_name": "^crit",
                "metadata": {"role": "^db$"},
                "flavor": "^1$",
                "user": "demo",
            },
        }
    )
    assert api.create(name="crit-1", metadata={"role": "db"}).status_code == 400
    assert api.create(name="crit-2", metadata={"role": "web"}).status_code == 202
    assert api.create(name="crit-3").status_code == 202
    assert api.create(name="crit-4", metadata={"role": "db"}, flavorRef="2").status_code == 202


def test_the_first_registered_that_matches_acts(api, control):
    control({"name": "fail", "parameters": {"code": 409}, "criteria": {"server_name": "^order$"}})
    control({"name": "fail", "parameters": {"code": 400}, "criteria": {"server_name": "^ord"}})
    assert api.create(name="order").status_code == 409
    assert api.create(name="ordinary").status_code == 400
