"""/image: Glance's v2 images over the world's, visibility honoured for the caller."""

import pytest

from .conftest import DEMO_PROJECT

PRIVATE = "e6a6f4e6-65cf-4f0a-9f6d-1c5cbd5a7f2b"  # private to another project
CIRROS = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
GLANCE_KEYS = {
    "id",
    "name",
    "status",
    "visibility",
    "size",
    "virtual_size",
    "checksum",
    "min_ram",
    "min_disk",
    "disk_format",
    "container_format",
    "owner",
    "protected",
    "os_hidden",
    "os_hash_algo",
    "os_hash_value",
    "tags",
    "created_at",
    "updated_at",
    "self",
    "file",
    "schema",
}
NOAUTH = "demo:%s" % DEMO_PROJECT


def names(response):
    return [image["name"] for image in response.json["images"]]


def test_discovery_needs_no_token_300_at_the_root_200_at_versions(cloud):
    root = cloud.get("/image")
    assert root.status_int == 300
    current = root.json["versions"][0]
    assert current == {
        "id": "v2.15",
        "status": "CURRENT",
        "links": [{"rel": "self", "href": "http://cloud.example:8774/image/v2/"}],
    }
    assert cloud.get("/image/versions").status_int == 200
    assert cloud.get("/image/versions").json == root.json


def test_the_list_needs_a_token_and_answers_keystonemiddleware_s_401(cloud):
    response = cloud.get("/image/v2/images")
    assert response.status_int == 401
    assert response.json["error"]["message"] == (
        "The request you have made requires authentication."
    )
    assert response.headers["WWW-Authenticate"] == (
        'Keystone uri="http://cloud.example:8774/identity"'
    )


def test_a_project_sees_public_images_not_another_s_private_one(cloud):
    response = cloud.get("/image/v2/images", cloud.token())
    assert response.status_int == 200
    assert len(response.json["images"]) == 8 and "private-of-another-project" not in names(response)
    assert response.json["first"] == "/v2/images" and "next" not in response.json
    assert response.json["schema"] == "/v2/schemas/images"
    assert cloud.get("/image/v2/images", NOAUTH).json == response.json  # noauth2 too


def test_an_admin_sees_every_image(cloud):
    listed = names(cloud.get("/image/v2/images", cloud.token("admin")))
    assert "private-of-another-project" in listed and len(listed) == 9


def test_the_image_view_is_glance_s_with_properties_flattened(cloud):
    response = cloud.get("/image/v2/images/cedef40a-ed67-4d10-800e-17455edce175", NOAUTH)
    assert response.status_int == 200
    image = response.json
    assert set(image) == GLANCE_KEYS | {"auto_disk_config", "os_type"}
    assert image["auto_disk_config"] == "True" and image["self"] == (
        "/v2/images/cedef40a-ed67-4d10-800e-17455edce175"
    )
    assert image["checksum"] is None and image["protected"] is False


def test_an_invisible_image_is_not_found_like_an_unknown_one(cloud):
    for image_id in (PRIVATE, "cirros-0.3.1-x86_64"):
        response = cloud.get("/image/v2/images/%s" % image_id, NOAUTH, Accept="application/json")
        assert response.status_int == 404
        assert response.json["message"].startswith("No image found with ID %s" % image_id)
    assert cloud.get("/image/v2/images/%s" % PRIVATE, cloud.token("admin")).status_int == 200


@pytest.mark.parametrize(
    "query, expected",
    [
        ("name=cirros-0.3.1-x86_64", ["cirros-0.3.1-x86_64"]),
        ("status=queued", ["queued-image"]),
        ("visibility=private", []),
        ("disk_format=ami", ["missing-kernel"]),
        ("os_type=linux", ["auto-disk-config"]),  # a property
        ("name=nothing", []),
    ],
)
def test_filters(cloud, query, expected):
    assert names(cloud.get("/image/v2/images?" + query, NOAUTH)) == expected


def test_visibility_private_lists_the_admin_s_view_of_private_images(cloud):
    response = cloud.get("/image/v2/images?visibility=private", cloud.token("admin"))
    assert names(response) == ["private-of-another-project"]


def test_sorted_newest_first_then_by_id_descending(cloud):
    ids = [image["id"] for image in cloud.get("/image/v2/images", NOAUTH).json["images"]]
    assert ids == sorted(ids, reverse=True)  # one creation time: the id decides
    ascending = cloud.get("/image/v2/images?sort_key=name&sort_dir=asc", NOAUTH)
    assert names(ascending) == sorted(names(ascending))


def test_pages_follow_next_links_to_every_image_once(cloud):
    seen, link = [], "/v2/images?limit=3"
    while link:
        page = cloud.get("/image" + link, NOAUTH).json
        assert len(page["images"]) <= 3
        seen += [image["id"] for image in page["images"]]
        link = page.get("next")
    assert len(seen) == len(set(seen)) == 8
    first = cloud.get("/image/v2/images?limit=3&marker=%s" % seen[2], NOAUTH).json
    assert first["first"] == "/v2/images?limit=3"
    assert first["next"] == "/v2/images?limit=3&marker=%s" % seen[5]


@pytest.mark.parametrize(
    "query, message",
    [
        ("limit=x", "limit param must be an integer"),
        ("limit=-1", "limit param must be positive"),
        ("visibility=everyone", "Invalid visibility value: everyone"),
        ("sort_dir=up", "Invalid sort direction: up"),
        ("marker=%s" % PRIVATE, "No image found with ID %s" % PRIVATE),
    ],
)
def test_bad_parameters_are_glance_s_400(cloud, query, message):
    response = cloud.get("/image/v2/images?" + query, NOAUTH, Accept="application/json")
    assert response.status_int == 400
    assert response.json["message"].startswith(message)


def test_the_cirros_image_is_found_by_name_as_clients_look_it_up(cloud):
    response = cloud.get("/image/v2/images?name=cirros-0.3.1-x86_64", NOAUTH)
    assert [image["id"] for image in response.json["images"]] == [CIRROS]
