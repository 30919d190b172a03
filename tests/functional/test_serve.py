"""`refnova serve` with no services: a real process, real HTTP, the embedded defaults."""

import pytest
import requests

from tests.support.http import PROJECT, ServedApi


@pytest.fixture
def served(refnova_processes, tmp_path):
    """`refnova serve` in an empty directory: (a ServedApi of it, the directory)."""
    return ServedApi(refnova_processes.serve().url), tmp_path


def test_serve_on_embedded_defaults_creates_an_active_server(served):
    api, workdir = served
    response = api.create(PROJECT, name="first")
    assert response.status_code == 202, response.text
    server = response.json()["server"]
    assert response.headers["Location"] == "%s/v2/%s/servers/%s" % (api.base, PROJECT, server["id"])
    assert server["adminPass"]
    assert api.wait_for_status(PROJECT, server["id"])["status"] == "ACTIVE"
    assert (workdir / "refnova.db").exists()  # the embedded SQLite file


def test_serve_without_credentials_is_401(served):
    api, _ = served
    response = requests.post(
        "%s/v2/%s/servers" % (api.base, PROJECT),
        data="{}",
        timeout=10,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 401
    assert "x-compute-request-id" not in response.headers  # Icehouse's came from the context
