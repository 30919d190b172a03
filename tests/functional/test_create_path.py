"""The seed's create path end to end: API, compute API, cast, conductor, GET."""

import json
import re
import time

import kombu
import pytest

from refnova import messaging
from refnova.db import api as db_api
from refnova.db import models
from tests.support.deployment import Client, make_deployment

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def rows(deployment, model, **filters):
    return db_api.count_rows(deployment.db, model, **filters)


def test_create_returns_202_with_location_and_password_and_reaches_active(client):
    response = client.create()
    assert response.status_int == 202
    server = json.loads(response.body)["server"]
    assert UUID.match(server["id"])
    assert response.headers["Location"] == server["links"][0]["href"]
    assert server["links"][0]["href"].endswith(
        "/v2/%s/servers/%s" % (client.project_id, server["id"])
    )
    assert server["links"][1]["href"].endswith("/%s/servers/%s" % (client.project_id, server["id"]))
    assert "/v2/" not in server["links"][1]["href"]
    assert re.match(r"^[2-9A-HJ-NP-Za-km-z]{12}$", server["adminPass"])
    assert server["OS-DCF:diskConfig"] == "MANUAL"
    assert server["security_groups"] == [{"name": "default"}]
    assert set(server) == {"id", "links", "adminPass", "OS-DCF:diskConfig", "security_groups"}
    assert response.headers["x-compute-request-id"].startswith("req-")

    started = time.monotonic()
    shown = client.wait_for_status(server["id"], timeout=2.0)
    assert shown["status"] == "ACTIVE", shown
    assert time.monotonic() - started < 2.0
    assert shown["name"] == "vm"
    assert shown["flavor"]["id"] == "1"
    assert shown["image"]["id"] == client.defaults["image_id"]
    assert shown["OS-EXT-AZ:availability_zone"] == "nova"
    assert shown["addresses"]["private"][0]["version"] == 4
    assert shown["hostId"]


def test_rows_written_by_a_create(client, deployment):
    server_id = json.loads(client.create({"metadata": {"a": "b"}}).body)["server"]["id"]
    assert rows(deployment, models.Instance, uuid=server_id) == 1
    assert rows(deployment, models.InstanceMetadata, instance_uuid=server_id) == 1
    assert rows(deployment, models.InstanceSystemMetadata, instance_uuid=server_id) > 10
    assert rows(deployment, models.BlockDeviceMapping, instance_uuid=server_id) == 1
    assert rows(deployment, models.InstanceAction, instance_uuid=server_id, action="create") == 1
    assert rows(deployment, models.Reservation) == 0
    with deployment.db.transaction() as session:
        usage = {u.resource: (u.in_use, u.reserved) for u in session.query(models.QuotaUsage)}
        instance = db_api.instance_get(session, server_id)
        assert re.match(r"^r-[0-9a-z]{8}$", instance.reservation_id)
        assert instance.hostname == "vm"
    assert usage == {"instances": (1, 0), "cores": (1, 0), "ram": (512, 0)}


REJECTIONS = [
    ({"name": ""}, {}, 400),  # controller
    ({"flavorRef": "99"}, {}, 400),  # flavor lookup
    ({"imageRef": "a2459075-d96c-40d5-893e-577ff92e721c"}, {}, 400),  # image not active
    ({"min_count": 11}, {}, 413),  # quota
    (
        {
            "block_device_mapping_v2": [  # BDM, inside provisioning
                {
                    "source_type": "blank",
                    "destination_type": "local",
                    "boot_index": 1,
                    "volume_size": 1,
                }
            ]
        },
        {},
        400,
    ),
    (
        {"scheduler_hints": {}},
        {"os:scheduler_hints": {"group": "00000000-0000-0000-0000-000000000000"}},
        404,
    ),
]


@pytest.mark.parametrize("server,top_level,status", REJECTIONS)
def test_a_rejected_create_leaves_nothing_behind(client, deployment, server, top_level, status):
    response = client.create(server, **top_level)
    assert response.status_int == status, response.body
    for model in (
        models.Instance,
        models.InstanceMetadata,
        models.InstanceSystemMetadata,
        models.BlockDeviceMapping,
        models.InstanceAction,
        models.Reservation,
        models.InstanceGroup,
        models.InstanceGroupMember,
    ):
        assert rows(deployment, model) == 0, model.__tablename__
    with deployment.db.transaction() as session:
        assert all(u.in_use == 0 and u.reserved == 0 for u in session.query(models.QuotaUsage))


def test_quota_counts_instances_already_built(client):
    for _ in range(10):
        assert client.create().status_int == 202
    response = client.create()
    assert response.status_int == 413
    assert response.headers["Retry-After"] == "0"
    assert json.loads(response.body) == {
        "overLimit": {
            "message": (
                "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances"
            ),
            "code": 413,
            "retryAfter": "0",
        }
    }


def test_min_count_within_headroom_builds_fewer_instances(client, deployment):
    for _ in range(8):
        client.create()
    response = client.create({"min_count": 1, "max_count": 5})
    assert response.status_int == 202
    assert rows(deployment, models.Instance) == 10


def test_multiple_instances_share_a_reservation_and_get_templated_names(client, deployment):
    response = client.create({"name": "web", "min_count": 3, "return_reservation_id": True})
    assert response.status_int == 202
    body = json.loads(response.body)
    assert set(body) == {"reservation_id"}
    assert "Location" not in response.headers
    with deployment.db.transaction() as session:
        instances = session.query(models.Instance).order_by(models.Instance.launch_index).all()
        assert [i.launch_index for i in instances] == [0, 1, 2]
        assert {i.reservation_id for i in instances} == {body["reservation_id"]}
        assert all(i.display_name == "web-%s" % i.uuid for i in instances)
        assert all(i.hostname == "web-%s" % i.uuid for i in instances)


def test_no_valid_host_records_error_with_fault(client):
    # m1.huge needs more RAM than any host has; give the quota room for it.
    with make_deployment({"quotas": {"ram": -1}}) as deployment:
        other = Client(deployment)
        server_id = json.loads(other.create({"flavorRef": "92"}).body)["server"]["id"]
        shown = other.wait_for_status(server_id)
        assert shown["status"] == "ERROR"
        assert shown["fault"]["code"] == 500
        assert shown["fault"]["message"] == "No valid host was found. "


def test_forced_host_as_admin(client):
    response = client.create({"availability_zone": "az2:compute3"}, user="admin")
    assert response.status_int == 202
    server_id = json.loads(response.body)["server"]["id"]
    shown = client.wait_for_status(server_id)
    assert shown["status"] == "ACTIVE"
    admin_view = json.loads(client.show(server_id, user="admin").body)["server"]
    assert admin_view["OS-EXT-SRV-ATTR:host"] == "compute3"


def _published(deployment, server):
    """Create with the conductor stopped, then read the raw message from the queue."""
    deployment.conductor.stop()
    client = Client(deployment)
    response = client.create(server)
    assert response.status_int == 202
    with deployment.transport.connection.clone() as conn:
        queue = deployment.transport.queue("conductor")(conn.default_channel)
        message = queue.get(no_ack=True)
    assert message is not None
    return json.loads(response.body)["server"], message


def test_the_cast_on_the_wire_is_oslo_messaging_envelope_v1_5(deployment):
    server, message = _published(
        deployment,
        {
            "networks": [{"uuid": deployment.world["defaults"]["network_id"]}],
            "personality": [{"path": "/etc/motd", "contents": "aGk="}],
        },
    )
    assert message.content_type == "application/json"
    assert message.delivery_info["exchange"] == "nova"
    assert message.delivery_info["routing_key"] == "conductor"
    assert message.properties.get("delivery_mode") == 2
    envelope = json.loads(message.body)
    assert set(envelope) == {"oslo.version", "oslo.message"}
    assert envelope["oslo.version"] == "2.0"
    inner = json.loads(envelope["oslo.message"])
    assert inner["method"] == "build_instances"
    assert inner["namespace"] == "compute_task"
    assert inner["version"] == "1.5"
    assert re.match(r"^[0-9a-f]{32}$", inner["_unique_id"])
    for key in (
        "user_id",
        "project_id",
        "is_admin",
        "read_deleted",
        "roles",
        "remote_address",
        "timestamp",
        "request_id",
        "auth_token",
        "quota_class",
        "user_name",
        "service_catalog",
        "project_name",
        "instance_lock_checked",
        "tenant",
        "user",
    ):
        assert "_context_" + key in inner
    assert "_msg_id" not in inner and "_reply_q" not in inner
    args = inner["args"]
    assert set(args) == {
        "instances",
        "image",
        "filter_properties",
        "admin_password",
        "injected_files",
        "requested_networks",
        "security_groups",
        "block_device_mapping",
        "legacy_bdm",
    }
    instance = args["instances"][0]
    assert instance["nova_object.name"] == "Instance"
    assert instance["nova_object.namespace"] == "nova"
    assert instance["nova_object.version"] == "1.13"
    assert instance["nova_object.data"]["uuid"] == server["id"]
    assert instance["nova_object.data"]["vm_state"] == "building"
    assert instance["nova_object.data"]["task_state"] == "scheduling"
    assert args["image"]["id"] == deployment.world["defaults"]["image_id"]
    assert args["filter_properties"]["instance_type"]["flavorid"] == "1"
    assert args["filter_properties"]["scheduler_hints"] == {}
    assert "retry" not in args["filter_properties"]
    assert args["admin_password"] == server["adminPass"]
    assert args["injected_files"] == [["/etc/motd", "aGk="]]
    assert args["requested_networks"] == [[deployment.world["defaults"]["network_id"], None, None]]
    assert args["security_groups"] == ["default"]
    assert args["legacy_bdm"] is False
    root = args["block_device_mapping"][0]
    assert root["source_type"] == "image" and root["boot_index"] == 0
    assert root["instance_uuid"] == server["id"]


def test_conductor_acknowledges_after_building_and_skips_a_redelivery(deployment):
    server, message = _published(deployment, {})
    manager_target = deployment.conductor.dispatcher.endpoints[0]
    context = deployment.conductor.context_factory
    inner = messaging.deserialize_msg(json.loads(message.body))
    ctx = context({k[len("_context_") :]: v for k, v in inner.items() if k.startswith("_context_")})
    manager_target.build_instances(ctx, **inner["args"])
    with deployment.db.transaction() as session:
        first = db_api.instance_get(session, server["id"])
        host, launched = first.host, first.launched_at
    manager_target.build_instances(ctx, **inner["args"])  # a redelivery
    with deployment.db.transaction() as session:
        again = db_api.instance_get(session, server["id"])
        assert (again.host, again.launched_at) == (host, launched)
        node = session.query(models.ComputeNode).filter_by(host=host).one()
        assert node.memory_mb_used == 512


def test_a_message_that_cannot_be_decoded_is_dropped_and_the_consumer_goes_on(client, deployment):
    with deployment.transport.connection.clone() as conn:
        producer = conn.Producer()
        producer.publish(
            "not json at all",
            exchange=deployment.transport.exchange,
            routing_key="conductor",
            content_type="application/json",
            content_encoding="utf-8",
            declare=[deployment.transport.queue("conductor")],
        )
        producer.publish(
            {
                "oslo.version": "2.0",
                "oslo.message": json.dumps(
                    {
                        "method": "build_instances",
                        "namespace": "compute_task",
                        "version": "9.0",
                        "args": {},
                    }
                ),
            },
            exchange=deployment.transport.exchange,
            routing_key="conductor",
            serializer="json",
        )
    server_id = json.loads(client.create().body)["server"]["id"]
    assert client.wait_for_status(server_id)["status"] == "ACTIVE"


def test_transport_url_accepts_the_oslo_rabbit_scheme():
    assert (
        messaging.kombu_url("rabbit://guest:guest@127.0.0.1:5672/")
        == "amqp://guest:guest@127.0.0.1:5672/"
    )
    assert kombu.Connection(messaging.kombu_url("rabbit://h:1/")).transport_cls == "amqp"


def test_a_create_whose_cast_cannot_leave_gives_its_quota_back_once():
    settings = {
        "transport_url": "amqp://guest:guest@127.0.0.1:1//",
        "publish_timeout": 0.5,
        "conductor_in_process": False,
    }
    with make_deployment(**settings) as deployment:
        client = Client(deployment)
        response = client.create()
        assert response.status_int == 503
        with deployment.db.transaction() as session:
            instance = session.query(models.Instance).one()
            usage = {u.resource: u.in_use for u in session.query(models.QuotaUsage)}
        assert instance.vm_state == "error"
        assert usage == {"instances": 0, "cores": 0, "ram": 0}
        deleted = client.request("DELETE", "/v2/%s/servers/%s" % (client.project_id, instance.uuid))
        assert deleted.status_int == 204
        with deployment.db.transaction() as session:
            usage = {u.resource: u.in_use for u in session.query(models.QuotaUsage)}
        assert usage == {"instances": 0, "cores": 0, "ram": 0}
