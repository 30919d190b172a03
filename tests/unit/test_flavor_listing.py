"""The flavor listing's page size and its order by a key that may be NULL
(refnova/api/openstack/compute/flavors.py, refnova/db/resources.py).

Icehouse's ``_get_flavors`` read ``limit`` and ``marker`` with ``common.get_limit_and_marker``
(nova/api/openstack/common.py), which caps a page at ``osapi_max_limit`` (1000) whether or not
a limit is given, as today's Nova caps it at ``[api] max_limit``: a world of more flavors than
that (too heavy for a fixture) gets 1000 and a next link on both contracts.
"""

import pytest

from tests.support.deployment import Client, make_deployment

MAX_LIMIT = 1000


def many_flavors(count):
    return [
        {
            "flavorid": "f%04d" % number,
            "name": "many.%04d" % number,
            "memory_mb": 512,
            "vcpus": 1,
            "root_gb": 1,
        }
        for number in range(1, count + 1)
    ]


@pytest.fixture(scope="module")
def client():
    with make_deployment({"flavors": many_flavors(MAX_LIMIT + 1)}) as deployment:
        yield Client(deployment)


def listing(client, prefix, query=""):
    response = client.request("GET", prefix + "/flavors" + query)
    assert response.status_int == 200
    return response.json


@pytest.mark.parametrize("prefix", ["/v2/{project_id}", "/v2.1"])
@pytest.mark.parametrize("query", ["", "?limit=5000"])
def test_a_page_of_flavors_is_never_longer_than_the_max_limit(client, prefix, query):
    body = listing(client, prefix.format(project_id=client.project_id), query)
    flavors = body["flavors"]
    assert len(flavors) == MAX_LIMIT
    assert flavors[-1]["id"] == "f1000"
    (link,) = body["flavors_links"]
    assert link["rel"] == "next" and link["href"].endswith("marker=f1000")


@pytest.mark.parametrize("prefix", ["/v2/{project_id}", "/v2.1"])
def test_the_next_page_holds_the_rest(client, prefix):
    body = listing(client, prefix.format(project_id=client.project_id), "?marker=f1000")
    assert [flavor["id"] for flavor in body["flavors"]] == ["f1001"]
    assert "flavors_links" not in body
