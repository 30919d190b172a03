"""GET /v2.1/servers/{id} and /servers/detail above 2.1: the table of versioned changes
(api/openstack/compute/server_views.py) and what each row reads from the database.

The bodies themselves are pinned by the W fixtures (recorded from Nova 34.0.0); these tests
pin the table's structure and the values the oracle's world cannot show (a locked server,
a server group, extra specs, image properties).
"""

import pytest
from sqlalchemy import update

from refnova.api.openstack import contracts, microversions
from refnova.api.openstack.compute import server_views
from refnova.db import models
from tests.support.deployment import Client, make_deployment

V = microversions.APIVersion.parse

# The microversions at which Nova 34.0.0's ViewBuilder.show changes a server's body.
NOVA_VIEW_VERSIONS = ["2.3", "2.9", "2.16", "2.19", "2.26", "2.47", "2.63", "2.71", "2.73"]
NOVA_VIEW_VERSIONS += ["2.90", "2.96", "2.98", "2.100"]


def test_the_table_has_one_row_per_nova_boundary_in_order():
    assert [str(row.since) for row in server_views.ROWS] == NOVA_VIEW_VERSIONS


@pytest.mark.parametrize("boundary", NOVA_VIEW_VERSIONS)
def test_a_row_applies_from_its_version_on(boundary):
    below = V(boundary)._replace(minor=V(boundary).minor - 1)
    since = [str(row.since) for row in server_views.rows_at(V(boundary))]
    assert boundary in since
    assert boundary not in [str(row.since) for row in server_views.rows_at(below)]


def test_no_row_applies_without_a_microversion_or_at_2_1():
    assert server_views.rows_at(None) == ()
    assert server_views.rows_at(V("2.1")) == ()


@pytest.fixture(scope="module")
def raised():
    deployment = make_deployment(max_microversion=contracts.V21_IMPLEMENTED_MAX)
    yield Client(deployment)
    deployment.close()


def at(client, version, method, path, body=None, user=None):
    headers = {"OpenStack-API-Version": "compute " + version}
    return client.request(method, path, body, headers=headers, user=user)


def created(client, version="2.1", **server):
    body = {
        "server": {
            "name": "vm",
            "imageRef": client.defaults["image_id"],
            "flavorRef": client.defaults["flavor_id"],
            **server,
        }
    }
    server_id = at(client, version, "POST", "/v2.1/servers", body).json["server"]["id"]
    client.wait_for_status(server_id, path="/v2.1/servers/%s")
    return server_id


def shown(client, version, server_id, user=None):
    return at(client, version, "GET", "/v2.1/servers/" + server_id, user=user).json["server"]


def change_rows(client, model, where, **values):
    with client.deployment.db.transaction() as session:
        session.execute(update(model).where(where).values(**values))


def test_locked_and_its_reason_come_from_the_instance(raised):
    server_id = created(raised)
    change_rows(raised, models.Instance, models.Instance.uuid == server_id, locked=True)
    with raised.deployment.db.transaction() as session:
        session.add(
            models.InstanceSystemMetadata(
                instance_uuid=server_id, key="locked_reason", value="maintenance"
            )
        )
    assert "locked" not in shown(raised, "2.8", server_id)
    assert shown(raised, "2.9", server_id)["locked"] is True
    assert "locked_reason" not in shown(raised, "2.72", server_id)
    assert shown(raised, "2.73", server_id)["locked_reason"] == "maintenance"


def test_image_properties_are_the_standard_ones_of_the_system_metadata(raised):
    server_id = created(raised)
    with raised.deployment.db.transaction() as session:
        for key, value in [("image_hw_disk_bus", "scsi"), ("image_not_a_property", "x")]:
            session.add(
                models.InstanceSystemMetadata(instance_uuid=server_id, key=key, value=value)
            )
    assert "properties" not in shown(raised, "2.97", server_id)["image"]
    assert shown(raised, "2.98", server_id)["image"]["properties"] == {"hw_disk_bus": "scsi"}


def test_the_embedded_flavor_carries_its_extra_specs(raised):
    server_id = created(raised)
    with raised.deployment.db.transaction() as session:
        instance = session.query(models.Instance).filter_by(uuid=server_id).one()
        flavor = session.get_one(models.Flavor, instance.instance_type_id)
        flavor.extra_specs = {"hw:cpu_policy": "dedicated"}
    assert set(shown(raised, "2.46", server_id)["flavor"]) == {"id", "links"}
    embedded = shown(raised, "2.47", server_id)["flavor"]
    assert embedded["extra_specs"] == {"hw:cpu_policy": "dedicated"}
    assert embedded["original_name"] == flavor.name


def test_server_groups_are_on_show_but_not_on_detail(raised):
    server_id = created(raised)
    with raised.deployment.db.transaction() as session:
        group = models.InstanceGroup(
            uuid="6d4bbc4c-1111-4222-8333-444455556666",
            name="g",
            user_id="u",
            project_id=raised.project_id,
            policies=["affinity"],
        )
        session.add(group)
        session.flush()
        session.add(models.InstanceGroupMember(group_id=group.id, instance_id=server_id))
    assert "server_groups" not in shown(raised, "2.70", server_id)
    assert shown(raised, "2.71", server_id)["server_groups"] == [group.uuid]
    detail = at(raised, "2.71", "GET", "/v2.1/servers/detail").json["servers"]
    assert detail and all("server_groups" not in server for server in detail)


def test_admins_see_the_extended_attributes_and_host_status(raised):
    server_id = created(raised)
    admin = "admin"
    assert "OS-EXT-SRV-ATTR:hostname" not in shown(raised, "2.2", server_id, user=admin)
    extended = shown(raised, "2.16", server_id, user=admin)
    assert extended["OS-EXT-SRV-ATTR:hostname"] == "vm"
    assert extended["host_status"] == "UP"
    user_view = shown(raised, "2.89", server_id)
    assert "host_status" not in user_view and "OS-EXT-SRV-ATTR:hostname" not in user_view
    assert shown(raised, "2.90", server_id)["OS-EXT-SRV-ATTR:hostname"] == "vm"
