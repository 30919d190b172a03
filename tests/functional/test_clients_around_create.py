"""`refnova serve` on embedded defaults, driven by the clients people use for the calls
around create: python-openstackclient (`openstack flavor list`, `keypair create`...),
python-novaclient (`nova boot` finds its flavor by name) and openstacksdk (`find_flavor`).
Each client reads only a clouds.yaml with the demo user, as the README shows it."""

import json
import os

import openstack

from tests.support.clouds import demo_user_environment, run_client

CIRROS = "155d900f-4e14-4e4c-a73d-069cbf4541e6"


def run(client_env, program, *args, check=True):
    return run_client(client_env, program, *args, check=check)


def openstack_json(client_env, *args):
    return json.loads(run(client_env, "openstack", *args, "-f", "json").stdout)


def test_openstack_flavor_list_and_show(client_env):
    flavors = {flavor["Name"]: flavor for flavor in openstack_json(client_env, "flavor", "list")}
    assert {"m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge"} <= set(flavors)
    assert "m1.private" not in flavors and "m1.disabled" not in flavors
    assert flavors["m1.tiny"]["RAM"] == 512 and flavors["m1.tiny"]["ID"] == "1"
    tiny = openstack_json(client_env, "flavor", "show", "m1.tiny")
    assert (tiny["id"], tiny["ram"], tiny["disk"], tiny["vcpus"]) == ("1", 512, 1, 1)
    assert tiny["os-flavor-access:is_public"] is True
    assert tiny["OS-FLV-DISABLED:disabled"] is False


def test_openstack_image_and_network_list(client_env):
    images = {image["Name"]: image["ID"] for image in openstack_json(client_env, "image", "list")}
    assert images["cirros-0.3.1-x86_64"] == CIRROS
    networks = [network["Name"] for network in openstack_json(client_env, "network", "list")]
    assert networks == ["private"]


def test_openstack_limits_show_absolute(client_env):
    limits = {
        row["Name"]: row["Value"]
        for row in openstack_json(client_env, "limits", "show", "--absolute")
    }
    assert limits["instances"] == 10 and limits["max_total_cores"] == 20
    assert limits["keypairs"] == 100 and limits["instances_used"] == 0
    assert limits["max_server_meta"] == 128


def test_openstack_keypair_create_list_delete(client_env, tmp_path):
    private_key = tmp_path / "k1.pem"
    # openstackclient makes the key pair itself and imports its public half.
    run(client_env, "openstack", "keypair", "create", "--private-key", str(private_key), "k1")
    assert private_key.read_text().startswith("-----BEGIN")
    names = [pair["Name"] for pair in openstack_json(client_env, "keypair", "list")]
    assert "k1" in names and "demo-key" in names
    run(client_env, "openstack", "keypair", "delete", "k1")
    names = [pair["Name"] for pair in openstack_json(client_env, "keypair", "list")]
    assert "k1" not in names
    gone = run(client_env, "openstack", "keypair", "delete", "k1", check=False)
    assert gone.returncode != 0


def test_openstack_availability_zone_list_compute(client_env):
    zones = openstack_json(client_env, "availability", "zone", "list", "--compute")
    states = {zone["Zone Name"]: zone["Zone Status"] for zone in zones}
    assert states == {"nova": "available", "az2": "available", "az-disabled": "not available"}


def test_openstack_server_create_with_an_unknown_flavor_names_it(client_env):
    done = run(
        client_env,
        "openstack",
        "server",
        "create",
        "--image",
        "cirros-0.3.1-x86_64",
        "--flavor",
        "999",
        "--network",
        "private",
        "vm-no-flavor",
        check=False,
    )
    assert done.returncode != 0
    assert "999" in done.stderr


def test_nova_boot_finds_the_flavor_by_name_then_list_show_delete_by_name(served):
    env = demo_user_environment(served)
    done = run(
        env,
        "nova",
        "boot",
        "--flavor",
        "m1.tiny",
        "--image",
        "cirros-0.3.1-x86_64",
        "--nic",
        "net-name=private",
        "--poll",
        "vm2",
    )
    # nova negotiates 2.96 (its maximum, below refnova's 2.104): the flavor is embedded (2.47).
    assert "| flavor:original_name" in done.stdout and "m1.tiny" in done.stdout
    assert "cirros-0.3.1-x86_64" in done.stdout
    assert "100% complete" in done.stdout
    assert "vm2" in run(env, "nova", "list").stdout
    shown = run(env, "nova", "show", "vm2").stdout
    assert "ACTIVE" in shown and "m1.tiny" in shown
    run(env, "nova", "delete", "vm2")
    assert "vm2" not in run(env, "nova", "list").stdout  # refnova deletes at once


def test_openstacksdk_finds_flavors_images_and_key_pairs(client_env):
    os.environ.update(OS_CLIENT_CONFIG_FILE=client_env["OS_CLIENT_CONFIG_FILE"], OS_CLOUD="refnova")
    try:
        conn = openstack.connect(cloud="refnova")
        flavor = conn.compute.find_flavor("m1.tiny")
        assert flavor.id == "1" and flavor.ram == 512 and flavor.is_public
        assert conn.compute.find_flavor("no-such-flavor") is None
        assert conn.compute.find_image("cirros-0.3.1-x86_64").id == CIRROS
        assert conn.image.find_image("cirros-0.3.1-x86_64").id == CIRROS
        pair = conn.compute.create_keypair(name="sdk-key")
        assert pair.private_key.startswith("-----BEGIN")
        assert conn.compute.find_keypair("sdk-key").fingerprint == pair.fingerprint
        conn.compute.delete_keypair("sdk-key")
        assert conn.compute.find_keypair("sdk-key") is None
        assert {zone.name for zone in conn.compute.availability_zones()} >= {"nova", "az2"}
        assert conn.compute.get_limits().absolute.instances == 10
    finally:
        os.environ.pop("OS_CLIENT_CONFIG_FILE", None)
        os.environ.pop("OS_CLOUD", None)
