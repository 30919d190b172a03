"""/v2's flavor sort after a marker whose key is NULL (refnova/db/resources.py
``flavor_get_all``, ``null_marker_keeps_key``).

Icehouse's ``_get_flavors`` handed ``sort_key`` and ``sort_dir`` to oslo's ``paginate_query``,
which bounded the page by ``key > marker_key OR (key = marker_key AND id > marker_id)`` as
SQL: with a NULL marker key the first half is never true and the second is ``key IS NULL``,
so only NULL keys past the marker's id follow it. Today's oslo.db skips a NULL marker key
and bounds the id alone (fixtures/v2.1 Y82, Y83, Y86). The world's flavors all have a NULL
``vcpu_weight``, so this world, with some set, is too heavy a difference for a fixture.
"""

import pytest
from sqlalchemy import update

from refnova.db import models
from tests.support.deployment import Client, make_deployment

WEIGHTS = {"a": None, "b": 7, "c": None, "d": 2}  # flavorid -> vcpu_weight, in id order


@pytest.fixture(scope="module")
def client():
    flavors = [
        {"flavorid": flavorid, "name": "w-" + flavorid, "memory_mb": 512, "vcpus": 1, "root_gb": 1}
        for flavorid in WEIGHTS
    ]
    with make_deployment({"flavors": flavors}) as deployment:
        with deployment.db.writing() as connection:  # the world file has no vcpu_weight
            for flavorid, weight in WEIGHTS.items():
                connection.execute(
                    update(models.Flavor)
                    .where(models.Flavor.flavorid == flavorid)
                    .values(vcpu_weight=weight)
                )
        yield Client(deployment)


def listed(client, prefix, query):
    response = client.request("GET", prefix.format(project_id=client.project_id) + query)
    assert response.status_int == 200
    return [flavor["id"] for flavor in response.json["flavors"]]


@pytest.mark.parametrize("prefix", ["/v2/{project_id}", "/v2.1"])
def test_null_keys_sort_first_ascending_on_both_contracts(client, prefix):
    assert listed(client, prefix, "/flavors?sort_key=vcpu_weight") == ["a", "c", "d", "b"]


def test_on_v2_only_null_keys_past_its_id_follow_a_null_marker(client):
    assert listed(client, "/v2/{project_id}", "/flavors?sort_key=vcpu_weight&marker=a") == ["c"]


def test_on_v21_every_flavor_past_its_id_follows_a_null_marker(client):
    assert listed(client, "/v2.1", "/flavors?sort_key=vcpu_weight&marker=a") == ["c", "d", "b"]


@pytest.mark.parametrize("prefix", ["/v2/{project_id}", "/v2.1"])
def test_a_marker_with_a_key_is_followed_by_greater_keys_on_both(client, prefix):
    assert listed(client, prefix, "/flavors?sort_key=vcpu_weight&marker=d") == ["b"]
