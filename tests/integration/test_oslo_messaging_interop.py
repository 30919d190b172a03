"""refnova and real oslo.messaging peers on one RabbitMQ vhost, in both directions.

oslo.messaging is a test-only dependency: these tests use its RPC server and RPC client exactly
as Nova would (control exchange ``nova``, topic ``conductor``, namespace ``compute_task``).
"""

import json
import queue
import time

import pytest

from refnova.config import Settings
from refnova.service import Deployment
from tests.support.http import DEFAULTS
from tests.support.polling import poll_until

oslo_messaging = pytest.importorskip("oslo_messaging")
from oslo_config import cfg  # noqa: E402  (after the importorskip)
from oslo_context import context as oslo_context  # noqa: E402

pytestmark = pytest.mark.rabbitmq
PROJECT = "6f70656e737461636b20342065766572"
IMAGE_ID = DEFAULTS["image_id"]


def oslo_transport(vhost):
    """A transport on oslo's global configuration, as Nova sets it: control exchange 'nova'."""
    oslo_messaging.set_transport_defaults(control_exchange="nova")  # as nova/rpc.py does
    return oslo_messaging.get_rpc_transport(cfg.CONF, url=vhost.url)


class ComputeTaskEndpoint:
    """What a Nova conductor's ComputeTaskManager receives, recorded."""

    target = oslo_messaging.Target(namespace="compute_task", version="1.6")

    def __init__(self):
        self.received = queue.Queue()

    def build_instances(self, ctxt, **kwargs):
        self.received.put((ctxt, kwargs))


@pytest.fixture
def oslo_server(vhost):
    """Start (on demand) a real oslo.messaging RPC server for topic 'conductor'."""
    started = []

    def start():
        transport = oslo_transport(vhost)
        endpoint = ComputeTaskEndpoint()
        server = oslo_messaging.get_rpc_server(
            transport,
            oslo_messaging.Target(topic="conductor", server="oslo-conductor"),
            [endpoint],
            executor="threading",
        )
        server.start()
        started.append((server, transport))
        return endpoint

    yield start
    for server, transport in started:
        server.stop()
        server.wait()
        transport.cleanup()


def refnova_api(vhost, db_url="sqlite://"):
    """An in-process refnova API (no conductor: the transport is RabbitMQ)."""
    return Deployment(Settings(db_url=db_url, transport_url=vhost.url))


def create(deployment, name="vm"):
    import webob

    body = {"server": {"name": name, "imageRef": IMAGE_ID, "flavorRef": "1"}}
    request = webob.Request.blank(
        "/v2/%s/servers" % PROJECT,
        method="POST",
        body=json.dumps(body).encode(),
        headers={"X-Auth-Token": "demo:%s" % PROJECT, "Content-Type": "application/json"},
    )
    response = request.get_response(deployment.app)
    assert response.status_int == 202, response.body
    return json.loads(response.body)["server"]["id"], response.headers["x-compute-request-id"]


def test_an_oslo_messaging_server_receives_refnova_s_build_instances_cast(vhost, oslo_server):
    with refnova_api(vhost) as api:
        # Published before the oslo server ever ran: refnova declared the queue, so it waits
        # there, and the oslo server's own declaration of the same queue is accepted.
        early_id, early_request = create(api, "early")
        endpoint = oslo_server()
        late_id, late_request = create(api, "late")
        received = [endpoint.received.get(timeout=20), endpoint.received.get(timeout=20)]

    by_uuid = {
        kwargs["instances"][0]["nova_object.data"]["uuid"]: (ctxt, kwargs)
        for ctxt, kwargs in received
    }
    assert set(by_uuid) == {early_id, late_id}
    for server_id, request_id in ((early_id, early_request), (late_id, late_request)):
        ctxt, kwargs = by_uuid[server_id]
        assert ctxt["request_id"] == request_id
        assert ctxt["user_id"] == "demo" and ctxt["project_id"] == PROJECT
        assert ctxt["roles"] == ["member"] and ctxt["is_admin"] is False
        assert set(kwargs) == {
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
        instance = kwargs["instances"][0]
        assert instance["nova_object.name"] == "Instance"
        assert instance["nova_object.data"]["vm_state"] == "building"
        assert kwargs["image"]["id"] == IMAGE_ID
        assert kwargs["filter_properties"]["instance_type"]["flavorid"] == "1"
        assert kwargs["security_groups"] == ["default"]
        assert kwargs["legacy_bdm"] is False
        assert kwargs["block_device_mapping"][0]["instance_uuid"] == server_id


def test_refnova_s_conductor_serves_a_cast_from_an_oslo_messaging_client(cluster, vhost, tmp_path):
    db_url = "sqlite:///%s" % (tmp_path / "refnova.db")
    with refnova_api(vhost, db_url) as api:
        server_id, _ = create(api)
        flavor = {
            "id": 1,
            "flavorid": "1",
            "name": "m1.tiny",
            "memory_mb": 512,
            "vcpus": 1,
            "root_gb": 1,
            "ephemeral_gb": 0,
            "swap": 0,
        }
    assert len(vhost.drain("conductor")) == 1  # refnova's own cast: out of the way

    transport = oslo_transport(vhost)
    try:
        client = oslo_messaging.get_rpc_client(
            transport,
            oslo_messaging.Target(topic="conductor", namespace="compute_task", version="1.0"),
        )
        ctxt = oslo_context.RequestContext(
            user_id="demo", project_id=PROJECT, request_id="req-from-oslo"
        ).to_dict()
        args = dict(
            instances=[
                {
                    "nova_object.name": "Instance",
                    "nova_object.namespace": "nova",
                    "nova_object.version": "1.13",
                    "nova_object.data": {"uuid": server_id},
                }
            ],
            image={"id": IMAGE_ID, "properties": {}},
            filter_properties={"instance_type": flavor, "scheduler_hints": {}},
            admin_password="secret",
            injected_files=[],
            requested_networks=None,
            security_groups=["default"],
            block_device_mapping=[],
            legacy_bdm=False,
        )
        client.prepare(version="1.5").cast(ctxt, "build_instances", **args)
        # A version the conductor does not serve goes to the dead-letter queue, with the reason.
        client.prepare(version="1.7").cast(ctxt, "build_instances", **args)
    finally:
        transport.cleanup()

    conductor = cluster.conductor(db_url, vhost.url)
    conductor.wait_for_line("Built instance %s" % server_id)
    conductor.wait_for_line("Rejecting message")
    # The rejection is logged before its copy is published to the dead-letter queue.
    poll_until(lambda: vhost.ready_count("conductor.dead"), lambda ready: ready > 0, 20)
    import sqlalchemy

    engine = sqlalchemy.create_engine(db_url)
    with engine.connect() as conn:
        state, host = conn.execute(
            sqlalchemy.text("SELECT vm_state, host FROM instances WHERE uuid = :u"),
            {"u": server_id},
        ).one()
    engine.dispose()
    assert (state, host is not None) == ("active", True)
    assert conductor.built() == {server_id: 1}
    ((headers, body, _),) = vhost.drain("conductor.dead")
    assert headers["x-refnova-dead-letter-reason"] == (
        "Endpoint does not support RPC version 1.7. Attempted method: build_instances"
    )
    assert json.loads(json.loads(body)["oslo.message"])["version"] == "1.7"


def test_oslo_messaging_loses_a_cast_sent_before_any_server_ran_and_refnova_does_not(
    vhost, oslo_server
):
    transport = oslo_transport(vhost)
    try:
        client = oslo_messaging.get_rpc_client(
            transport,
            oslo_messaging.Target(topic="conductor", namespace="compute_task", version="1.5"),
        )
        client.cast({"request_id": "req-lost"}, "build_instances", instances=[])
    finally:
        transport.cleanup()
    assert not vhost.queue_exists("conductor")  # oslo declared the exchange only: dropped
    with refnova_api(vhost) as api:
        server_id, _ = create(api)
    endpoint = oslo_server()
    ctxt, kwargs = endpoint.received.get(timeout=20)
    assert kwargs["instances"][0]["nova_object.data"]["uuid"] == server_id
    time.sleep(1.0)
    assert endpoint.received.empty()  # the oslo cast never arrives
