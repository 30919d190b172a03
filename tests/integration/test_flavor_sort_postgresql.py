"""The flavor listing's NULL sort keys on PostgreSQL, whose default puts NULLs last ascending:
refnova says the order outright, so the /v2.1 fixtures recorded from Nova 34.0.0 on SQLite
(Y81-Y86: a NULL description first ascending, last descending, a NULL marker key bounding
only the id) list the same flavors in the same order here."""

import pytest

from refnova.conformance.fixtures import default_fixture_dir, fixture_paths, load_fixture
from tests.support.deployment import Client, make_deployment

FIXTURES = [
    load_fixture(path)
    for path in fixture_paths(default_fixture_dir("v2.1"))
    if path.name[:3] in {"Y81", "Y82", "Y83", "Y84", "Y85", "Y86"}
]


@pytest.fixture
def client(pg_url):
    with make_deployment({"flavors": FIXTURES[0].world["flavors"]}, db_url=pg_url) as deployment:
        yield Client(deployment)


def test_the_null_key_fixtures_list_the_same_flavors_on_postgresql(client):
    assert len(FIXTURES) == 6
    for fixture in FIXTURES:
        assert fixture.world["flavors"] == FIXTURES[0].world["flavors"]
        headers = {"OpenStack-API-Version": "compute " + fixture.microversion}
        answer = client.request("GET", fixture.request["path"], headers=headers)
        listed = [flavor["id"] for flavor in answer.json["flavors"]]
        expected = [flavor["id"] for flavor in fixture.expect["body"]["flavors"]]
        assert listed == expected, fixture.id
