"""The compute API accepts the identity service's tokens (user, project, roles from the
token) and keeps reading noauth2 tokens; a token of ours that no longer verifies is 401."""

import json

import pytest
import webob

from refnova.api.openstack.auth import NoAuth
from refnova.api.openstack.identity.tokens import TokenIssuer
from tests.support.deployment import make_deployment

from .conftest import ADMIN_PROJECT, DEMO_PROJECT, Clock

IMAGE = "155d900f-4e14-4e4c-a73d-069cbf4541e6"


def authenticate(authenticator, token):
    return authenticator.authenticate(webob.Request.blank("/", headers={"X-Auth-Token": token}))


def test_a_token_of_ours_gives_its_user_project_and_roles(cloud):
    context = authenticate(cloud.authenticator, cloud.token())
    assert (context.user_id, context.project_id) == ("demo", DEMO_PROJECT)
    assert context.roles == ["member", "reader"] and not context.is_admin
    assert context.user_name == "demo" and context.project_name == "demo"
    admin = authenticate(cloud.authenticator, cloud.token("admin"))
    assert admin.project_id == ADMIN_PROJECT and admin.is_admin


def test_noauth2_tokens_keep_their_reading(cloud):
    context = authenticate(cloud.authenticator, "alice:%s" % DEMO_PROJECT)
    assert (context.user_id, context.project_id, context.is_admin) == ("alice", DEMO_PROJECT, False)
    assert authenticate(NoAuth(), "rnv1.x.y").project_id == "rnv1.x.y"  # no issuer: noauth2


def test_an_expired_forged_or_unscoped_token_of_ours_is_refused(cloud):
    token = cloud.token()
    assert authenticate(cloud.authenticator, token[:-3] + "abc") is None
    unscoped = cloud.authenticate(
        {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"id": "demo", "password": "demo"}},
            }
        }
    ).headers["X-Subject-Token"]
    assert authenticate(cloud.authenticator, unscoped) is None
    cloud.clock.now += 3600
    assert authenticate(cloud.authenticator, token) is None


@pytest.fixture
def deployment():
    with make_deployment(token_key="test-key") as dep:
        yield dep


def issue(deployment, user, project):
    auth = {
        "identity": {
            "methods": ["password"],
            "password": {"user": {"name": user, "domain": {"id": "default"}, "password": user}},
        },
        "scope": {"project": {"id": project}},
    }
    req = webob.Request.blank(
        "/identity/v3/auth/tokens", method="POST", body=json.dumps({"auth": auth}).encode()
    )
    response = req.get_response(deployment.app)
    assert response.status_int == 201, response.body
    return response.headers["X-Subject-Token"]


def post_server(deployment, path, token):
    body = {"server": {"name": "vm", "imageRef": IMAGE, "flavorRef": "1"}}
    req = webob.Request.blank(
        path,
        method="POST",
        body=json.dumps(body).encode(),
        headers={"X-Auth-Token": token, "Content-Type": "application/json"},
    )
    return req.get_response(deployment.app)


def test_the_deployment_s_compute_api_creates_for_the_token_s_project(deployment):
    token = issue(deployment, "demo", DEMO_PROJECT)
    created = post_server(deployment, "/v2.1/servers", token)
    assert created.status_int == 202, created.body
    server_id = created.json["server"]["id"]
    shown = webob.Request.blank(
        "/v2/%s/servers/%s" % (DEMO_PROJECT, server_id), headers={"X-Auth-Token": token}
    ).get_response(deployment.app)
    assert shown.status_int == 200
    assert (shown.json["server"]["tenant_id"], shown.json["server"]["user_id"]) == (
        DEMO_PROJECT,
        "demo",
    )
    # The token's project, not the URL's, is the caller's (Nova's check, 400).
    assert post_server(deployment, "/v2/%s/servers" % ADMIN_PROJECT, token).status_int == 400


def test_the_deployment_s_compute_api_refuses_a_dead_token_and_reads_noauth2(deployment):
    token = issue(deployment, "demo", DEMO_PROJECT)
    assert post_server(deployment, "/v2.1/servers", token + "x").status_int == 401
    assert post_server(deployment, "/v2.1/servers", "demo:%s" % DEMO_PROJECT).status_int == 202


def test_tokens_of_one_key_are_good_in_another_process_with_the_same_key():
    with (
        make_deployment(token_key="shared") as first,
        make_deployment(token_key="shared") as second,
    ):
        token = issue(first, "demo", DEMO_PROJECT)
        assert post_server(second, "/v2.1/servers", token).status_int == 202


def test_behind_an_outside_keystone_there_is_no_built_in_identity():
    with make_deployment(keystone_url="http://keystone:5000/v3") as deployment:
        assert deployment.tokens is None
        response = webob.Request.blank("/identity/v3").get_response(deployment.app)
        # the compute API's answer to a path outside every version: the choices
        assert response.status_int == 300
        assert "choices" in response.json


def test_one_issuer_object_serves_identity_and_compute(cloud):
    assert cloud.authenticator.issuer is cloud.issuer
    other = NoAuth(TokenIssuer(b"o" * 32, clock=Clock()))
    assert authenticate(other, cloud.token()) is None
