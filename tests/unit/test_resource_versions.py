"""The resources around create at microversions above 2.1, where the recorded fixtures
(fixtures/v2.1 Y*) cannot reach: an x509 key pair (2.2), an admin reading and deleting
another user's key pair (2.10), the next link of a key pair page (2.35), the limits of
another project for an admin, the image proxy at latest, /v2 untouched by any of it, and
the scheduler hints a server shows from 2.100."""

import base64
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from refnova.api.openstack.compute import resource_versions
from refnova.api.openstack.microversions import APIVersion
from refnova.compute import keypairs
from tests.support.deployment import Client, make_deployment

ADMIN = "admin"
OTHER_PROJECT = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"


def at(version):
    return {"OpenStack-API-Version": "compute %s" % version}


@pytest.fixture(scope="module")
def client():
    with make_deployment() as deployment:
        yield Client(deployment)


def self_signed_certificate():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "refnova")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate


def test_an_x509_key_pair_is_imported_with_its_sha1_fingerprint_from_2_2(client):
    certificate = self_signed_certificate()
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    body = {"keypair": {"name": "cert", "type": "x509", "public_key": pem}}
    created = client.request("POST", "/v2.1/os-keypairs", body, headers=at("2.2"))
    assert created.status_int == 201
    expected = certificate.fingerprint(hashes.SHA1()).hex()  # noqa: S303 (Nova's choice)
    assert created.json["keypair"]["type"] == "x509"
    assert created.json["keypair"]["fingerprint"].replace(":", "") == expected
    listed = client.request("GET", "/v2.1/os-keypairs", headers=at("2.2")).json["keypairs"]
    assert {"cert": "x509", "demo-key": "ssh"} == {
        k["keypair"]["name"]: k["keypair"]["type"] for k in listed
    }
    bad = dict(body, keypair=dict(body["keypair"], name="bad", public_key="not a certificate"))
    refused = client.request("POST", "/v2.1/os-keypairs", bad, headers=at("2.2"))
    assert refused.status_int == 400
    assert "failed to generate X509 fingerprint" in refused.json["badRequest"]["message"]
    assert client.request("DELETE", "/v2.1/os-keypairs/cert", headers=at("2.2")).status_int == 204


def test_an_x509_key_pair_is_generated_as_nova_s_winrm_certificate_from_2_2(client):
    body = {"keypair": {"name": "winrm", "type": "x509"}}
    created = client.request("POST", "/v2.1/os-keypairs", body, headers=at("2.2"))
    assert created.status_int == 201
    pair = created.json["keypair"]
    certificate = x509.load_pem_x509_certificate(pair["public_key"].encode())
    assert certificate.subject.rfc4514_string() == "CN=demo"
    assert pair["type"] == "x509" and pair["fingerprint"].replace(":", "") == (
        certificate.fingerprint(hashes.SHA1()).hex()  # noqa: S303 (Nova's choice)
    )
    key, cert, _ = pkcs12.load_key_and_certificates(base64.b64decode(pair["private_key"]), None)
    assert cert == certificate and key.key_size == 2048
    assert client.request("DELETE", "/v2.1/os-keypairs/winrm", headers=at("2.2")).status_int == 204


def test_an_admin_reads_and_deletes_another_user_s_key_pair_from_2_10(client):
    path = "/v2.1/os-keypairs/demo-key?user_id=demo"
    assert client.request("GET", path, headers=at("2.9"), user=ADMIN).status_int == 404
    shown = client.request("GET", path, headers=at("2.10"), user=ADMIN)
    assert shown.status_int == 200 and shown.json["keypair"]["user_id"] == "demo"
    listed = client.request("GET", "/v2.1/os-keypairs?user_id=demo", headers=at("2.10"), user=ADMIN)
    assert [k["keypair"]["name"] for k in listed.json["keypairs"]] == ["demo-key"]
    refused = client.request("GET", "/v2.1/os-keypairs/x?user_id=admin", headers=at("2.10"))
    assert refused.status_int == 403
    assert "os_compute_api:os-keypairs:show" in refused.json["forbidden"]["message"]


def test_a_key_pair_page_links_to_the_next_from_2_35(client):
    public_key = load_public_key(client)
    for name in ("page-b", "page-a"):
        body = {"keypair": {"name": name, "public_key": public_key}}
        assert client.request("POST", "/v2.1/os-keypairs", body, user=ADMIN).status_int == 200
    page = client.request("GET", "/v2.1/os-keypairs?limit=1", headers=at("2.35"), user=ADMIN)
    assert [k["keypair"]["name"] for k in page.json["keypairs"]] == ["page-a"]
    (link,) = page.json["keypairs_links"]
    assert link["rel"] == "next" and link["href"].endswith(
        "/v2.1/os-keypairs?limit=1&marker=page-a"
    )
    last = client.request(
        "GET", "/v2.1/os-keypairs?limit=1&marker=page-a", headers=at("2.35"), user=ADMIN
    )
    assert [k["keypair"]["name"] for k in last.json["keypairs"]] == ["page-b"]
    for name in ("page-a", "page-b"):
        client.request("DELETE", "/v2.1/os-keypairs/" + name, user=ADMIN)


def load_public_key(client):
    shown = client.request("GET", "/v2.1/os-keypairs/demo-key")
    return shown.json["keypair"]["public_key"]


def test_an_admin_reads_another_project_s_limits(client):
    path = "/v2.1/limits?tenant_id=" + OTHER_PROJECT
    answer = client.request("GET", path, user=ADMIN)
    assert answer.status_int == 200 and answer.json["limits"]["absolute"]["maxTotalInstances"]
    assert client.request("GET", path).status_int == 403


def test_the_image_proxy_is_gone_at_latest_but_not_on_v2(client):
    image = client.defaults["image_id"]
    gone = client.request("GET", "/v2.1/images/" + image, headers=at("latest"))
    assert gone.status_int == 404 and gone.headers["OpenStack-API-Version"] == "compute 2.104"
    v2 = client.request("GET", "/v2/%s/images/%s" % (client.project_id, image), headers=at("2.36"))
    assert v2.status_int == 200


def test_v2_key_pairs_keep_icehouse_s_shapes_whatever_the_headers(client):
    base = "/v2/%s/os-keypairs" % client.project_id
    body = {"keypair": {"name": "v2-key", "public_key": load_public_key(client)}}
    created = client.request("POST", base, body, headers=at("2.92"))
    assert created.status_int == 200 and "type" not in created.json["keypair"]
    flavor = client.request("GET", "/v2/%s/flavors/1" % client.project_id, headers=at("2.102"))
    assert "rxtx_factor" in flavor.json["flavor"] and "description" not in flavor.json["flavor"]
    assert client.request("DELETE", base + "/v2-key", headers=at("2.2")).status_int == 202


def test_the_scheduler_hints_a_server_was_created_with_from_2_100(client):
    hints = {"foo": "bar", "baz": ["x", "y"]}
    server = {"name": "hinted", "imageRef": client.defaults["image_id"], "flavorRef": "1"}
    body = {"server": server, "os:scheduler_hints": hints}
    created = client.request("POST", "/v2.1/servers", body)
    assert created.status_int == 202
    path = "/v2.1/servers/" + created.json["server"]["id"]
    shown = client.request("GET", path, headers=at("2.100")).json["server"]
    assert shown["scheduler_hints"] == {"foo": ["bar"], "baz": ["x", "y"]}
    assert "scheduler_hints" not in client.request("GET", path, headers=at("2.99")).json["server"]
    assert client.request("DELETE", path).status_int == 204


def test_query_rules_pick_the_last_rule_reached():
    rules = resource_versions.query_rules(("2.1", ("a",), False), ("2.75", ("a", "b"), True))
    assert resource_versions._rule_at(None, rules) is None
    assert resource_versions._rule_at(APIVersion(2, 74), rules).known == {"a"}
    assert resource_versions._rule_at(APIVersion(2, 75), rules).strict
    assert keypairs.FINGERPRINTS.keys() == {"ssh", "x509"}


def test_flavors_sorted_by_a_key_and_paged_after_a_marker(client):
    def names(query):
        answer = client.request("GET", "/v2.1/flavors" + query)
        assert answer.status_int == 200, answer.json
        return [flavor["name"] for flavor in answer.json["flavors"]]

    by_ram = names("?sort_key=memory_mb&sort_dir=desc")
    assert by_ram[:2] == ["m1.huge", "m1.xlarge"]
    assert names("?sort_key=memory_mb&sort_dir=desc&limit=2&marker=5") == by_ram[2:4]
    assert names("?sort_key=name&limit=2") == sorted(by_ram)[:2]
    assert names("?sort_key=created_at") == names("?sort_key=id")  # seeded in id order
    # /v2 reads them too, as Icehouse's _get_flavors did (tests/unit/test_flavor_sort_icehouse.py)
    v2 = client.request("GET", "/v2/%s/flavors?sort_key=bad" % client.project_id)
    assert v2.json == {"badRequest": {"message": "Sort key supplied was not valid.", "code": 400}}
