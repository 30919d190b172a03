"""The servers conversation of the real clients against `refnova serve` on embedded
defaults (a real process, the built-in identity, the demo user): python-novaclient's `nova
boot --poll`, `nova list`, `nova show`, `nova delete`; openstacksdk's `servers()`,
`delete_server` and `wait_for_delete`, on /v2.1 from the catalog and on /v2 with
`compute_api_version: 2`; python-openstackclient's `server list`, `server list --long`,
`server show` and `server delete --wait`.

Servers are created through the API (openstacksdk's compute proxy) where a command would
first look its flavor up by name: that is the flavors routes' business.
"""

import json
import pathlib
import subprocess
import sys

import pytest

from tests.support.clouds import demo_connection, demo_user_environment

DEMO_PROJECT = "6f70656e737461636b20342065766572"
CIRROS = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
PRIVATE_NETWORK = "3cb9bc59-5699-4588-a4b1-b87f96708bc6"
BIN = pathlib.Path(sys.executable).parent


def run_cli(url, program, *args):
    """Run ``nova`` or ``openstack`` to its end; its stdout (the test fails on a non-zero exit)."""
    done = subprocess.run(
        [str(BIN / program), *args],
        env=demo_user_environment(url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, "%s %s: %s%s" % (program, args, done.stdout, done.stderr)
    return done.stdout


@pytest.fixture(scope="module")
def conn(served):
    return demo_connection(served)


def boot(conn, name):
    """A server created through the API (no flavor lookup), once ACTIVE."""
    server = conn.compute.create_server(
        name=name, image_id=CIRROS, flavor_id="1", networks=[{"uuid": PRIVATE_NETWORK}]
    )
    return conn.compute.wait_for_server(server, status="ACTIVE", wait=60, interval=0.2)


def server_names(conn):
    return sorted(server.name for server in conn.compute.servers())


# --------------------------------------------------------------------------- openstacksdk


def test_sdk_lists_servers_in_detail_and_deletes_one(conn):
    server = boot(conn, "sdk-vm")
    listed = {found.id: found for found in conn.compute.servers()}
    assert listed[server.id].name == "sdk-vm" and listed[server.id].status == "ACTIVE"
    # openstacksdk reads servers at 2.100: the flavor is embedded (2.47), named, not linked.
    assert listed[server.id].flavor.original_name == "m1.tiny"
    assert listed[server.id].flavor.ram == 512
    assert [found.id for found in conn.compute.servers(name="^sdk-")] == [server.id]
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, interval=0.2, wait=30)
    assert "sdk-vm" not in server_names(conn)


def test_sdk_pages_through_servers_with_limit_and_marker(conn):
    created = [boot(conn, "page-%d" % index) for index in range(3)]
    try:
        paged = [found.id for found in conn.compute.servers(limit=1, name="^page-")]
        assert paged == [server.id for server in reversed(created)]  # newest first
    finally:
        for server in created:
            conn.compute.delete_server(server)
            conn.compute.wait_for_delete(server, interval=0.2, wait=30)


def test_sdk_on_the_icehouse_contract_creates_lists_and_deletes(served):
    icehouse = demo_connection(
        served,
        compute_api_version="2",
        compute_endpoint_override="%s/v2/%s" % (served, DEMO_PROJECT),
    )
    server = boot(icehouse, "icehouse-vm")
    assert server.links[0]["href"].startswith(served + "/v2/" + DEMO_PROJECT + "/servers/")
    assert "icehouse-vm" in server_names(icehouse)
    icehouse.compute.delete_server(server)
    icehouse.compute.wait_for_delete(server, interval=0.2, wait=30)
    assert "icehouse-vm" not in server_names(icehouse)


# --------------------------------------------------------------------------- openstackclient


def test_openstack_server_list_show_and_delete_wait(served, conn):
    server = boot(conn, "osc-vm")
    listed = json.loads(run_cli(served, "openstack", "server", "list", "-f", "json"))
    assert {"ID": server.id, "Name": "osc-vm", "Status": "ACTIVE"}.items() <= next(
        row for row in listed if row["ID"] == server.id
    ).items()
    long = json.loads(run_cli(served, "openstack", "server", "list", "--long", "-f", "json"))
    row = next(row for row in long if row["ID"] == server.id)
    assert row["Availability Zone"] == "nova" and row["Power State"] in (1, "Running")
    shown = json.loads(run_cli(served, "openstack", "server", "show", "osc-vm", "-f", "json"))
    assert shown["id"] == server.id and shown["status"] == "ACTIVE"
    assert shown["project_id"] == DEMO_PROJECT
    run_cli(served, "openstack", "server", "delete", "--wait", "osc-vm")
    assert "osc-vm" not in server_names(conn)


# --------------------------------------------------------------------------- novaclient


def test_nova_boot_poll_list_show_and_delete(served, conn):
    booted = run_cli(
        served,
        "nova",
        "boot",
        "--flavor",
        "1",
        "--image",
        CIRROS,
        "--nic",
        "net-id=" + PRIVATE_NETWORK,
        "--poll",
        "nova-vm",
    )
    assert "nova-vm" in booted and "100% complete" in booted
    (server,) = [found for found in conn.compute.servers() if found.name == "nova-vm"]
    assert server.status == "ACTIVE"
    listed = run_cli(served, "nova", "list")
    assert server.id in listed and "nova-vm" in listed and "ACTIVE" in listed
    shown = run_cli(served, "nova", "show", server.id)
    assert server.id in shown and "cirros-0.3.1-x86_64" in shown
    run_cli(served, "nova", "delete", server.id)
    conn.compute.wait_for_delete(server, interval=0.2, wait=30)
    assert "nova-vm" not in run_cli(served, "nova", "list")
