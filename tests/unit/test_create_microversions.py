"""POST /v2.1/servers above 2.1: the schema and the checks of each microversion range, the
maximum a deployment announces, and what the compute API keeps of the new fields.

The answers themselves are pinned by the V fixtures (recorded from Nova 34.0.0); these
tests pin refnova's own structure: one schema per Nova range, the steps chosen by range, and
the switch that raises the announced maximum.
"""

import pytest
from sqlalchemy import select

from refnova.api.openstack import contracts, microversions, versions
from refnova.api.openstack.compute.schemas import create_versions
from refnova.config import Settings
from refnova.db import instance_extras, models
from tests.support.deployment import Client, make_deployment

V = microversions.APIVersion.parse

# Nova 34.0.0's @validation.schema ranges of ServersController.create (from 2.1 on).
NOVA_RANGES = [
    ("2.1", "2.18"),
    ("2.19", "2.31"),
    ("2.32", "2.32"),
    ("2.33", "2.36"),
    ("2.37", "2.41"),
    ("2.42", "2.51"),
    ("2.52", "2.56"),
    ("2.57", "2.62"),
    ("2.63", "2.66"),
    ("2.67", "2.73"),
    ("2.74", "2.89"),
    ("2.90", "2.93"),
    ("2.94", "2.104"),
]


def server_properties(version):
    return create_versions.schema_for(V(version))["properties"]["server"]["properties"]


@pytest.mark.parametrize("first, last", NOVA_RANGES)
def test_each_of_nova_s_ranges_has_one_schema(first, last):
    assert create_versions.range_start(V(first)) == first
    assert create_versions.range_start(V(last)) == first
    assert create_versions.schema_for(V(first)) is create_versions.schema_for(V(last))


@pytest.mark.parametrize(
    "field, first, until",
    [
        ("description", "2.19", None),
        ("tags", "2.52", None),
        ("trusted_image_certificates", "2.63", None),
        ("host", "2.74", None),
        ("hypervisor_hostname", "2.74", None),
        ("hostname", "2.90", None),
        ("personality", "2.1", "2.56"),
    ],
)
def test_a_field_is_in_the_schema_exactly_in_its_range(field, first, until):
    for minor in range(1, 105):
        version = "2.%d" % minor
        inside = V(first) <= V(version) and (until is None or V(version) <= V(until))
        assert (field in server_properties(version)) == inside, version


def test_networks_are_required_from_2_37_with_auto_or_none():
    assert "networks" not in create_versions.schema_for(V("2.36"))["properties"]["server"].get(
        "required", []
    )
    server = create_versions.schema_for(V("2.37"))["properties"]["server"]
    assert "networks" in server["required"]
    assert {"type": "string", "enum": ["none", "auto"]} in server["properties"]["networks"]["oneOf"]


def test_the_2_1_schema_is_left_as_it_was():
    assert "networks" not in create_versions.schemas()["2.1"]["properties"]["server"]["required"]
    assert "description" not in server_properties("2.18")


def test_steps_with_a_range_run_only_inside_it():
    names_at = {
        version: [step.name for step in contracts.V2_1.steps_at(V(version))]
        for version in ("2.1", "2.19", "2.52", "2.90")
    }
    assert names_at["2.1"].count("display_description") == 1
    assert "hostname" not in names_at["2.52"] and "hostname" in names_at["2.90"]
    assert "tags" not in names_at["2.19"] and "tags" in names_at["2.52"]
    assert "requested_destination" in names_at["2.90"]


# --- the announced maximum ---------------------------------------------------------------------


def test_a_deployment_announces_2_104_unless_told_otherwise():
    assert contracts.V21_ANNOUNCED_MAX == contracts.V2_1.max_version == "2.104"
    assert contracts.V21_ANNOUNCED_MAX == contracts.V21_IMPLEMENTED_MAX
    assert contracts.with_max_microversion(None) is contracts.CONTRACTS
    lowered = contracts.with_max_microversion("2.1")
    assert [c.name for c in lowered] == ["v2.1", "v2"]
    assert lowered[0].max_version == "2.1" and lowered[0].min_version == "2.1"


@pytest.mark.parametrize("maximum", ["2.105", "2.0", "3.1", "2.x"])
def test_a_maximum_refnova_does_not_serve_is_refused(maximum):
    with pytest.raises(ValueError):
        contracts.with_max_microversion(maximum)


def test_the_maximum_is_a_setting(monkeypatch):
    monkeypatch.setenv("REFNOVA_MAX_MICROVERSION", "2.52")
    assert Settings.from_env().max_microversion == "2.52"


@pytest.fixture(scope="module")
def raised():
    unlimited = {"quotas": {"instances": -1, "cores": -1, "ram": -1}}
    deployment = make_deployment(unlimited, max_microversion=contracts.V21_IMPLEMENTED_MAX)
    yield Client(deployment)
    deployment.close()


def create(client, version, **server):
    body = {
        "server": {
            "name": "vm",
            "imageRef": client.defaults["image_id"],
            "flavorRef": client.defaults["flavor_id"],
            **server,
        }
    }
    headers = {"OpenStack-API-Version": "compute " + version}
    return client.request("POST", "/v2.1/servers", body, headers=headers)


def test_a_raised_deployment_announces_and_negotiates_2_104(raised):
    listed = raised.request("GET", "/").json["versions"]
    assert [v["version"] for v in listed if v["id"] == "v2.1"] == ["2.104"]
    assert raised.request("GET", "/v2.1/").json["version"]["version"] == "2.104"
    assert versions.VERSIONS["v2.1"]["version"] == "2.104"  # the module's default
    answer = create(raised, "latest", networks="auto")
    assert answer.status_int == 202
    assert answer.headers["OpenStack-API-Version"] == "compute 2.104"
    assert answer.headers["X-OpenStack-Nova-API-Version"] == "2.104"
    refused = create(raised, "2.105")
    assert refused.status_int == 406
    assert refused.json["computeFault"]["message"].endswith("maximum is 2.104.")


def test_every_microversion_creates_with_the_same_202_keys(raised):
    for minor in range(1, 105):
        version = "2.%d" % minor
        extra = {"networks": "auto"} if minor >= 37 else {}
        answer = create(raised, version, **extra)
        assert answer.status_int == 202, (version, answer.body)
        assert answer.headers["OpenStack-API-Version"] == "compute " + version
        assert sorted(answer.json["server"]) == [
            "OS-DCF:diskConfig",
            "adminPass",
            "id",
            "links",
            "security_groups",
        ]


def instance_row(client, server_id):
    with client.deployment.db.transaction() as session:
        return session.scalars(
            select(models.Instance).where(models.Instance.uuid == server_id)
        ).one()


def test_description_and_hostname_are_kept_as_nova_keeps_them(raised):
    before = create(raised, "2.18", name="named")
    assert instance_row(raised, before.json["server"]["id"]).display_description == "named"
    described = create(raised, "2.19", name="named", description="words")
    assert instance_row(raised, described.json["server"]["id"]).display_description == "words"
    undescribed = create(raised, "2.19", name="named")
    assert instance_row(raised, undescribed.json["server"]["id"]).display_description is None
    named = create(raised, "2.94", networks="none", hostname="guest.example.com")
    assert instance_row(raised, named.json["server"]["id"]).hostname == "guest.example.com"


def test_tags_and_trusted_certificates_are_stored_as_nova_stores_them(raised):
    tagged = create(raised, "2.52", networks="auto", tags=["b", "a", "b"])
    plain = create(raised, "2.63", networks="auto")
    trusted = create(raised, "2.63", networks="auto", trusted_image_certificates=["c1", "c2"])
    with raised.deployment.db.transaction() as session:
        assert instance_extras.tags_of(session, tagged.json["server"]["id"]) == ["a", "b"]
        assert instance_extras.tags_of(session, plain.json["server"]["id"]) == []
        assert instance_extras.trusted_certs_of(session, plain.json["server"]["id"]) is None
        certs = instance_extras.trusted_certs_of(session, trusted.json["server"]["id"])
        assert certs == ["c1", "c2"]
