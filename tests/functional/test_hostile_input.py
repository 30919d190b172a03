"""Issue 13's reproductions: each input that once crashed the API (500) is a 400 Nova fault
body with a clear message, and leaves no row behind, on every contract it reached."""

import json

import pytest
import webob

V2 = "/v2/{project}/servers"
V21 = "/v2.1/servers"


def post_raw(client, path, raw, headers=None):
    all_headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-Auth-Token": "%s:%s" % (client.defaults["user_id"], client.project_id),
        **(headers or {}),
    }
    return webob.Request.blank(path, method="POST", headers=all_headers, body=raw).get_response(
        client.deployment.app
    )


def create_text(client, extra_server="", extra_top="", flavor=None):
    """A create body as JSON text, so that it can hold escapes json.dumps would not write."""
    return (
        '{"server": {"name": "vm", "imageRef": "%s", "flavorRef": %s%s}%s}'
        % (
            client.defaults["image_id"],
            flavor or json.dumps(client.defaults["flavor_id"]),
            extra_server,
            extra_top,
        )
    ).encode()


def assert_bad_request(response, *words):
    assert response.status_int == 400, response.body
    assert response.content_type == "application/json"
    fault = response.json["badRequest"]
    assert fault["code"] == 400
    for word in words:
        assert word in fault["message"]


def assert_no_instances(client):
    listed = client.request("GET", "/v2/%s/servers" % client.project_id)
    assert listed.json["servers"] == []


@pytest.fixture(params=[V2, V21])
def servers_path(request, client):
    return request.param.format(project=client.project_id)


def test_json_nested_2000_deep_is_400(client, servers_path):
    deep = b'{"server": ' + b"[" * 2000 + b"]" * 2000 + b"}"
    assert_bad_request(post_raw(client, servers_path, deep), "Malformed request body", "nested")


def test_json_nested_under_the_parser_limit_is_400(client, servers_path):
    deep = b'{"server": {"metadata": ' + b'{"a": ' * 500 + b"1" + b"}" * 500 + b"}}"
    assert_bad_request(post_raw(client, servers_path, deep), "nested deeper than")


@pytest.mark.parametrize(
    "extra_server, extra_top, flavor",
    [
        (', "name": "\\ud800"', "", None),
        (', "key_name": "\\ud800"', "", None),
        ("", "", '"\\ud800"'),
        ("", ', "os:scheduler_hints": {"group": "\\ud800"}', None),
        (', "metadata": {"\\udfff": "x"}', "", None),
    ],
    ids=["name", "key_name", "flavorRef", "scheduler_hints.group", "metadata-key"],
)
def test_lone_surrogate_is_400_before_anything_is_written(
    client, servers_path, extra_server, extra_top, flavor
):
    raw = create_text(client, extra_server, extra_top, flavor)
    assert_bad_request(post_raw(client, servers_path, raw), "lone surrogate")
    assert_no_instances(client)


def test_surrogate_pair_escape_is_ordinary_text(client):
    raw = create_text(client, ', "name": "\\ud83d\\ude00"')
    response = post_raw(client, V2.format(project=client.project_id), raw)
    assert response.status_int == 202, response.body


def test_v21_bdm_without_source_type_is_400(client):
    bdm = [{"boot_index": 0, "uuid": client.defaults["image_id"], "destination_type": "local"}]
    raw = create_text(client, ', "block_device_mapping_v2": %s' % json.dumps(bdm))
    response = post_raw(client, V21, raw)
    assert_bad_request(response, "Block Device Mapping is Invalid", "source_type")
    assert_no_instances(client)


@pytest.mark.parametrize("path", ["/v2/%ff%fe/servers", "/v2.1/%ff/servers", "/identity/%c3"])
def test_path_that_is_not_utf8_is_400(client, path):
    assert_bad_request(post_raw(client, path, b"{}"), "Malformed request URL", "UTF-8")


@pytest.mark.parametrize("query", ["%80", "name=%ff", "name=\xff"])
def test_query_string_that_is_not_utf8_is_400(client, query):
    response = client.request("GET", "/v2.1/servers?" + query)
    assert_bad_request(response, "Malformed request URL", "query string")


@pytest.mark.parametrize("user_data", [[], {}])
def test_v2_empty_container_user_data_is_400(client, user_data):
    response = client.create({"user_data": user_data})
    assert_bad_request(response)
    assert_no_instances(client)


@pytest.mark.parametrize("uuid", [[[]], {"a": 1}])
def test_v2_bdm_v2_uuid_that_is_a_container_is_400(client, uuid):
    bdm = {"boot_index": 0, "uuid": uuid, "source_type": "image", "destination_type": "local"}
    response = client.create({"block_device_mapping_v2": [bdm]})
    assert_bad_request(response, "Invalid device UUID")
    assert_no_instances(client)


@pytest.mark.parametrize(
    "field, message",
    [
        ("destination_type", "Block Device Mapping is Invalid: Invalid destination_type field."),
        ("device_name", "Block Device Mapping is Invalid: Invalid device_name field."),
        ("volume_size", "Block Device Mapping is Invalid: Invalid volume_size field."),
        ("boot_index", "The server could not comply"),  # C18i's generic 400, as a list
    ],
)
def test_v2_bdm_v2_field_that_is_an_empty_list_is_400(client, field, message):
    bdm = {"boot_index": 0, "uuid": client.defaults["image_id"], "source_type": "image"}
    bdm.update({"destination_type": "local", field: []})
    response = client.create({"block_device_mapping_v2": [bdm]})
    assert_bad_request(response, message)
    assert_no_instances(client)
