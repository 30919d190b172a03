"""The dot of /v2.1 and /v1.1 is a dot: /v2x1/servers is no path under /v2.1 but one outside
every version, the choices whatever the method (fixtures M45, M46), as in Nova 34.0.0, whose
urlmap matches a version's prefix as text."""

import pytest


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2x1/servers"),
        ("GET", "/v2x1/flavors"),
        ("GET", "/v2x1"),
        ("GET", "/v1x1/{project_id}/servers"),
    ],
)
def test_a_version_prefix_with_another_character_for_its_dot_is_outside_every_version(
    client, method, path
):
    response = client.request(method, path.format(project_id=client.project_id))
    assert response.status_int == 300
    assert "choices" in response.json


def test_a_create_under_such_a_prefix_creates_nothing(client):
    response = client.create(path="/v2x1/servers")
    assert response.status_int == 300
    assert client.request("GET", "/v2.1/servers").json == {"servers": []}
