"""``/v2.1`` and ``/v2.1/`` are Nova 34.0.0's ``oscomputeversion_v2`` pipeline, not the v2.1
API's: no sizelimit, no authtoken, and ``VersionsV2`` (a ``wsgi.Resource`` of one action)
answers any method with the version document. Probed with Nova 34.0.0 (M33, M34, M35);
``/v2/`` stays Icehouse's, in the v2 pipeline."""

import json

import pytest
import webob

TOO_LARGE = json.dumps({"pad": "a" * 120000}).encode()


def _send(client, method, path, body=b"", **headers):
    request = webob.Request.blank(path, method=method, headers=headers, body=body)
    return request.get_response(client.deployment.app)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/v2.1", "/v2.1/"])
def test_any_method_without_credentials_gets_the_version_document(client, method, path):
    response = _send(client, method, path, TOO_LARGE, **{"Content-Type": "application/json"})
    assert response.status_int == 200
    assert response.json["version"]["id"] == "v2.1"
    assert response.headers["OpenStack-API-Version"] == "compute 2.1"
    assert response.headers["x-openstack-request-id"] == response.headers["x-compute-request-id"]


def test_head_gets_the_document_s_headers_without_its_body(client):
    response = _send(client, "HEAD", "/v2.1/")
    assert response.status_int == 200
    assert response.body == b""
    assert int(response.headers["Content-Length"]) > 0


@pytest.mark.parametrize(
    ("headers", "body", "status", "message"),
    [
        ({"OpenStack-API-Version": "compute 2.999"}, b"x", 406, None),
        ({"Content-Type": "application/xml"}, b"x", 415, "Unsupported Content-Type"),
        ({"Content-Type": "application/json"}, b"x", 400, "Malformed request body"),
    ],
)
def test_the_microversion_then_the_type_then_the_body_are_checked(
    client, headers, body, status, message
):
    # wsgi.Resource.__call__: set_api_version_request, get_content_type, then the body.
    response = _send(client, "POST", "/v2.1/", body, **headers)
    assert response.status_int == status
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert "x-compute-request-id" in response.headers
    if message:
        assert next(iter(response.json.values()))["message"] == message


def test_v2_s_version_document_stays_in_icehouse_s_pipeline(client):
    assert _send(client, "GET", "/v2/").status_int == 401
    token = {"X-Auth-Token": "u:%s" % client.project_id}
    assert _send(client, "GET", "/v2/", TOO_LARGE, **token).status_int == 413
