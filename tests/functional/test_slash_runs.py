"""A run of slashes is one, anywhere in the path: Nova's ``osapi_compute`` urlmap (Icehouse's
and Nova 34.0.0's) normalizes ``PATH_INFO`` with paste's ``URLMap.normalize_url`` (``//+`` to
``/``) before it matches a version's prefix, and hands the normalized path on. Probed with
Nova 34.0.0: each of these answers as its path with single slashes (fixtures M27, M30)."""

import json

import pytest
import webob


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/v2.1//flavors", "flavors"),
        ("//v2.1/flavors", "flavors"),
        ("/v2.1/servers//detail", "servers"),
        ("///v2.1///servers///detail", "servers"),
        ("/v2.1/{project_id}//servers", "servers"),
        ("//v2/{project_id}/flavors", "flavors"),
        ("/v2//{project_id}//flavors", "flavors"),
        ("/v2.1//", "version"),
        ("//v2.1", "version"),
    ],
)
def test_a_run_of_slashes_under_a_version_is_one(client, path, key):
    response = client.request("GET", path.format(project_id=client.project_id))
    assert response.status_int == 200
    assert key in response.json


def test_a_create_under_a_run_of_slashes_links_the_server_with_single_slashes(client):
    headers = {"OpenStack-API-Version": "compute 2.37"}
    response = client.create({"networks": "auto"}, path="/v2.1//servers", headers=headers)
    assert response.status_int == 202
    server_id = response.json["server"]["id"]
    assert response.headers["Location"] == "http://localhost/v2.1/servers/%s" % server_id


def test_outside_every_version_a_run_of_slashes_is_one_too(client):
    response = client.request("GET", "//v3//", headers={"X-Auth-Token": None})
    assert response.status_int == 300
    assert response.json["choices"][0]["links"][0]["href"] == "http://localhost/v2/v3"


def _raw(client, method, path, body, content_type="application/json"):
    headers = {"Content-Type": content_type}
    request = webob.Request.blank(path, method=method, headers=headers, body=body)
    return request.get_response(client.deployment.app)


@pytest.mark.parametrize(("method", "path"), [("GET", "/"), ("POST", "//"), ("PUT", "/")])
def test_the_version_list_answers_whatever_the_body_s_size(client, method, path):
    # Nova 34.0.0's oscomputeversions pipeline has no sizelimit (M32).
    body = json.dumps({"pad": "a" * 120000}).encode()
    response = _raw(client, method, path, body)
    assert response.status_int == 200
    assert [version["id"] for version in response.json["versions"]] == ["v2.0", "v2.1"]


@pytest.mark.parametrize(
    ("method", "path", "content_type"),
    [("POST", "/", "application/json"), ("PUT", "/", "text/plain"), ("POST", "/v3", None)],
)
def test_the_versions_app_reads_a_post_s_body_as_json(client, method, path, content_type):
    # wsgi.Resource's _get_request_content: POST and PUT bodies are JSON, or a 400 (M31).
    response = _raw(client, method, path, b"x" * 120000, content_type or "")
    assert response.status_int == 400
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert response.json == {"badRequest": {"message": "Malformed request body", "code": 400}}
    assert "x-compute-request-id" not in response.headers


def test_a_get_s_body_is_not_read_by_the_versions_app(client):
    response = _raw(client, "GET", "/v3/", b"x" * 120000)
    assert response.status_int == 300
