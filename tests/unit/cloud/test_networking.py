"""/networking: Neutron's v2.0 list and show over the world's objects, as clients read them."""

import pytest

from .conftest import DEMO_PROJECT, OTHER_PROJECT, Cloud

PRIVATE = "3cb9bc59-5699-4588-a4b1-b87f96708bc6"
OTHER = "9d9c1c6a-6c48-4a0b-9b0e-8b2f6c2b8a11"
NOAUTH = "demo:%s" % DEMO_PROJECT


def ids(response, key):
    return [obj["id"] for obj in response.json[key]]


def test_discovery_needs_no_token(cloud):
    response = cloud.get("/networking")
    assert response.status_int == 200
    assert response.json == {
        "versions": [
            {
                "status": "CURRENT",
                "id": "v2.0",
                "links": [{"href": "http://cloud.example:8774/networking/v2.0/", "rel": "self"}],
            }
        ]
    }


def test_the_v2_root_lists_the_collections(cloud):
    response = cloud.get("/networking/v2.0", NOAUTH)
    assert {r["collection"] for r in response.json["resources"]} == {
        "networks",
        "subnets",
        "ports",
        "security_groups",
    }
    assert cloud.get("/networking/v2.0").status_int == 401


def test_a_project_sees_its_network_with_neutron_s_attributes(cloud):
    response = cloud.get("/networking/v2.0/networks", cloud.token())
    assert response.status_int == 200
    (network,) = response.json["networks"]
    assert network["id"] == PRIVATE and network["name"] == "private"
    assert network["tenant_id"] == network["project_id"] == DEMO_PROJECT
    assert network["status"] == "ACTIVE" and network["admin_state_up"] is True
    assert network["router:external"] is False and network["subnets"] == [
        "f8a6e8f8-c2ec-497c-9f23-da9616de54ef"
    ]
    assert {
        "mtu",
        "availability_zones",
        "port_security_enabled",
        "revision_number",
        "created_at",
    } <= set(network)


def test_an_admin_sees_every_network_and_a_shared_one_is_seen_by_all(cloud):
    assert sorted(
        ids(cloud.get("/networking/v2.0/networks", cloud.token("admin")), "networks")
    ) == sorted([PRIVATE, OTHER])
    world = dict(cloud.world)
    world["networks"] = [dict(n, shared=(n["id"] == OTHER)) for n in world["networks"]]
    shared = Cloud(world=world)
    assert sorted(ids(shared.get("/networking/v2.0/networks", NOAUTH), "networks")) == sorted(
        [PRIVATE, OTHER]
    )
    assert len(shared.get("/networking/v2.0/subnets", NOAUTH).json["subnets"]) == 2


def test_another_project_s_network_is_not_found_in_neutron_s_body(cloud):
    response = cloud.get("/networking/v2.0/networks/%s" % OTHER, NOAUTH)
    assert response.status_int == 404
    assert response.json == {
        "NeutronError": {
            "type": "NetworkNotFound",
            "message": "Network %s could not be found." % OTHER,
            "detail": "",
        }
    }
    shown = cloud.get("/networking/v2.0/networks/%s" % PRIVATE, NOAUTH)
    assert shown.json["network"]["name"] == "private"


@pytest.mark.parametrize(
    "query, expected",
    [
        ("name=private", [PRIVATE]),
        ("name=other-private", []),
        ("id=%s" % PRIVATE, [PRIVATE]),
        ("id=%s&id=%s" % (PRIVATE, OTHER), [PRIVATE]),
        ("tenant_id=%s" % DEMO_PROJECT, [PRIVATE]),
        ("project_id=%s" % OTHER_PROJECT, []),
        ("shared=false", [PRIVATE]),
        ("shared=True", []),
    ],
)
def test_network_filters(cloud, query, expected):
    assert ids(cloud.get("/networking/v2.0/networks?" + query, NOAUTH), "networks") == expected


def test_an_unknown_filter_is_neutron_s_400(cloud):
    response = cloud.get("/networking/v2.0/networks?flavour=x", NOAUTH)
    assert response.status_int == 400
    assert response.json["NeutronError"] == {
        "type": "HTTPBadRequest",
        "message": "[flavour] is invalid attribute for filtering",
        "detail": "",
    }


def test_subnets_of_the_project(cloud):
    response = cloud.get("/networking/v2.0/subnets?network_id=%s" % PRIVATE, NOAUTH)
    (subnet,) = response.json["subnets"]
    assert subnet["cidr"] == "192.168.1.0/24" and subnet["ip_version"] == 4
    assert subnet["enable_dhcp"] is True and subnet["gateway_ip"] == "192.168.1.1"
    assert (
        cloud.get("/networking/v2.0/subnets/2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d", NOAUTH).json[
            "NeutronError"
        ]["type"]
        == "SubnetNotFound"
    )


def test_ports_with_status_and_fields(cloud):
    response = cloud.get("/networking/v2.0/ports?device_id=&fields=id&fields=status", NOAUTH)
    assert response.json["ports"] == [
        {"id": "ce531f90-199f-48c0-816c-13e38010b442", "status": "DOWN"},
        {"id": "5e4b2a8c-1d3f-4b6a-8e9c-0f1a2b3c4d5e", "status": "DOWN"},
    ]
    bound = cloud.get("/networking/v2.0/ports/88c6e0f6-5a79-4d4e-9a55-2a1c1d0e7b3a", NOAUTH)
    assert bound.json["port"]["status"] == "ACTIVE"
    assert bound.json["port"]["device_owner"] == "compute:nova"


def test_security_groups_with_their_default_egress_rules(cloud):
    response = cloud.get("/networking/v2.0/security-groups?name=web", NOAUTH)
    (group,) = response.json["security_groups"]
    rules = group["security_group_rules"]
    assert [(r["direction"], r["ethertype"]) for r in rules] == [
        ("egress", "IPv4"),
        ("egress", "IPv6"),
    ]
    assert {r["security_group_id"] for r in rules} == {group["id"]}
    assert (
        len(cloud.get("/networking/v2.0/security-groups?name=dup", NOAUTH).json["security_groups"])
        == 2
    )
    missing = cloud.get("/networking/v2.0/security-groups/nope", NOAUTH)
    assert missing.json["NeutronError"]["message"] == "Security group nope does not exist"


def test_pages_by_id_with_next_and_previous_links(cloud):
    first = cloud.get("/networking/v2.0/ports?limit=2", NOAUTH)
    listed = ids(first, "ports")
    assert listed == sorted(listed) and len(listed) == 2
    (following,) = first.json["ports_links"]
    assert following["rel"] == "next"
    assert following["href"] == (
        "http://cloud.example:8774/networking/v2.0/ports?limit=2&marker=" + listed[-1]
    )
    second = cloud.get(following["href"].split("8774", 1)[1], NOAUTH)
    assert len(second.json["ports"]) == 1
    assert [link["rel"] for link in second.json["ports_links"]] == ["previous"]
    assert cloud.get("/networking/v2.0/ports?limit=x", NOAUTH).status_int == 400
    assert cloud.get("/networking/v2.0/ports?marker=nope", NOAUTH).status_int == 404


def test_an_unknown_collection_is_404(cloud):
    assert cloud.get("/networking/v2.0/routers", NOAUTH).status_int == 404
