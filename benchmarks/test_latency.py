"""What a client waits for: POST -> ACTIVE with the in-process conductor, and a rejection.

``active_latency``: a deployment on the embedded defaults (an SQLite file, memory://, the
conductor in-process, tracing off), the typical body. Each round POSTs (the floor: POST -> 202)
and then waits until the conductor has served the cast (``RPCServer.wait_until_idle``: the
in-process broker's doorbell, no polling); the server is ACTIVE by then (checked). Both are
taken from the same rounds on the wall clock: the wait for the conductor is the point.

``rejection``: the typical body with an imageRef that is not a UUID, POSTed through the whole
WSGI app (400 "Invalid imageRef provided."), against a WSGI function that does the same parse
and checks inline (``floors.validation``, which stops at the same check) and answers the same
fault body. Timed on the thread's CPU clock, interleaved.
"""

import io
import json
import time

import pytest
import webob

from benchmarks import floors, support
from benchmarks.conftest import interleaved
from refnova.context import generate_request_id

# One roomy host, so that every round's server fits (the reference hosts fill up).
ROOMY_HOST = {
    "host": "compute1",
    "node": "compute1",
    "availability_zone": "nova",
    "memory_mb": 1 << 40,
    "disk_gb": 1 << 40,
    "enabled": True,
}
BAD_IMAGE = "not-an-image"
FAULT = {"badRequest": {"message": "Invalid imageRef provided.", "code": 400}}


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    from refnova.config import Settings
    from refnova.service import Deployment
    from refnova.world import load_world

    world = load_world({**support.WORLD_OVERRIDES, "hosts": [ROOMY_HOST]})
    directory = tmp_path_factory.mktemp("latency")
    settings = Settings(db_url="sqlite:///%s" % (directory / "refnova.db"))
    assert settings.runs_conductor_in_process and settings.transport_url == "memory://"
    deployment = Deployment(settings, world=world)
    yield deployment, world
    deployment.close()


def show_status(deployment, world, server_id):
    defaults = world["defaults"]
    request = webob.Request.blank(
        "/v2/%s/servers/%s" % (defaults["project_id"], server_id),
        headers={"X-Auth-Token": "%s:%s" % (defaults["user_id"], defaults["project_id"])},
    )
    return json.loads(request.get_response(deployment.app).body)["server"]["status"]


def test_active_latency(results, embedded):
    deployment, world = embedded
    post = support.Poster(deployment.app, world, support.typical_body(world))
    conductor = deployment.conductor
    rounds, warmup = results.rounds(300, 100), results.rounds(30, 15)
    posted, active = [], []
    for round_number in range(warmup + rounds):
        start = time.perf_counter()
        body = post()
        answered = time.perf_counter()
        assert conductor.wait_until_idle(30.0), "the conductor never served the cast"
        built = time.perf_counter()
        if round_number >= warmup:
            posted.append(answered - start)
            active.append(built - start)
        if round_number % 25 == 0:  # outside the timings: the build really happened
            server_id = json.loads(body)["server"]["id"]
            assert show_status(deployment, world, server_id) == "ACTIVE"
    # Wall clock only: what the round waits for is the point (cpu: the same, unavailable).
    results.record("active_latency.active", active, active)
    results.record("active_latency.post", posted, posted)


def rejected_environ(world):
    """The typical create with an imageRef that is not a UUID, as a server hands it on."""
    body = support.typical_body(world, imageRef=BAD_IMAGE)
    environ = support.create_environ(world, body)
    return environ, body


def inline_rejection(environ, start_response):
    """The floor: read the body, the same parse and checks inline, the same answer (the
    fault, and the request id every answer of Nova's carries, made by the same function)."""
    raw = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    try:
        floors.validation(raw)
    except floors.Invalid as invalid:
        assert str(invalid) == "imageRef"
        body = json.dumps(FAULT).encode("utf-8")
        start_response(
            "400 Bad Request",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("X-Compute-Request-Id", generate_request_id()),
            ],
        )
        return [body]
    raise AssertionError("the floor accepted the rejected body")


def caller(app, environ, body, seen_headers=None):
    """One request into ``app``: (status line, body); the answer's headers into
    ``seen_headers`` when given."""

    def start_response(line, headers, exc_info=None):
        status.append(line)
        if seen_headers is not None:
            seen_headers.extend(headers)

    status = []

    def call():
        request = dict(environ)
        request["wsgi.input"] = io.BytesIO(body)
        status.clear()
        chunks = app(request, start_response)
        answer = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        return status[0], answer

    return call


def test_the_floor_rejects_as_the_app_does(embedded):
    deployment, world = embedded
    environ, body = rejected_environ(world)
    path_headers, floor_headers = [], []
    path_status, path_body = caller(deployment.app, environ, body, path_headers)()
    floor_status, floor_body = caller(inline_rejection, environ, body, floor_headers)()
    assert path_status == floor_status == "400 Bad Request"
    assert json.loads(path_body) == json.loads(floor_body) == FAULT
    # The same headers, each request with an id of its own.
    names = sorted(name.lower() for name, _value in path_headers)
    assert names == sorted(name.lower() for name, _value in floor_headers)
    assert dict(path_headers)["Content-Type"] == dict(floor_headers)["Content-Type"]


def test_rejection(benchmark, results, embedded):
    benchmark.group = "rejection"
    deployment, world = embedded
    environ, body = rejected_environ(world)
    path = caller(deployment.app, environ, body)
    floor = caller(inline_rejection, environ, body)
    interleaved(
        benchmark,
        results,
        "rejection",
        path,
        {"floor": floor},
        rounds=results.rounds(2000, 500),
        warmup=results.rounds(100, 50),
    )
