"""The flavor listing's page size on a world of more flavors than the max limit (1001, too
heavy for a fixture) (refnova/api/openstack/compute/flavors.py, refnova/api/openstack/common.py).

/v2.1 caps a page at Nova's ``[api] max_limit`` (1000), limit given or not, with a next link.
Icehouse's ``_get_flavors`` had no cap: it handed ``limit`` as given to the query's LIMIT, and
its view builder (``_get_collection_links``) linked a next page only when a limit was given
and the page was that long.
"""

import pytest

from tests.support.deployment import Client, make_deployment

MAX_LIMIT = 1000
COUNT = MAX_LIMIT + 1


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
    with make_deployment({"flavors": many_flavors(COUNT)}) as deployment:
        yield Client(deployment)


def listing(client, prefix, query=""):
    response = client.request("GET", prefix.format(project_id=client.project_id) + query)
    assert response.status_int == 200
    return response.json


@pytest.mark.parametrize("collection", ["/flavors", "/flavors/detail"])
@pytest.mark.parametrize("query", ["", "?limit=5000", "?limit=99999999999999999999"])
def test_v2_lists_every_flavor_without_a_next_link(client, collection, query):
    body = listing(client, "/v2/{project_id}" + collection, query)
    ids = [flavor["id"] for flavor in body["flavors"]]
    assert len(ids) == COUNT and ids[-1] == "f1001"
    assert "flavors_links" not in body


@pytest.mark.parametrize("collection", ["/flavors", "/flavors/detail"])
def test_v2_links_a_next_page_when_the_limit_is_the_page_length(client, collection):
    body = listing(client, "/v2/{project_id}" + collection, "?limit=%d" % COUNT)
    assert len(body["flavors"]) == COUNT
    (link,) = body["flavors_links"]
    assert link["rel"] == "next"
    assert link["href"].endswith("%s?limit=%d&marker=f1001" % (collection, COUNT))


@pytest.mark.parametrize("query", ["", "?limit=5000"])
def test_v21_caps_a_page_at_the_max_limit_with_a_next_link(client, query):
    flavors = listing(client, "/v2.1/flavors", query)
    assert len(flavors["flavors"]) == MAX_LIMIT
    assert flavors["flavors"][-1]["id"] == "f1000"
    (link,) = flavors["flavors_links"]
    assert link["rel"] == "next" and link["href"].endswith("marker=f1000")


@pytest.mark.parametrize("prefix", ["/v2/{project_id}", "/v2.1"])
def test_the_page_after_the_thousandth_holds_the_rest(client, prefix):
    body = listing(client, prefix + "/flavors", "?marker=f1000")
    assert [flavor["id"] for flavor in body["flavors"]] == ["f1001"]
    assert "flavors_links" not in body
