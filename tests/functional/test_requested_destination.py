"""2.74's requested host and node reach the scheduler: the server lands there, and a requested
destination still has to pass the filters (NoValidHost otherwise). A forced host
(``zone:host[:node]``) skips the filters; at /v2.1 placement still claims its resources, as in
Nova 34 (a disabled or full forced host is NoValidHost), at /v2 Icehouse claimed nothing."""

import pytest

from tests.support.deployment import Client, make_deployment

V274 = {"OpenStack-API-Version": "compute 2.74"}
# compute1 and compute2 have the same room and compute1 comes first: without a destination an
# empty deployment's weigher picks compute1, so landing on compute2 is the request's doing.
NOT_THE_DEFAULT = "compute2"


@pytest.fixture
def admin():
    # A fresh deployment each test: the weigher prefers the host with the most free RAM, so
    # servers left by another test would move the default.
    deployment = make_deployment({"quotas": {"instances": -1, "cores": -1, "ram": -1}})
    yield Client(deployment)
    deployment.close()


def create(client, **server):
    server = {"networks": "auto", **server}
    answer = client.create(server, user="admin", path="/v2.1/servers", headers=V274)
    assert answer.status_int == 202, answer.body
    return answer.json["server"]["id"]


def built(client, server_id):
    """The server once built, as an admin sees it at 2.74."""
    client.wait_for_status(server_id, path="/v2.1/servers/%s")
    path = "/v2.1/servers/%s" % server_id
    return client.request("GET", path, headers=V274, user="admin").json["server"]


def placed(server):
    return server["OS-EXT-SRV-ATTR:host"], server["OS-EXT-SRV-ATTR:hypervisor_hostname"]


def test_without_a_destination_the_weigher_picks_compute1(admin):
    assert placed(built(admin, create(admin))) == ("compute1", "compute1")


@pytest.mark.parametrize(
    "destination",
    [
        {"host": NOT_THE_DEFAULT},
        {"hypervisor_hostname": NOT_THE_DEFAULT},
        {"host": NOT_THE_DEFAULT, "hypervisor_hostname": NOT_THE_DEFAULT},
    ],
)
def test_a_requested_host_or_node_is_where_the_server_lands(admin, destination):
    server = built(admin, create(admin, **destination))
    assert server["status"] == "ACTIVE"
    assert placed(server) == (NOT_THE_DEFAULT, NOT_THE_DEFAULT)


def test_a_requested_host_without_room_is_no_valid_host(admin):
    # m1.xlarge (16 GiB) fits compute1 but not compute3 (8 GiB at a ratio of 1.5).
    server = built(admin, create(admin, flavorRef="5", host="compute3"))
    assert server["status"] == "ERROR"
    assert server["fault"]["code"] == 500
    assert server["fault"]["message"] == "No valid host was found. "
    assert placed(server) == (None, None)
    elsewhere = built(admin, create(admin, flavorRef="5"))
    assert elsewhere["status"] == "ACTIVE"


def test_a_requested_disabled_host_fails_the_filters(admin):
    requested = built(admin, create(admin, host="compute4"))
    assert requested["status"] == "ERROR"
    assert requested["fault"]["message"] == "No valid host was found. "


def test_a_forced_host_skips_the_filters_but_not_placement_s_claim(admin):
    forced = built(admin, create(admin, availability_zone="az2:compute3"))
    assert placed(forced) == ("compute3", "compute3")
    # Placement still claims the host's resources: it must be enabled and have room.
    disabled = built(admin, create(admin, availability_zone="az-disabled:compute4"))
    assert disabled["status"] == "ERROR"
    assert disabled["fault"]["message"] == "No valid host was found. "
    full = built(admin, create(admin, flavorRef="5", availability_zone="az2:compute3"))
    assert full["status"] == "ERROR"
    assert full["fault"]["message"] == "No valid host was found. "


def test_icehouse_s_forced_host_skips_everything(admin):
    # /v2: Icehouse returned a forced host without running any filter (and claimed no limits).
    body = {"server": {"name": "vm", "imageRef": admin.defaults["image_id"], "flavorRef": "5"}}
    body["server"]["availability_zone"] = "az-disabled:compute4"
    path = "/v2/%s/servers" % admin.project_id
    answer = admin.request("POST", path, body, user="admin")
    assert answer.status_int == 202, answer.body
    forced = built(admin, answer.json["server"]["id"])
    assert forced["status"] == "ACTIVE"
    assert placed(forced) == ("compute4", "compute4")
