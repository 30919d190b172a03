"""Behaviours on PostgreSQL, with two API processes sharing the database: the world file's
behaviours registered once, a sequence's steps shared (one step per request, whichever
process takes it), and a behaviour registered on one process acting on the other."""

import json

import requests

from tests.support.cluster import run_threads, write_world

ADMIN = {"X-Auth-Token": "admin:admin", "Content-Type": "application/json"}
SEQUENCE = {
    "id": "fail-twice",
    "name": "sequence",
    "parameters": {"behaviours": [{"name": "fail"}, {"name": "fail"}, {"name": "default"}]},
    "criteria": {"server_name": "^seq$"},
}


def listed(api):
    answer = requests.get(api.base + "/refnova/v1/behaviours", headers=ADMIN, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["behaviours"]


def test_two_api_processes_share_behaviours_on_postgresql(cluster, pg_url, tmp_path):
    world = write_world(tmp_path / "world.json", {"behaviours": [SEQUENCE]})
    first = cluster.api(pg_url, "memory://", world=world, name="api-1")
    second = cluster.api(pg_url, "memory://", world=world, name="api-2")

    assert listed(first) == listed(second) == [SEQUENCE]
    statuses = [api.create(name="seq").status_code for api in (first, second, first, second)]
    assert statuses == [500, 500, 202, 202]

    registered = requests.post(
        second.base + "/refnova/v1/behaviours",
        data=json.dumps({"name": "quota", "criteria": {"server_name": "^full$"}}),
        headers=ADMIN,
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    answer = first.create(name="full")
    assert answer.status_code == 413
    assert answer.json()["overLimit"]["message"] == (
        "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances"
    )


def test_a_sequences_steps_are_taken_once_each_under_concurrency(cluster, pg_url, tmp_path):
    steps = [{"name": "fail", "parameters": {"code": 400 + n}} for n in range(12)]
    behaviour = {"name": "sequence", "parameters": {"behaviours": steps}}
    world = write_world(
        tmp_path / "world.json",
        {
            "behaviours": [behaviour],
            "quotas": {"instances": -1, "cores": -1, "ram": -1},
            "rate_limits": {"POST": -1},
        },
    )
    apis = [cluster.api(pg_url, "memory://", world=world, name="api-%d" % n) for n in (1, 2)]
    codes = run_threads(12, lambda index: apis[index % 2].create(name="c%d" % index).status_code)
    assert sorted(codes) == list(range(400, 412))
