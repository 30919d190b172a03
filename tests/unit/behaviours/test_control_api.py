"""The control API in-process: admin only, 201 with an id, 400 naming the problem with
nothing registered, list, show and delete; what it registers reaches the next create."""

import json

import pytest
import webob

from refnova.db import behaviours as db_behaviours
from tests.support.deployment import Client, make_deployment

PATH = "/refnova/v1/behaviours"


@pytest.fixture
def deployment():
    world_behaviour = {"id": "slow", "name": "build", "criteria": {"server_name": "^slow$"}}
    with make_deployment({"behaviours": [world_behaviour]}) as made:
        yield made


def call(deployment, method, path=PATH, body=None, user="admin", raw=None, token=True):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["X-Auth-Token"] = "%s:some-project" % user
    data = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
    return webob.Request.blank(path, method=method, headers=headers, body=data).get_response(
        deployment.app
    )


def registered(deployment):
    with deployment.db.transaction() as session:
        return [row.id for row in db_behaviours.all_in_order(session)]


def test_register_show_list_and_delete(deployment):
    body = {"name": "fail", "parameters": {"code": 409}, "criteria": {"server_name": "^x$"}}
    created = call(deployment, "POST", body=body)
    assert created.status_int == 201
    behaviour = created.json["behaviour"]
    assert behaviour == {"id": behaviour["id"], **body}
    assert created.headers["Location"] == "http://localhost%s/%s" % (PATH, behaviour["id"])

    shown = call(deployment, "GET", "%s/%s" % (PATH, behaviour["id"]))
    assert (shown.status_int, shown.json) == (200, {"behaviour": behaviour})
    listed = call(deployment, "GET")
    assert listed.json == {
        "behaviours": [
            {"id": "slow", "name": "build", "criteria": {"server_name": "^slow$"}},
            behaviour,
        ],
    }
    assert call(deployment, "DELETE", "%s/%s" % (PATH, behaviour["id"])).status_int == 204
    assert registered(deployment) == ["slow"]
    gone = call(deployment, "DELETE", "%s/%s" % (PATH, behaviour["id"]))
    assert gone.status_int == 404
    assert gone.json == {
        "itemNotFound": {
            "message": "Behaviour %s could not be found." % behaviour["id"],
            "code": 404,
        }
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{nope", "Malformed request body"),
        (b"[]", "Invalid behaviour: A behaviour must be a JSON object"),
        (
            b'{"name": "fail", "parameters": {"code": "500"}}',
            "Invalid behaviour: parameters.code must be an integer from 400 to 599; got '500'",
        ),
        (
            b'{"name": "sequence", "parameters": {"behaviours": [{"name": "nope"}]}}',
            "Invalid behaviour: parameters.behaviours[0].name must be one of default,",
        ),
        (b'{"id": "mine", "name": "fail"}', "Invalid behaviour: id is not a known field"),
    ],
)
def test_a_refused_behaviour_is_400_naming_the_problem_and_leaves_nothing(deployment, raw, message):
    answer = call(deployment, "POST", raw=raw)
    assert answer.status_int == 400
    assert answer.json["badRequest"]["message"].startswith(message)
    assert registered(deployment) == ["slow"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_only_an_admin_may_use_it(deployment, method):
    answer = call(deployment, method, body={"name": "fail"}, user="demo")
    assert answer.status_int == 403
    assert answer.json == {
        "forbidden": {
            "message": "Policy doesn't allow refnova:behaviours to be performed.",
            "code": 403,
        }
    }
    assert call(deployment, method, body={"name": "fail"}, token=False).status_int == 401
    assert registered(deployment) == ["slow"]


def test_a_world_policy_may_open_it():
    with make_deployment({"policy": {"refnova:behaviours": ""}}) as deployment:
        assert call(deployment, "POST", body={"name": "fail"}, user="demo").status_int == 201


def test_what_it_registers_acts_on_the_next_create(deployment):
    client = Client(deployment)
    call(deployment, "POST", body={"name": "fail", "criteria": {"server_name": "^doomed$"}})
    assert client.create({"name": "doomed"}).status_int == 500
    assert client.create({"name": "fine"}).status_int == 202


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("PUT", PATH, 405), ("GET", "/refnova/v1/other", 404), ("GET", PATH + "/unknown", 404)],
)
def test_other_paths_and_methods(deployment, method, path, status):
    answer = call(deployment, method, path)
    assert answer.status_int == status
    assert list(answer.json) == [{404: "itemNotFound", 405: "badMethod"}[status]]
