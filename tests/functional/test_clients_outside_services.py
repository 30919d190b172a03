"""Glance and Neutron for real: refnova's clients against `responses` stubs whose bodies are
shaped like the services' own, each for success, not found, unauthorized and down.

Down (unreachable, timing out, 5xx) is a 503 serviceUnavailable for the client and leaves
nothing written; the other answers are Nova's (A6a, A6b, A6c, A18).
"""

import json
import re
import urllib.parse

import pytest
import requests
import responses
from sqlalchemy import func, select

from refnova import exception
from refnova.context import RequestContext
from refnova.db import models
from refnova.image import glance
from refnova.network import neutron
from tests.support.deployment import Client, make_deployment

GLANCE = "http://glance.test:9292"
NEUTRON = "http://neutron.test:9696"
PROJECT = "6f70656e737461636b20342065766572"
IMAGE = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
NETWORK = "3cb9bc59-5699-4588-a4b1-b87f96708bc6"
SUBNET = "f8a6e8f8-c2ec-497c-9f23-da9616de54ef"
FREE_PORT = "ce531f90-199f-48c0-816c-13e38010b442"
BUSY_PORT = "88c6e0f6-5a79-4d4e-9a55-2a1c1d0e7b3a"
MISSING_PORT = "7d1c9e2a-3b4f-4a5e-8c6d-9e0f1a2b3c4d"
IMAGE_URL = "%s/v2/images/%s" % (GLANCE, IMAGE)


def glance_image(**changes):
    """GET /v2/images/{id} as Glance (v2.x) answers it."""
    image = {
        "id": IMAGE,
        "name": "cirros-0.6.2-x86_64-disk",
        "status": "active",
        "visibility": "public",
        "protected": False,
        "tags": [],
        "size": 21430272,
        "virtual_size": 117440512,
        "min_ram": 0,
        "min_disk": 0,
        "disk_format": "qcow2",
        "container_format": "bare",
        "checksum": "c8fc807773e5354afe61636071771906",
        "os_hash_algo": "sha512",
        "os_hash_value": "1103b92ce8ad966e41235a4de260deb7",
        "os_hidden": False,
        "owner": "4e8f3b1c9a2d4b6f8e0a1c3d5f7b9e2a",
        "created_at": "2026-10-01T09:12:44Z",
        "updated_at": "2026-10-01T09:12:46Z",
        "self": "/v2/images/%s" % IMAGE,
        "file": "/v2/images/%s/file" % IMAGE,
        "schema": "/v2/schemas/image",
        "hw_disk_bus": "virtio",
        "os_distro": "cirros",
    }
    image.update(changes)
    return image


def webob_page(status, title, text):
    """The HTML error page Glance's WSGI stack (WebOb) writes."""
    return (
        "<html>\n <head>\n  <title>%d %s</title>\n </head>\n <body>\n  <h1>%d %s</h1>\n"
        "  %s<br /><br />\n\n\n\n </body>\n</html>" % (status, title, status, title, text)
    )


KEYSTONE_401 = {
    "error": {
        "code": 401,
        "title": "Unauthorized",
        "message": "The request you have made requires authentication.",
    }
}


def neutron_port(port_id, device_id="", fixed_ips=True):
    return {
        "id": port_id,
        "name": "",
        "network_id": NETWORK,
        "tenant_id": PROJECT,
        "project_id": PROJECT,
        "mac_address": "fa:16:3e:4c:2c:30",
        "admin_state_up": True,
        "status": "DOWN" if not device_id else "ACTIVE",
        "device_id": device_id,
        "device_owner": "compute:nova" if device_id else "",
        "fixed_ips": [{"subnet_id": SUBNET, "ip_address": "192.168.1.3"}] if fixed_ips else [],
        "security_groups": ["0b8c1f5e-7a5f-4c3e-9a0d-6f2e1b3c4d5e"],
        "binding:vnic_type": "normal",
        "port_security_enabled": True,
        "created_at": "2026-10-01T09:20:00Z",
        "updated_at": "2026-10-01T09:20:00Z",
        "revision_number": 1,
        "tags": [],
        "description": "",
    }


def neutron_not_found(kind, resource_id):
    return {
        "NeutronError": {
            "type": "%sNotFound" % kind.capitalize(),
            "message": "%s %s could not be found." % (kind.capitalize(), resource_id),
            "detail": "",
        }
    }


def context(token="tok-demo"):
    return RequestContext(user_id="demo", project_id=PROJECT, auth_token=token)


def instance_rows(deployment):
    with deployment.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(models.Instance))


def quota_in_use(deployment):
    with deployment.db.transaction() as session:
        return session.scalar(select(func.coalesce(func.sum(models.QuotaUsage.in_use), 0)))


# ----------------------------------------------------------------------------- Glance client


@responses.activate
def test_glance_client_success_sends_the_caller_s_token_and_shapes_nova_s_image():
    responses.add(responses.GET, IMAGE_URL, json=glance_image())
    image = glance.GlanceClient(GLANCE).show(context(), IMAGE)
    assert responses.calls[0].request.headers["X-Auth-Token"] == "tok-demo"
    assert image["id"] == IMAGE and image["status"] == "active" and image["is_public"]
    assert image["min_ram"] == 0 and image["size"] == 21430272
    assert image["properties"] == {"hw_disk_bus": "virtio", "os_distro": "cirros"}


@responses.activate
@pytest.mark.parametrize(
    "status, error",
    [
        (404, exception.ImageNotFound),
        (401, exception.ImageNotAuthorized),
        (403, exception.ImageNotAuthorized),
        (400, exception.Invalid),
        (500, exception.ServiceUnavailable),
        (503, exception.ServiceUnavailable),
    ],
)
def test_glance_client_error_answers(status, error):
    responses.add(
        responses.GET,
        IMAGE_URL,
        status=status,
        content_type="text/html",
        body=webob_page(status, "Error", "No image found with ID %s" % IMAGE),
    )
    with pytest.raises(error):
        glance.GlanceClient(GLANCE).show(context(), IMAGE)


@responses.activate
@pytest.mark.parametrize(
    "failure", [requests.ConnectionError("refused"), requests.Timeout("read timed out")]
)
def test_glance_client_down_is_service_unavailable(failure):
    responses.add(responses.GET, IMAGE_URL, body=failure)
    with pytest.raises(exception.ServiceUnavailable) as raised:
        glance.GlanceClient(GLANCE).show(context(), IMAGE)
    assert raised.value.code == 503
    assert "the image service (Glance) is unreachable" in raised.value.format_message()


@responses.activate
def test_glance_client_answer_without_an_image_is_service_unavailable():
    responses.add(responses.GET, IMAGE_URL, body="<html>proxy</html>", content_type="text/html")
    with pytest.raises(exception.ServiceUnavailable):
        glance.GlanceClient(GLANCE).show(context(), IMAGE)


# ----------------------------------------------------------------------------- through the API


@pytest.fixture
def glance_api():
    with make_deployment(glance_url=GLANCE) as deployment:
        yield Client(deployment)


@responses.activate
def test_create_with_real_glance_succeeds_and_the_server_goes_active(glance_api):
    responses.add(responses.GET, IMAGE_URL, json=glance_image())
    response = glance_api.create()
    assert response.status_int == 202, response.text
    assert glance_api.wait_for_status(response.json["server"]["id"])["status"] == "ACTIVE"
    assert responses.calls[0].request.headers["X-Auth-Token"] == "demo:%s" % PROJECT


@responses.activate
def test_create_with_an_image_glance_does_not_find_is_a6a(glance_api):
    responses.add(
        responses.GET,
        IMAGE_URL,
        status=404,
        content_type="text/html",
        body=webob_page(404, "Not Found", "No image found with ID %s" % IMAGE),
    )
    response = glance_api.create()
    assert response.status_int == 400
    assert response.json == {"badRequest": {"message": "Can not find requested image", "code": 400}}
    assert instance_rows(glance_api.deployment) == 0


@responses.activate
@pytest.mark.parametrize("status", [401, 403])
def test_glance_refusing_the_token_is_a6b_nova_s_generic_500(glance_api, status):
    responses.add(responses.GET, IMAGE_URL, status=status, json=KEYSTONE_401)
    response = glance_api.create()
    assert response.status_int == 500
    assert response.json == {
        "computeFault": {
            "message": "The server has either erred or is incapable of performing\r\n"
            "the requested operation.\r\n",
            "code": 500,
        }
    }
    assert instance_rows(glance_api.deployment) == 0


@responses.activate
def test_glance_400_is_a6c_with_glance_s_text(glance_api):
    text = "400 Bad Request\n\nInvalid image id\n\n   "
    responses.add(responses.GET, IMAGE_URL, status=400, body=text, content_type="text/plain")
    response = glance_api.create()
    assert response.status_int == 400
    assert response.json == {"badRequest": {"message": text.strip(), "code": 400}}


@responses.activate
@pytest.mark.parametrize(
    "failure", [requests.ConnectionError("refused"), requests.Timeout("timed out"), 503]
)
def test_glance_down_is_503_and_nothing_is_written(glance_api, failure):
    if isinstance(failure, int):
        responses.add(responses.GET, IMAGE_URL, status=failure, body="Service Unavailable")
    else:
        responses.add(responses.GET, IMAGE_URL, body=failure)
    response = glance_api.create()
    assert response.status_int == 503
    fault = response.json["serviceUnavailable"]
    assert fault["code"] == 503 and "the image service (Glance)" in fault["message"]
    assert instance_rows(glance_api.deployment) == 0
    assert quota_in_use(glance_api.deployment) == 0


# ----------------------------------------------------------------------------- Neutron

NETWORKS = [
    {
        "id": NETWORK,
        "name": "private",
        "tenant_id": PROJECT,
        "project_id": PROJECT,
        "shared": False,
        "subnets": [SUBNET],
        "status": "ACTIVE",
        "admin_state_up": True,
        "router:external": False,
        "mtu": 1450,
        "availability_zones": ["nova"],
    }
]
GROUPS = [
    {
        "id": "4c3b2a19-0f8e-4d7c-9b6a-5e4d3c2b1a09",
        "name": "default",
        "tenant_id": PROJECT,
        "project_id": PROJECT,
        "description": "Default security group",
        "security_group_rules": [],
    }
]


def _filtered(items, query):
    def keep(item):
        for key, wanted in query.items():
            value = item.get(key)
            value = str(value) if not isinstance(value, bool) else str(value)
            if value not in wanted:
                return False
        return True

    return [item for item in items if keep(item)]


class FakeNeutron:
    """Neutron's v2.0 API over `responses`, with its filters, its port bodies and its errors."""

    def __init__(self, ports, token_ok=lambda token: True):
        self.ports = {port["id"]: port for port in ports}
        self.token_ok = token_ok
        responses.add_callback(responses.GET, re.compile(NEUTRON + r"/v2\.0/.*"), self.answer)

    def answer(self, request):
        if not self.token_ok(request.headers.get("X-Auth-Token")):
            return 401, {}, json.dumps(KEYSTONE_401)
        url = urllib.parse.urlsplit(request.url)
        query = urllib.parse.parse_qs(url.query)
        path = url.path[len("/v2.0/") :]
        if path.startswith("ports/"):
            port_id = path.split("/", 1)[1]
            if port_id not in self.ports:
                return 404, {}, json.dumps(neutron_not_found("port", port_id))
            return 200, {}, json.dumps({"port": self.ports[port_id]})
        if path == "ports":
            return 200, {}, json.dumps({"ports": _filtered(list(self.ports.values()), query)})
        if path == "networks":
            query = {k: v for k, v in query.items()}
            return 200, {}, json.dumps({"networks": _filtered(NETWORKS, query)})
        if path.startswith("quotas/"):
            return 200, {}, json.dumps({"quota": {"port": 50, "network": 100, "subnet": 100}})
        if path == "security-groups":
            return 200, {}, json.dumps({"security_groups": _filtered(GROUPS, query)})
        return (
            404,
            {},
            json.dumps(
                {"NeutronError": {"type": "HTTPNotFound", "message": "not here", "detail": ""}}
            ),
        )


@pytest.fixture
def neutron_api():
    with make_deployment(neutron_url=NEUTRON) as deployment:
        yield Client(deployment)


@responses.activate
def test_neutron_client_success_and_not_found():
    FakeNeutron([neutron_port(FREE_PORT)])
    client = neutron.NeutronClient(NEUTRON)
    assert client.show_port(context(), FREE_PORT)["fixed_ips"][0]["ip_address"] == "192.168.1.3"
    assert responses.calls[0].request.headers["X-Auth-Token"] == "tok-demo"
    with pytest.raises(neutron.NeutronError) as raised:
        client.show_port(context(), MISSING_PORT)
    assert raised.value.status == 404
    assert raised.value.message == "Port %s could not be found." % MISSING_PORT


@responses.activate
def test_neutron_client_unauthorized_is_an_error_not_a_crash():
    FakeNeutron([], token_ok=lambda token: False)
    with pytest.raises(neutron.NeutronError) as raised:
        neutron.NeutronClient(NEUTRON).list_networks(context())
    assert raised.value.status == 401
    assert isinstance(raised.value, exception.NovaException)


@responses.activate
@pytest.mark.parametrize(
    "failure", [requests.ConnectionError("refused"), requests.Timeout("timed out")]
)
def test_neutron_client_down_is_service_unavailable(failure):
    responses.add(responses.GET, re.compile(NEUTRON + ".*"), body=failure)
    with pytest.raises(exception.ServiceUnavailable) as raised:
        neutron.NeutronClient(NEUTRON).show_port(context(), FREE_PORT)
    assert "the networking service (Neutron) is unreachable" in raised.value.format_message()


@responses.activate
def test_create_on_a_real_neutron_port_succeeds(neutron_api):
    FakeNeutron([neutron_port(FREE_PORT)])
    response = neutron_api.create({"networks": [{"port": FREE_PORT}]})
    assert response.status_int == 202, response.text
    server = neutron_api.wait_for_status(response.json["server"]["id"])
    assert server["status"] == "ACTIVE"
    assert server["addresses"]["private"][0]["addr"] == "192.168.1.3"


@responses.activate
def test_a_port_neutron_does_not_find_is_port_not_found(neutron_api):
    FakeNeutron([])
    response = neutron_api.create({"networks": [{"port": MISSING_PORT}]})
    assert response.status_int == 400
    assert response.json == {
        "badRequest": {"message": "Port id %s could not be found." % MISSING_PORT, "code": 400}
    }
    assert instance_rows(neutron_api.deployment) == 0


@responses.activate
def test_a_port_with_a_device_is_port_in_use(neutron_api):
    FakeNeutron([neutron_port(BUSY_PORT, device_id="6b3f3a4e-0d5c-4e5e-9d07-2c5d8b0a9e11")])
    response = neutron_api.create({"networks": [{"port": BUSY_PORT}]})
    assert response.status_int == 409
    assert response.json == {
        "conflictingRequest": {"message": "Port %s is still in use." % BUSY_PORT, "code": 409}
    }
    assert instance_rows(neutron_api.deployment) == 0


@responses.activate
def test_neutron_refusing_the_token_is_nova_s_generic_500(neutron_api):
    FakeNeutron([], token_ok=lambda token: False)
    response = neutron_api.create({"networks": [{"uuid": NETWORK}]})
    assert response.status_int == 500
    assert list(response.json) == ["computeFault"]
    assert instance_rows(neutron_api.deployment) == 0


@responses.activate
@pytest.mark.parametrize(
    "failure", [requests.ConnectionError("refused"), requests.Timeout("timed out"), 502]
)
def test_neutron_down_is_503_and_nothing_is_written(neutron_api, failure):
    if isinstance(failure, int):
        responses.add(responses.GET, re.compile(NEUTRON + ".*"), status=failure, body="Bad Gateway")
    else:
        responses.add(responses.GET, re.compile(NEUTRON + ".*"), body=failure)
    response = neutron_api.create({"networks": [{"uuid": NETWORK}]})
    assert response.status_int == 503
    assert "the networking service (Neutron)" in response.json["serviceUnavailable"]["message"]
    assert instance_rows(neutron_api.deployment) == 0
    assert quota_in_use(neutron_api.deployment) == 0
