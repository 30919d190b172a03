"""A trailing slash on a resource's path is a path no route takes: Nova's routes Mapper has
``minimization`` off (Nova 34.0.0's, and Icehouse's under Routes>=1.12.3), so its patterns end
at the resource's last segment (fixtures M36 to M44, fixtures/v2/trailing-slash-*.json). Nova
answers WebOb's own 404 there; refnova its itemNotFound fault with the same text, as for
every unrouted path. The version documents answer with and without their slash."""

import pytest

NOT_FOUND = {"itemNotFound": {"message": "The resource could not be found.", "code": 404}}


def _server_body(client):
    defaults = client.defaults
    return {
        "server": {
            "name": "vm",
            "imageRef": defaults["image_id"],
            "flavorRef": defaults["flavor_id"],
        }
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2.1/servers/"),
        ("GET", "/v2.1/servers/detail/"),
        ("GET", "/v2.1/{project_id}/servers/"),
        ("GET", "/v2.1/os-keypairs/"),
        ("GET", "/v2.1/limits/"),
        ("GET", "/v2.1/flavors/"),
        ("GET", "/v2.1/flavors/1/"),
        ("GET", "/v2/{project_id}/servers/"),
        ("GET", "/v2/{project_id}/servers/detail/"),
        ("GET", "/v2/{project_id}/flavors/"),
        ("GET", "/v2/{project_id}/flavors/1/"),
        ("GET", "/v1.1/{project_id}/servers/"),
    ],
)
def test_a_trailing_slash_on_a_resource_is_unrouted(client, method, path):
    response = client.request(method, path.format(project_id=client.project_id))
    assert response.status_int == 404
    assert response.json == NOT_FOUND


@pytest.mark.parametrize("prefix", ["/v2.1", "/v2.1/{project_id}", "/v2/{project_id}"])
def test_a_create_with_a_trailing_slash_creates_nothing(client, prefix):
    prefix = prefix.format(project_id=client.project_id)
    response = client.request("POST", prefix + "/servers/", _server_body(client))
    assert response.status_int == 404
    assert response.json == NOT_FOUND
    assert client.request("GET", prefix + "/servers").json == {"servers": []}


@pytest.mark.parametrize("prefix", ["/v2.1", "/v2/{project_id}"])
def test_a_server_under_a_trailing_slash_is_neither_shown_nor_deleted(client, prefix):
    prefix = prefix.format(project_id=client.project_id)
    server_id = client.request("POST", prefix + "/servers", _server_body(client)).json["server"][
        "id"
    ]
    for method in ("GET", "DELETE"):
        response = client.request(method, "%s/servers/%s/" % (prefix, server_id))
        assert (response.status_int, response.json) == (404, NOT_FOUND)
    assert client.request("GET", "%s/servers/%s" % (prefix, server_id)).status_int == 200


@pytest.mark.parametrize(
    ("path", "version_id"),
    [("/v2/", "v2.0"), ("/v2.1", "v2.1"), ("/v2.1/", "v2.1")],
)
def test_a_version_document_answers_with_and_without_its_slash(client, path, version_id):
    response = client.request("GET", path)
    assert response.status_int == 200
    assert response.json["version"]["id"] == version_id


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_v2_without_its_slash_is_redirected_to_it_whatever_the_method(client, method):
    # Icehouse's router: mapper.redirect("", "/"), no method condition; WebOb (as Icehouse's
    # FaultWrapper) makes the Location absolute. Nothing else is answered: no body.
    response = client.request(method, "/v2")
    assert response.status_int == 302
    assert response.headers["Location"] == "http://localhost/v2/"
    assert response.headers["Content-Type"] == "text/plain; charset=utf8"
    assert response.body == b""
