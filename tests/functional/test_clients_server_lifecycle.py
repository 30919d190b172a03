"""A server's whole life through the real clients against `refnova serve` on embedded
defaults: `openstack server create --wait` (the flavor, image and network found by name),
`openstack server delete --wait`, and openstacksdk's `create_server(..., wait=True)` then
`delete_server` and `wait_for_delete`."""

import json

from tests.support.clouds import client_environment, run_client


def openstack_cli(clouds_yaml, *args, check=True):
    return run_client(client_environment(clouds_yaml), "openstack", *args, check=check)


def test_openstack_server_create_wait_then_delete_wait(clouds_yaml):
    created = openstack_cli(
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
        "-f",
        "json",
        "vm1",
    )
    server = json.loads(created.stdout)
    assert server["name"] == "vm1" and server["status"] == "ACTIVE"
    # openstackclient creates through openstacksdk, at 2.100: the flavor is embedded (2.47).
    assert server["flavor"]["original_name"] == "m1.tiny"
    openstack_cli(clouds_yaml, "server", "delete", "--wait", "vm1")
    gone = openstack_cli(clouds_yaml, "server", "show", "vm1", check=False)
    assert gone.returncode != 0


def test_openstacksdk_create_server_wait_then_delete(clouds_conn):
    flavor = clouds_conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    image = clouds_conn.image.find_image("cirros-0.3.1-x86_64", ignore_missing=False)
    server = clouds_conn.create_server(
        "sdk-vm", image=image, flavor=flavor, network="private", wait=True, timeout=120
    )
    assert server.status == "ACTIVE" and flavor.id == "1"
    assert server.flavor.original_name == flavor.name == "m1.tiny"  # embedded from 2.47
    assert "sdk-vm" in [s.name for s in clouds_conn.compute.servers()]
    clouds_conn.compute.delete_server(server)
    clouds_conn.compute.wait_for_delete(server, wait=120)
    assert clouds_conn.compute.find_server("sdk-vm") is None
