"""The two contracts side by side: /v2 (Icehouse) and /v2.1 (today), over one compute API.

The golden fixtures (tests/conformance/test_fixtures_v21.py) pin one request each; these
tests pin what takes more than one request or looks at refnova's own data: microversion
headers on each contract, the declared range, the shared database and quota, the GET body,
and that /v2.1's error table is /v2's with the listed changes.
"""

import json
import re

import pytest

from refnova import exception
from refnova.api.openstack import contracts, microversions, versions
from refnova.api.openstack.compute import errors
from refnova.api.openstack.compute.schemas import servers as schemas
from refnova.conformance.fixtures import REPO_ROOT
from tests.support.deployment import Client, make_deployment

RECORDED_SHOW = json.loads(
    (REPO_ROOT / "tests" / "data" / "nova-34.0.0-v2.1-show.json").read_text()
)
V21_VERSION_HEADERS = ("OpenStack-API-Version", "X-OpenStack-Nova-API-Version", "Vary")


class Client21(Client):
    """The conftest client, creating on /v2.1 unless told another path."""

    def create21(self, server=None, path="/v2.1/servers", headers=None, **top_level):
        return self.create(server, path=path, headers=headers, **top_level)


@pytest.fixture
def client21(deployment):
    return Client21(deployment)


def microversion(version):
    return {
        "OpenStack-API-Version": "compute %s" % version,
        "X-OpenStack-Nova-API-Version": version,
    }


def above_maximum():
    maximum = contracts.V2_1.versions.maximum
    return "%d.%d" % (maximum.major, maximum.minor + 1)


# --- microversions on each contract -----------------------------------------------------------


@pytest.mark.parametrize("version", ["2.999", "latest", "2.x", "2.1"])
def test_a_microversion_header_on_v2_is_ignored(client21, version):
    plain = client21.create()
    with_header = client21.request(
        "POST",
        "/v2/%s/servers" % client21.project_id,
        {"server": {"name": "vm", "imageRef": client21.defaults["image_id"], "flavorRef": "1"}},
        headers=microversion(version),
    )
    assert plain.status_int == with_header.status_int == 202
    assert sorted(with_header.json["server"]) == sorted(plain.json["server"])
    for name in V21_VERSION_HEADERS:
        assert name not in with_header.headers and name not in plain.headers


def test_a_microversion_header_on_v2_does_not_change_a_v2_fault(client21):
    answer = client21.request(
        "POST", "/v2/%s/servers" % client21.project_id, {}, headers=microversion("2.999")
    )
    assert answer.status_int == 422  # Icehouse's C1, not a 406
    assert "OpenStack-API-Version" not in answer.headers


def test_v21_above_the_declared_maximum_is_nova_s_406(client21):
    version = above_maximum()
    answer = client21.create21(headers=microversion(version))
    assert answer.status_int == 406
    assert answer.json == {
        "computeFault": {
            "code": 406,
            "message": (
                "Version %s is not supported by the API. Minimum is 2.1 and maximum is %s."
                % (version, contracts.V2_1.max_version)
            ),
        }
    }
    assert answer.headers["OpenStack-API-Version"] == "compute " + version
    assert answer.headers["X-OpenStack-Nova-API-Version"] == version
    assert client21.request("GET", "/v2/%s/servers" % client21.project_id).json["servers"] == []


def test_every_declared_microversion_is_served_and_none_beyond(client21):
    declared = contracts.V2_1.versions
    assert (str(declared.minimum), str(declared.maximum)) == ("2.1", "2.104")
    for minor in range(declared.minimum.minor, declared.maximum.minor + 1):
        version = "2.%d" % minor
        answer = client21.request("GET", "/v2.1/flavors/1", headers=microversion(version))
        assert answer.status_int == 200, version
        assert answer.headers["OpenStack-API-Version"] == "compute " + version
    # A create at the highest (2.37 on, the networks are required).
    created = client21.create21({"networks": "auto"}, headers=microversion("2.104"))
    assert created.status_int == 202
    assert client21.create21(headers=microversion(above_maximum())).status_int == 406


def test_the_version_documents_declare_the_contract_s_range(client21, deployment):
    listed = client21.request("GET", "/").json["versions"]
    v21 = [entry for entry in listed if entry["id"] == "v2.1"]
    assert v21 and v21[0]["min_version"] == contracts.V2_1.min_version
    assert v21[0]["version"] == contracts.V2_1.max_version
    v2 = [entry for entry in listed if entry["id"] == "v2.0"][0]
    assert "version" not in v2 and "min_version" not in v2  # Icehouse's entry is unchanged
    document = client21.request("GET", "/v2.1/")
    assert document.json["version"]["version"] == contracts.V2_1.max_version == "2.104"
    assert document.json["version"]["min_version"] == "2.1"
    assert document.headers["OpenStack-API-Version"] == "compute 2.1"
    assert versions.VERSIONS["v2.1"]["version"] == str(contracts.V2_1.versions.maximum)


def test_latest_is_refnova_s_own_maximum(client21):
    answer = client21.create21({"networks": "auto"}, headers=microversion("latest"))
    assert answer.status_int == 202
    assert answer.headers["OpenStack-API-Version"] == "compute %s" % contracts.V2_1.max_version


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({}, None),
        ({"OpenStack-API-Version": "compute 2.5"}, "2.5"),
        ({"OpenStack-API-Version": "volume 3.0, compute 2.3, compute 2.4"}, "2.4"),
        ({"OpenStack-API-Version": "volume 3.0", "X-OpenStack-Nova-API-Version": "2.7"}, "2.7"),
        ({"OpenStack-API-Version": "COMPUTE 2.2"}, "2.2"),
        ({"X-OpenStack-Nova-API-Version": "2.1, 2.9"}, "2.9"),
    ],
)
def test_the_requested_version_is_read_as_microversion_parse_reads_it(headers, expected):
    assert microversions.requested_version(headers) == expected


# --- one compute API, one database ----------------------------------------------------------


def test_both_contracts_share_the_database_and_the_quota():
    with make_deployment({"quotas": {"instances": 2}}) as deployment:
        client = Client21(deployment)
        old = client.create().json["server"]["id"]
        new = client.create21().json["server"]["id"]
        listed = {
            s["id"]
            for s in client.request("GET", "/v2/%s/servers" % client.project_id).json["servers"]
        }
        assert listed == {old, new}
        assert client.request("GET", "/v2.1/servers/%s" % old).status_int == 200
        assert (
            client.request("GET", "/v2/%s/servers/%s" % (client.project_id, new)).status_int == 200
        )
        # The third server is over quota on both contracts, each in its own words.
        v2 = client.create()
        v21 = client.create21()
        assert (v2.status_int, v2.headers["Retry-After"]) == (413, "0")
        assert v21.status_int == 403 and "Retry-After" not in v21.headers
        message = "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances"
        assert v2.json["overLimit"]["message"] == v21.json["forbidden"]["message"] == message


def test_a_network_requested_twice_is_rejected_on_v2_and_attached_twice_on_v21(client21):
    networks = [{"uuid": client21.defaults["network_id"]}] * 2
    v2 = client21.create({"networks": networks})
    assert v2.status_int == 400
    assert "is duplicated" in v2.json["badRequest"]["message"]
    v21 = client21.create21({"networks": networks})
    assert v21.status_int == 202
    server = client21.wait_for_status(v21.json["server"]["id"], path="/v2.1/servers/%s")
    assert server["status"] == "ACTIVE"
    assert [len(addresses) for addresses in server["addresses"].values()] == [2]


def test_a_fixed_ip_for_several_instances_is_refused_only_on_v21(client21):
    networks = [{"uuid": client21.defaults["network_id"], "fixed_ip": "10.0.0.9"}]
    assert client21.create({"networks": networks, "max_count": 2}).status_int == 202
    refused = client21.create21({"networks": networks, "max_count": 2})
    assert refused.status_int == 400
    assert refused.json["badRequest"]["message"] == (
        "Failed to launch instances: max_count cannot be greater than 1 if an fixed_ip is "
        "specified."
    )


def test_the_rate_limiter_is_icehouse_s_only():
    with make_deployment({"rate_limits": {"POST": 1}}) as deployment:
        client = Client21(deployment)
        assert [client.create21().status_int for _ in range(3)] == [202, 202, 202]
        assert [client.create().status_int for _ in range(2)] == [202, 429]


# --- the answers' shapes -----------------------------------------------------------------------


def test_the_202_body_holds_exactly_the_keys_nova_s_response_schema_allows(client21):
    answer = client21.create21()
    assert tuple(sorted(answer.json["server"])) == tuple(sorted(schemas.CREATE_RESPONSE_KEYS))
    assert answer.headers["Location"] == answer.json["server"]["links"][0]["href"]
    assert re.fullmatch(r"http://localhost/v2\.1/servers/[0-9a-f-]{36}", answer.headers["Location"])
    assert client21.create21({"return_reservation_id": True}).json.keys() == {"reservation_id"}


@pytest.mark.parametrize("path", ["/v2.1/servers/%s", "/v2.1/{project_id}/servers/%s"])
def test_show_under_v21_has_the_keys_and_formats_nova_34_answered_with(client21, path):
    path = path.replace("{project_id}", client21.project_id)
    created = client21.create21(path="/v2.1/%s/servers" % client21.project_id)
    server = client21.wait_for_status(created.json["server"]["id"], path=path)
    recorded = RECORDED_SHOW["body"]["server"]
    assert sorted(server) == sorted(recorded)
    assert {key: type(value) for key, value in server.items()} == {
        key: type(value) for key, value in recorded.items()
    }
    # oslo.serialization's datetime: microseconds, no zone (Nova's '2026-11-26T12:51:41.965099')
    shape = re.sub(r"\d", "9", recorded["OS-SRV-USG:launched_at"])
    assert re.sub(r"\d", "9", server["OS-SRV-USG:launched_at"]) == shape
    assert server["links"][0]["href"] == "http://localhost" + path % server["id"]


def test_show_of_no_server_says_which_on_v21_and_not_on_v2(client21):
    missing = "11111111-2222-3333-4444-555555555555"
    v21 = client21.request("GET", "/v2.1/servers/%s" % missing)
    v2 = client21.request("GET", "/v2/%s/servers/%s" % (client21.project_id, missing))
    assert v21.json["itemNotFound"]["message"] == "Instance %s could not be found." % missing
    assert v2.json["itemNotFound"]["message"] == "Instance could not be found"


# --- the contracts as data ---------------------------------------------------------------------


def test_routes_pick_their_contract_by_prefix():
    assert contracts.for_path("/v2.1/servers") is contracts.V2_1
    assert contracts.for_path("/v2.1/{project_id}/servers/{server_id}") is contracts.V2_1
    assert contracts.for_path("/v2.1") is contracts.V2_1
    assert contracts.for_path("/v2/{project_id}/servers") is contracts.V2
    assert contracts.for_path("/v1.1/{project_id}/servers") is contracts.V2
    assert contracts.for_path("/v2.10/servers") is contracts.V2


def test_the_v21_error_table_is_v2_s_with_the_listed_changes():
    v2_rows = {rule.classes[0]: rule for rule in errors.V2_ERRORS}
    v21_rows = {rule.classes[0]: rule for rule in errors.V21_ERRORS}
    assert list(v2_rows) == list(v21_rows)  # same rows, same order
    changed = {change.first_class for change in errors.V21_CHANGES}
    for cls, row in v2_rows.items():
        if cls not in changed:
            assert v21_rows[cls] == row, cls
    quota = v21_rows[exception.QuotaError]
    assert quota.status == 403 and quota.retry_after is False
    assert exception.NetworkAmbiguous in v21_rows[exception.PortInUse].classes
    assert exception.InstanceGroupNotFound in v21_rows[exception.ImageNotActive].classes


@pytest.mark.parametrize(
    "error, status, message",
    [
        (
            exception.OnsetFilePathLimitExceeded(allowed=255),
            403,
            "Personality file path exceeds maximum 255",
        ),
        (
            exception.FlavorDiskTooSmall(flavor_size=1073741824, image_size=2147483648),
            400,
            "Flavor's disk is too small for requested image. Flavor disk is 1073741824 bytes, "
            "image is 2147483648 bytes.",
        ),
        (
            exception.PolicyNotAuthorized(action="compute:create:attach_volume"),
            403,
            "Policy doesn't allow os_compute_api:servers:create:attach_volume to be performed.",
        ),
        (
            exception.NetworkAmbiguous(
                "Multiple possible networks found, use a Network ID to be more specific."
            ),
            409,
            None,
        ),
        (
            exception.InstanceGroupNotFound(group_uuid="g"),
            400,
            "Instance group g could not be found.",
        ),
    ],
)
def test_v21_table_rows(error, status, message):
    answer = errors.to_api_error(error, errors.V21_ERRORS)
    assert answer.status == status
    assert answer.message == (message or error.format_message())
    assert "Retry-After" not in answer.headers


def test_the_v2_table_still_answers_as_icehouse():
    answer = errors.to_api_error(exception.OnsetFilePathLimitExceeded(allowed=255))
    assert (answer.status, answer.message, answer.headers) == (
        413,
        "Personality file path too long",
        {"Retry-After": "0"},
    )
    disk = errors.to_api_error(exception.FlavorDiskTooSmall(flavor_size=1, image_size=2))
    assert disk.message == "Flavor's disk is too small for requested image."
