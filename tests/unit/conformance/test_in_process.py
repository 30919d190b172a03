"""The in-process run's reused deployments: one per world, each fixture meeting the database,
rate limiter and queue of a fresh one, and setup servers settled without a sleep."""

import copy
import json
import time

import pytest

from refnova.config import Settings
from refnova.conformance.fixtures import REPO_ROOT, Fixture
from refnova.conformance.http import HttpRequest
from refnova.conformance.in_process import Deployments, ReusableDeployment
from refnova.conformance.placeholders import placeholder_values
from refnova.conformance.results import PASS
from refnova.conformance.runners import (
    call_wsgi,
    in_process_deployments,
    reference_deployment,
    run_all_in_process,
    run_in_process,
)
from refnova.conformance.world import load_reference_world
from refnova.service import Deployment

WORLD = load_reference_world(None)
VALUES = placeholder_values(WORLD)
USER = "%s:%s" % (VALUES["user_id"], VALUES["project_id"])
SERVERS = "/v2/%s/servers" % VALUES["project_id"]
HEADERS = (("Accept", "application/json"), ("X-Auth-Token", USER))
CREATE = {
    "method": "POST",
    "path": "/v2/{project_id}/servers",
    "body": {"server": {"name": "listed", "imageRef": "{image_id}", "flavorRef": "{flavor_id}"}},
}


def post_server(app, name="s1"):
    body = (
        '{"server": {"name": "%s", "imageRef": "%s", "flavorRef": "%s"}}'
        % (name, VALUES["image_id"], VALUES["flavor_id"])
    ).encode()
    headers = HEADERS + (("Content-Type", "application/json"),)
    return call_wsgi(app, HttpRequest("POST", SERVERS, headers, (), body))


def server_names(app):
    response = call_wsgi(app, HttpRequest("GET", SERVERS + "/detail", HEADERS, (), b""))
    assert response.status == 200
    return {(s["name"], s["status"]) for s in json.loads(response.body)["servers"]}


def fixture(**changes):
    data = {
        "name": "GET /servers/{id} of a server setup created",
        "source": "Nova 2014.1 source: nova/api/openstack/compute/servers.py Controller.show",
        "setup": [copy.deepcopy(CREATE)],
        "request": {"method": "GET", "path": "/v2/{project_id}/servers/{setup[0].server.id}"},
        "expect": {
            "status": 200,
            "body": {
                "server": {"id": "{setup[0].server.id}", "name": "listed", "status": "ACTIVE"}
            },
        },
    }
    data.update(changes)
    return Fixture(path=REPO_ROOT / "fixtures" / "v2" / "reuse-example.json", data=data)


@pytest.fixture
def deployments():
    with in_process_deployments() as made:
        yield made


def test_one_deployment_per_world_built_once(deployments):
    _world, first = deployments.for_world(None)
    _world, again = deployments.for_world(None)
    changed_world, other = deployments.for_world({"rate_limits": {"POST": 1}})
    assert first is again and other is not first
    assert changed_world["rate_limits"] == {"POST": 1}


def test_the_next_fixture_meets_the_seeded_database_not_the_last_ones_servers(deployments):
    _world, reusable = deployments.for_world(None)
    assert post_server(reusable.app).status == 202
    reusable.settle()
    assert server_names(reusable.app) == {("s1", "ACTIVE")}
    _world, reset = deployments.for_world(None)
    assert server_names(reset.app) == set()
    # and the quota the first server used is free again: the same create succeeds
    assert post_server(reset.app, "s2").status == 202


def test_the_next_fixture_meets_a_rate_limiter_that_counted_nothing(deployments):
    _world, reusable = deployments.for_world({"rate_limits": {"POST": 1}})
    assert post_server(reusable.app).status == 202
    assert post_server(reusable.app).status == 429
    _world, reset = deployments.for_world({"rate_limits": {"POST": 1}})
    assert post_server(reset.app).status == 202


def test_a_setup_server_is_settled_without_a_sleep(monkeypatch, deployments):
    def no_sleep(seconds):
        raise AssertionError("the in-process run slept %ss" % seconds)

    monkeypatch.setattr("refnova.conformance.setup.time.sleep", no_sleep)
    for _ in range(3):
        result = run_in_process(fixture(), deployments=deployments)
        assert result.outcome == PASS, result.describe()


def test_a_run_of_fixtures_gives_each_its_own_state():
    listing = fixture(
        name="GET /servers after another fixture created one: empty",
        setup=[],
        request={"method": "GET", "path": "/v2/{project_id}/servers"},
        expect={"status": 200, "body": {"servers": []}, "exact_body": True},
    )
    results = run_all_in_process([fixture(), listing, fixture(), listing])
    assert [result.outcome for result in results] == [PASS] * 4, [
        result.describe() for result in results
    ]


def test_only_an_in_memory_database_can_be_reset(tmp_path):
    settings = Settings(db_url="sqlite:///%s" % (tmp_path / "file.db"), transport_url="memory://")
    with Deployment(settings, world=WORLD) as deployment:
        with pytest.raises(ValueError, match="in-memory SQLite"):
            ReusableDeployment(deployment)


def test_closing_the_deployments_stops_their_conductors():
    made = Deployments(reference_deployment, load_reference_world)
    _world, reusable = made.for_world(None)
    conductor = reusable.deployment.conductor
    made.close()
    assert not conductor._thread.is_alive()


def test_a_reset_drops_the_casts_the_last_fixture_left_queued(deployments):
    _world, reusable = deployments.for_world(None)
    reusable.deployment.conductor.stop()  # nobody consumes: the cast stays queued
    reusable.settle = lambda: None
    assert post_server(reusable.app).status == 202
    queue = reusable._casts
    assert queue.queue_declare(passive=True).message_count == 1
    reusable.reset()
    assert queue.queue_declare(passive=True).message_count == 0


def test_a_fixture_s_own_get_shows_what_the_conductor_made_of_the_casts_before_it(deployments):
    """The setup asks return_reservation_id (no server id: nothing to settle); the fixture's
    own GET still finds the server built, as the conductor is waited for first."""
    unsettled = copy.deepcopy(CREATE)
    unsettled["body"]["server"]["return_reservation_id"] = True
    listing = fixture(
        setup=[unsettled],
        request={"method": "GET", "path": "/v2/{project_id}/servers/detail"},
        expect={"status": 200, "body": {"servers": [{"name": "listed", "status": "ACTIVE"}]}},
    )
    _world, reusable = deployments.for_world(None)
    (manager,) = reusable.deployment.conductor.dispatcher.endpoints
    build = manager.build_instances

    def late_build(*args, **kwargs):
        time.sleep(0.3)  # a conductor that comes late: a GET not waiting for it sees BUILD
        return build(*args, **kwargs)

    manager.build_instances = late_build
    result = run_in_process(listing, deployments=deployments)
    assert result.outcome == PASS, result.describe()
