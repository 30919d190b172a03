"""Real OpenStack clients against refnova's API over HTTP, unchanged: openstacksdk
(auth_type none, and Keystone) with create_server then wait_for_server, and
python-novaclient with servers.create and servers.get. Each creates a server, sees it
ACTIVE, and sees Nova's error for a flavor that does not exist.

The API runs as `refnova serve` runs it (refnova.http_server's waitress server) in this
process, so that `responses` can stand in for Keystone while the clients' calls to refnova
pass through to the real socket.
"""

import json
import time

import openstack
import pytest
import responses
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from novaclient import client as novaclient_client
from novaclient import exceptions as nova_exceptions

from refnova import http_server
from refnova.config import Settings
from tests.support.deployment import make_deployment
from tests.support.keystone import KEYSTONE, PROJECT, token_body

IMAGE = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
NOAUTH_PROJECT = "notused"  # keystoneauth's NoAuth sends X-Auth-Token: notused


class Recorder:
    """WSGI middleware that notes (method, path, status) of every request."""

    def __init__(self, app):
        self.app = app
        self.seen = []

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            self.seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], int(status[:3])))
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


@pytest.fixture
def served():
    """refnova's API on a free port, over real HTTP; yields (url, recorder, deployment)."""
    started = []

    def start(**settings):
        deployment = make_deployment(**settings)
        recorder = Recorder(deployment.app)
        server = http_server.make_server(recorder, Settings(host="127.0.0.1", port=0))
        started.append((server, http_server.start(server), deployment))
        return "http://127.0.0.1:%d" % http_server.bound_port(server), recorder, deployment

    yield start
    for server, stopping, deployment in started:
        http_server.stop(server, stopping)
        deployment.close()


def stub_keystone(compute_url):
    """Keystone v3 as keystoneauth meets it: discovery, a password token, validation."""
    version = {
        "version": {
            "id": "v3.14",
            "status": "stable",
            "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": KEYSTONE + "/v3/"}],
            "media-types": [
                {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
            ],
        }
    }
    for url in (KEYSTONE + "/v3", KEYSTONE + "/v3/"):
        responses.add(responses.GET, url, json=version)
    body = token_body()
    body["token"]["catalog"][0]["endpoints"][0]["url"] = "%s/v2/%s" % (compute_url, PROJECT)
    issued = []

    def issue(request):
        credentials = json.loads(request.body)["auth"]["identity"]["password"]["user"]
        if credentials["password"] != "secret":
            return (
                401,
                {},
                json.dumps(
                    {"error": {"code": 401, "title": "Unauthorized", "message": "bad credentials"}}
                ),
            )
        issued.append("gAAAAA-sdk-%d" % len(issued))
        return 201, {"X-Subject-Token": issued[-1]}, json.dumps(body)

    def validate(request):
        if request.headers.get("X-Subject-Token") not in issued:
            return (
                404,
                {},
                json.dumps(
                    {
                        "error": {
                            "code": 404,
                            "title": "Not Found",
                            "message": "Failed to validate token",
                        }
                    }
                ),
            )
        return 200, {"X-Subject-Token": request.headers["X-Subject-Token"]}, json.dumps(body)

    responses.add_callback(responses.POST, KEYSTONE + "/v3/auth/tokens", callback=issue)
    responses.add_callback(responses.GET, KEYSTONE + "/v3/auth/tokens", callback=validate)
    responses.add_passthru(compute_url)
    return issued


def _check_sdk(conn, recorder, project):
    server = conn.compute.create_server(name="sdk-vm", image_id=IMAGE, flavor_id="1")
    assert server.id and server.admin_password
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=20, interval=0.1)
    assert server.status == "ACTIVE" and server.name == "sdk-vm"
    with pytest.raises(openstack.exceptions.BadRequestException) as raised:
        conn.compute.create_server(name="bad", image_id=IMAGE, flavor_id="999")
    assert raised.value.status_code == 400
    assert "Invalid flavorRef provided." in str(raised.value)
    assert ("POST", "/v2/%s/servers" % project, 202) in recorder.seen
    assert ("GET", "/v2/%s/servers/%s" % (project, server.id), 200) in recorder.seen
    return server


def test_openstacksdk_with_auth_type_none(served):
    url, recorder, _ = served()
    conn = openstack.connect(
        load_yaml_config=False,
        load_envvars=False,
        auth_type="none",
        compute_endpoint_override="%s/v2/%s" % (url, NOAUTH_PROJECT),
    )
    _check_sdk(conn, recorder, NOAUTH_PROJECT)
    # The SDK discovered the API version from Icehouse's version document, following the
    # router's redirect of /v2 to /v2/ (an absolute Location, as Icehouse's FaultWrapper sent).
    assert ("GET", "/v2", 302) in recorder.seen
    assert ("GET", "/v2/", 200) in recorder.seen


@responses.activate
def test_openstacksdk_with_keystone(served):
    url, recorder, deployment = served(auth_strategy="keystone", keystone_url=KEYSTONE)
    issued = stub_keystone(url)
    conn = openstack.connect(
        load_yaml_config=False,
        load_envvars=False,
        auth_type="password",
        auth_url=KEYSTONE + "/v3",
        username="demo",
        password="secret",
        project_name="demo",
        user_domain_name="Default",
        project_domain_name="Default",
    )
    server = _check_sdk(conn, recorder, PROJECT)
    assert issued  # the SDK's own token
    shown = conn.compute.get_server(server.id)
    assert shown.user_id == "u-demo" and shown.project_id == PROJECT


def _check_novaclient(nova, recorder, project):
    created = nova.servers.create("nova-vm", IMAGE, "1")
    assert created.id and created.adminPass
    deadline = time.monotonic() + 20
    server = nova.servers.get(created.id)
    while server.status != "ACTIVE" and time.monotonic() < deadline:
        time.sleep(0.1)
        server = nova.servers.get(created.id)
    assert server.status == "ACTIVE" and server.name == "nova-vm"
    with pytest.raises(nova_exceptions.BadRequest) as raised:
        nova.servers.create("bad", IMAGE, "999")
    assert raised.value.code == 400
    assert raised.value.message == "Invalid flavorRef provided."
    assert raised.value.request_id.startswith("req-")
    assert ("POST", "/v2/%s/servers" % project, 202) in recorder.seen


def test_novaclient_without_keystone(served):
    url, recorder, _ = served()
    session = ks_session.Session(auth=noauth.NoAuth(endpoint="%s/v2/%s" % (url, NOAUTH_PROJECT)))
    _check_novaclient(novaclient_client.Client("2", session=session), recorder, NOAUTH_PROJECT)


@responses.activate
def test_novaclient_with_keystone(served):
    from keystoneauth1.identity import v3

    url, recorder, _ = served(auth_strategy="keystone", keystone_url=KEYSTONE)
    stub_keystone(url)
    auth = v3.Password(
        auth_url=KEYSTONE + "/v3",
        username="demo",
        password="secret",
        project_name="demo",
        user_domain_name="Default",
        project_domain_name="Default",
    )
    nova = novaclient_client.Client("2", session=ks_session.Session(auth=auth))
    _check_novaclient(nova, recorder, PROJECT)
