"""The real clients at the newest microversion they know, against `refnova serve` on embedded
defaults, which announces Nova 34.0.0's 2.104: python-openstackclient with
`--os-compute-api-version 2.latest` (`server create --wait`, `server list`, `flavor list`,
`keypair create`/`list`, `limits show`, `quota show`), python-novaclient's `nova
--os-compute-api-version 2.latest boot --poll` (novaclient negotiates its own maximum,
2.96), and openstacksdk, which negotiates each call up to its resource's maximum (2.100 for
a server)."""

import json

import requests

from tests.support.clouds import client_environment, demo_user_environment, run_client

LATEST = ("--os-compute-api-version", "2.latest")
PRIVATE_NETWORK = "3cb9bc59-5699-4588-a4b1-b87f96708bc6"
CIRROS = "155d900f-4e14-4e4c-a73d-069cbf4541e6"


def openstack_cli(clouds_yaml, *args, check=True):
    return run_client(client_environment(clouds_yaml), "openstack", *LATEST, *args, check=check)


def openstack_json(clouds_yaml, *args):
    return json.loads(openstack_cli(clouds_yaml, *args, "-f", "json").stdout)


def test_refnova_serve_announces_2_104(served):
    documents = requests.get(served + "/", timeout=10).json()["versions"]
    (v21,) = [document for document in documents if document["id"] == "v2.1"]
    assert (v21["min_version"], v21["version"]) == ("2.1", "2.104")
    latest = requests.get(
        served + "/v2.1/flavors",
        headers={"X-Auth-Token": "demo", "OpenStack-API-Version": "compute latest"},
        timeout=10,
    )
    assert latest.status_code == 200
    assert latest.headers["OpenStack-API-Version"] == "compute 2.104"
    assert all("description" in flavor for flavor in latest.json()["flavors"])


def test_openstack_server_create_wait_list_and_delete_at_2_latest(clouds_yaml):
    server = openstack_json(
        clouds_yaml,
        "server",
        "create",
        "--image",
        "cirros-0.3.1-x86_64",
        "--flavor",
        "m1.tiny",
        "--network",
        "private",
        "--wait",
        "vm-latest",
    )
    assert server["name"] == "vm-latest" and server["status"] == "ACTIVE"
    listed = openstack_json(clouds_yaml, "server", "list", "--long")
    (row,) = [row for row in listed if row["ID"] == server["id"]]
    assert row["Status"] == "ACTIVE" and row["Availability Zone"] == "nova"
    shown = openstack_json(clouds_yaml, "server", "show", "vm-latest")
    assert shown["locked"] is False and shown["description"] is None
    assert shown["pinned_availability_zone"] is None and shown["scheduler_hints"] == {}
    openstack_cli(clouds_yaml, "server", "delete", "--wait", "vm-latest")
    gone = openstack_cli(clouds_yaml, "server", "show", "vm-latest", check=False)
    assert gone.returncode != 0


def test_openstack_flavor_list_and_show_at_2_latest(clouds_yaml):
    flavors = {flavor["Name"]: flavor for flavor in openstack_json(clouds_yaml, "flavor", "list")}
    assert {"m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge"} <= set(flavors)
    assert flavors["m1.tiny"]["RAM"] == 512 and flavors["m1.tiny"]["ID"] == "1"
    tiny = openstack_json(clouds_yaml, "flavor", "show", "m1.tiny")
    assert (tiny["id"], tiny["ram"], tiny["disk"], tiny["vcpus"]) == ("1", 512, 1, 1)
    assert tiny["description"] is None and tiny["properties"] == {}


def test_openstack_keypair_create_list_delete_at_2_latest(clouds_yaml, tmp_path):
    private_key = tmp_path / "latest.pem"
    # From 2.92 Nova generates no key pair: openstackclient makes it and imports its public half.
    created = openstack_json(
        clouds_yaml, "keypair", "create", "--private-key", str(private_key), "k-latest"
    )
    assert created["name"] == "k-latest" and created["type"] == "ssh"
    assert private_key.read_text().startswith("-----BEGIN")
    pairs = {pair["Name"]: pair for pair in openstack_json(clouds_yaml, "keypair", "list")}
    assert {"k-latest", "demo-key"} <= set(pairs) and pairs["k-latest"]["Type"] == "ssh"
    openstack_cli(clouds_yaml, "keypair", "delete", "k-latest")
    names = [pair["Name"] for pair in openstack_json(clouds_yaml, "keypair", "list")]
    assert "k-latest" not in names


def test_openstack_limits_show_at_2_latest(clouds_yaml, served):
    # openstackclient reads the limits through openstacksdk, which asks for no microversion.
    limits = {
        row["Name"]: row["Value"]
        for row in openstack_json(clouds_yaml, "limits", "show", "--absolute")
    }
    assert limits["instances"] == 10 and limits["max_total_cores"] == 20
    assert limits["keypairs"] == 100 and limits["max_server_meta"] == 128
    assert limits["personality"] == 5 and limits["image_meta"] == 128
    # At 2.104 the network (2.36), image metadata (2.39) and personality (2.57) limits are gone.
    latest = requests.get(
        served + "/v2.1/limits",
        headers={"X-Auth-Token": "demo", "OpenStack-API-Version": "compute latest"},
        timeout=10,
    ).json()["limits"]["absolute"]
    assert latest["maxTotalInstances"] == 10 and latest["maxServerMeta"] == 128
    assert not {"maxImageMeta", "maxPersonality", "maxTotalFloatingIps"} & set(latest)


def test_openstack_quota_show_at_2_latest(clouds_yaml):
    # openstacksdk reads a quota set at its own maximum for it, 2.56: the network quotas are
    # gone (2.36), the personality ones still there (until 2.57).
    rows = openstack_json(clouds_yaml, "quota", "show", "--compute")
    quotas = {row["Resource"]: row["Limit"] for row in rows}
    assert quotas["instances"] == 10 and quotas["cores"] == 20 and quotas["key-pairs"] == 100
    assert quotas["server-groups"] == 10 and quotas["injected-files"] == 5
    assert quotas["fixed_ips"] is None and quotas["floating_ips"] is None


def test_nova_boot_poll_show_and_delete_at_2_latest(served):
    def nova(*args):
        done = run_client(demo_user_environment(served), "nova", *LATEST, *args)
        return done.stdout

    booted = nova(
        "boot",
        "--flavor",
        "m1.tiny",
        "--image",
        CIRROS,
        "--nic",
        "net-id=" + PRIVATE_NETWORK,
        "--poll",
        "nova-latest",
    )
    assert "nova-latest" in booted and "100% complete" in booted
    shown = nova("show", "nova-latest")
    # novaclient negotiated its maximum, 2.96: the pinned zone (2.96) is shown, unset.
    assert "ACTIVE" in shown and "pinned_availability_zone" in shown
    assert "nova-latest" in nova("list")
    nova("delete", "nova-latest")


def test_openstacksdk_negotiates_its_maximum_and_creates_until_active(clouds_conn):
    flavor = clouds_conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    image = clouds_conn.image.find_image("cirros-0.3.1-x86_64", ignore_missing=False)
    server = clouds_conn.create_server(
        "sdk-latest", image=image, flavor=flavor, network="private", wait=True, timeout=120
    )
    assert server.status == "ACTIVE"
    fetched = clouds_conn.compute.get_server(server.id)
    # 2.100's scheduler hints and 2.47's embedded flavor: the server was read at 2.100.
    assert fetched.scheduler_hints == {} and fetched.flavor.original_name == "m1.tiny"
    clouds_conn.compute.delete_server(server)
    clouds_conn.compute.wait_for_delete(server, wait=120)
    assert clouds_conn.compute.find_server("sdk-latest") is None
