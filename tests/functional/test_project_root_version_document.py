"""``GET /v2.1/{project_id}/``, the endpoint a Keystone catalog often lists: Nova 34.0.0's
ProjectMapper connects ``/`` under ``{project_id:[0-9a-f-]+}/`` too, so a project's root is
the v2.1 version document, but a routed path of the v2.1 pipeline (M47 to M51): sizelimit,
authentication, the microversion, then the URL's project id. Icehouse's /v2 had no such
route: ``/v2/{project_id}/`` is unrouted (fixtures/v2/project-root*.json)."""

import json

import pytest
import webob

OTHER_PROJECT = "0123456789abcdef0123456789abcdef"
TOO_LARGE = json.dumps({"pad": "a" * 120000}).encode()


def _send(client, method, path, body=b"", token=True, **headers):
    if token:
        headers["X-Auth-Token"] = "u:%s" % client.project_id
    request = webob.Request.blank(path, method=method, headers=headers, body=body)
    return request.get_response(client.deployment.app)


def test_a_project_s_root_is_the_same_document_as_the_version_s(client):
    root = _send(client, "GET", "/v2.1/%s/" % client.project_id)
    version = _send(client, "GET", "/v2.1/")
    assert root.status_int == 200
    assert root.json == version.json
    assert root.json["version"]["links"][0] == {"rel": "self", "href": "http://localhost/v2.1/"}
    assert root.headers["x-openstack-request-id"] == root.headers["x-compute-request-id"]


def test_a_project_s_root_is_behind_the_pipeline(client):
    path = "/v2.1/%s/" % client.project_id
    assert _send(client, "GET", path, token=False).status_int == 401
    assert _send(client, "GET", path, TOO_LARGE).status_int == 413


def test_the_microversion_comes_before_the_project_id(client):
    path = "/v2.1/%s/" % OTHER_PROJECT
    assert (
        _send(client, "GET", path, **{"OpenStack-API-Version": "compute 2.999"}).status_int == 406
    )
    response = _send(client, "GET", path)
    assert response.status_int == 400
    assert OTHER_PROJECT in response.json["badRequest"]["message"]


@pytest.mark.parametrize(
    "path",
    ["/v2.1/{p}", "/v2.1/servers/", "/v2.1/otherproject/", "/v2/{p}/", "/v2/{p}"],
)
def test_other_roots_stay_unrouted(client, path):
    assert _send(client, "GET", path.format(p=client.project_id)).status_int == 404
