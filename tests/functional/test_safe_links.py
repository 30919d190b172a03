"""Safe links: ids that are not printable never reach a link, and links follow the public URL."""

import json

import pytest

from tests.support.deployment import Client, make_deployment

PUBLIC = "https://compute.example.org:8443"


@pytest.fixture
def public_client():
    with make_deployment(public_url=PUBLIC) as deployment:
        yield Client(deployment)


def _create(client, host):
    body = {
        "server": {
            "name": "vm",
            "imageRef": client.defaults["image_id"],
            "flavorRef": client.defaults["flavor_id"],
        }
    }
    path = "/v2/%s/servers" % client.project_id
    return client.request("POST", path, body, headers={"Host": host})


def _fault(response):
    assert response.status_int == 400, response.text
    assert response.content_type == "application/json"
    return json.loads(response.body)["badRequest"]["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/v2/%00{project}/servers",
        "/v2/../servers",
        "/v2/{project}%01/servers",
        "/v2.1/servers/%00",
        "/v2.1/servers/..",
        "/v2/{project}/servers/abc%7f",
    ],
)
def test_an_id_that_is_not_printable_or_a_dot_segment_is_400(client, path):
    path = path.format(project=client.project_id)
    method = "POST" if path.endswith("/servers") else "GET"
    body = {"server": {"name": "vm"}} if method == "POST" else None
    message = _fault(client.request(method, path, body))
    assert "not a valid id" in message
    assert "\x00" not in message and "\x01" not in message


def test_a_token_s_project_id_that_is_not_printable_is_400(client):
    response = client.request(
        "POST",
        "/v2.1/servers",
        {"server": {"name": "vm"}},
        headers={"X-Auth-Token": "%s:proj\x00ect" % client.defaults["user_id"]},
    )
    assert "not a valid id" in _fault(response)


def test_links_and_location_follow_the_public_url_not_the_host_header(public_client):
    response = _create(public_client, "attacker.example")
    assert response.status_int == 202, response.text
    assert response.headers["Location"].startswith(PUBLIC + "/v2/")
    hrefs = [link["href"] for link in json.loads(response.body)["server"]["links"]]
    assert hrefs and all(href.startswith(PUBLIC + "/") for href in hrefs)
    versions = public_client.request("GET", "/", headers={"Host": "attacker.example"})
    assert "attacker" not in versions.text and PUBLIC in versions.text


def test_without_a_public_url_links_follow_the_request_s_host(client):
    response = _create(client, "cloud.example:8774")
    assert response.status_int == 202, response.text
    assert response.headers["Location"].startswith("http://cloud.example:8774/v2/")


@pytest.mark.parametrize("host", ['evil.example"><script>', "a b", "x\x00y", "h:port"])
def test_a_host_header_that_is_not_a_host_is_400(client, host):
    response = client.request("GET", "/v2.1/servers", headers={"Host": host})
    assert "Host header" in _fault(response)
