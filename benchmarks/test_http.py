"""The create over HTTP: ``refnova serve``'s waitress server on a keep-alive connection, against
the same create handed to the WSGI app in-process.

One deployment (SQLite file, ``memory://``, no in-process conductor, tracing off) is both
served by ``refnova.http_server`` (its own threads in this process) and called directly
(``support.Poster``). Each round times one create of each kind, in alternating order, with
the typical body and the same headers; the HTTP one goes over one connection kept alive for
the whole run, a socket that sends the prebuilt request and reads the answer whole
(``support.KeepAliveClient``, as ``test_workers``). What HTTP adds is the server's work (the
socket loop, request parsing, the hand-over to a worker thread and back, the response) and
the little the client does.

Both clocks are kept: wall (``perf_counter``) and the CPU time of the whole process
(``time.process_time``: the server's threads are the path's work too, unlike in the in-process
suites, where the thread's CPU clock is all there is).
"""

import gc
import json
import time

import pytest

from benchmarks import support
from refnova import http_server
from refnova.config import Settings


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    directory = tmp_path_factory.mktemp("http")
    deployment = support.make_deployment("sqlite:///%s" % (directory / "http.db"))
    server = http_server.make_server(deployment.app, Settings(port=0))
    stopping = http_server.start(server)
    yield deployment, http_server.bound_port(server)
    http_server.stop(server, stopping)
    deployment.close()


class HttpPoster:
    """The Poster's request (path, headers, body) over one keep-alive HTTP/1.1 connection: a
    prebuilt request on a socket, each answer read whole (``support.KeepAliveClient``)."""

    def __init__(self, port, poster):
        environ = poster.environ
        head = (
            "POST %s HTTP/1.1\r\n"
            "Host: 127.0.0.1:%d\r\n"
            "Content-Type: %s\r\n"
            "Accept: %s\r\n"
            "X-Auth-Token: %s\r\n"
            "Content-Length: %d\r\n\r\n"
            % (
                environ["PATH_INFO"],
                port,
                environ["CONTENT_TYPE"],
                environ["HTTP_ACCEPT"],
                environ["HTTP_X_AUTH_TOKEN"],
                len(poster.body),
            )
        )
        self.client = support.KeepAliveClient(port, head.encode("ascii") + poster.body)

    def __call__(self):
        status, body = self.client.post()
        if status != 202:
            raise AssertionError("create over HTTP: %s %s" % (status, body[:300]))
        return body

    def close(self):
        self.client.close()


def _timed(function):
    cpu, wall = time.process_time(), time.perf_counter()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def test_http_create(results, served, world, raw_body):
    deployment, port = served
    in_process = support.Poster(deployment.app, world, raw_body)
    over_http = HttpPoster(port, in_process)
    # The same answer both ways: a 202 with the same server keys.
    assert json.loads(over_http())["server"].keys() == json.loads(in_process())["server"].keys()

    rounds, warmup = results.rounds(600, 150), results.rounds(50, 20)
    samples = {"http_create.http": ([], []), "http_create.in_process": ([], [])}
    gc.collect()
    for index in range(warmup + rounds):
        if index % 200 == 0:
            support.purge_queue(deployment.transport)
        order = [("http_create.http", over_http), ("http_create.in_process", in_process)]
        for name, create in order if index % 2 else order[::-1]:
            wall, cpu = _timed(create)
            if index >= warmup:
                samples[name][0].append(wall)
                samples[name][1].append(cpu)
    over_http.close()
    support.purge_queue(deployment.transport)
    for name, (wall, cpu) in samples.items():
        results.record(name, wall, cpu)
