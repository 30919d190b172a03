"""A server's whole life through the real clients against `refnova serve` on embedded
defaults: `openstack server create --wait` (the flavor, image and network found by name),
`openstack server delete --wait`, and openstacksdk's `create_server(..., wait=True)` then
`delete_server` and `wait_for_delete`."""

import json
import os

import openstack
import pytest

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


@pytest.fixture
def conn(clouds_yaml):
    os.environ.update(OS_CLIENT_CONFIG_FILE=str(clouds_yaml), OS_CLOUD="refnova")
    try:
        yield openstack.connect(cloud="refnova")
    finally:
        os.environ.pop("OS_CLIENT_CONFIG_FILE", None)
        os.environ.pop("OS_CLOUD", None)


def test_openstacksdk_create_server_wait_then_delete(conn):
    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    image = conn.image.find_image("cirros-0.3.1-x86_64", ignore_missing=False)
    server = conn.create_server(
        "sdk-vm", image=image, flavor=flavor, network="private", wait=True, timeout=120
    )
    assert server.status == "ACTIVE" and flavor.id == "1"
    assert server.flavor.original_name == flavor.name == "m1.tiny"  # embedded from 2.47
    assert "sdk-vm" in [s.name for s in conn.compute.servers()]
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=120)
    assert conn.compute.find_server("sdk-vm") is None
