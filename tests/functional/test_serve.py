"""`refnova serve` with no services: a real process, real HTTP, the embedded defaults."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from refnova.world import load_world

WORLD = load_world()
PROJECT = WORLD["defaults"]["project_id"]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_listening(port, process, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("refnova serve exited: %s" % process.stderr.read())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("refnova serve did not listen on %d" % port)


@pytest.fixture
def served(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFNOVA_", "OTEL_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "refnova.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_listening(port, process)
        yield "http://127.0.0.1:%d" % port, tmp_path
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_on_embedded_defaults_creates_an_active_server(served):
    url, workdir = served
    headers = {"X-Auth-Token": "demo:%s" % PROJECT, "Content-Type": "application/json"}
    body = {
        "server": {"name": "first", "imageRef": WORLD["defaults"]["image_id"], "flavorRef": "1"}
    }
    response = requests.post(
        "%s/v2/%s/servers" % (url, PROJECT), data=json.dumps(body), headers=headers, timeout=10
    )
    assert response.status_code == 202, response.text
    server = response.json()["server"]
    assert response.headers["Location"] == "%s/v2/%s/servers/%s" % (url, PROJECT, server["id"])
    assert server["adminPass"]
    started = time.monotonic()
    status = None
    while time.monotonic() - started < 2.0:
        shown = requests.get(response.headers["Location"], headers=headers, timeout=10)
        status = shown.json()["server"]["status"]
        if status == "ACTIVE":
            break
        time.sleep(0.05)
    assert status == "ACTIVE"
    assert (workdir / "refnova.db").exists()  # the embedded SQLite file


def test_serve_without_credentials_is_401(served):
    url, _ = served
    response = requests.post(
        "%s/v2/%s/servers" % (url, PROJECT),
        data="{}",
        timeout=10,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 401
    assert response.headers["x-compute-request-id"].startswith("req-")
