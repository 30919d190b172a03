"""`refnova serve`'s HTTP server on raw sockets: HTTP/1.1, keep-alive, pipelining, chunked
bodies, idle connections closed, no version banner, and every error it answers a Nova fault."""

import json
import socket
from urllib.parse import urlsplit

import pytest

from tests.support.http import DEFAULTS, PROJECT, ServedApi
from tests.support.processes import Processes

IDLE_TIMEOUT = 1  # seconds: short, so that idle connections are closed within the test
MAX_URL = 1024
MAX_HEADER = 4096
MAX_BODY = 200000  # the server's own limit; the compute API refuses over 114688 (F1)
CREDENTIALS = "X-Auth-Token: %s:%s\r\n" % (DEFAULTS["user_id"], PROJECT)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    settings = {
        "http_idle_timeout": IDLE_TIMEOUT,
        "http_connection_limit": 600,  # room for the 500 idle connections below
        "http_max_url_bytes": MAX_URL,
        "http_max_header_bytes": MAX_HEADER,
        "http_max_body_bytes": MAX_BODY,
    }
    with Processes(tmp_path_factory.mktemp("http"), **settings) as processes:
        process = processes.serve()
        yield ServedApi(process.url, process)
        assert process.stop() == 0  # SIGTERM: a clean stop


class Connection:
    """One raw TCP connection to the API, its answers read one after another."""

    def __init__(self, api):
        address = urlsplit(api.base)
        self.sock = socket.create_connection((address.hostname, address.port), timeout=30)
        self.file = self.sock.makefile("rb")

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode("latin-1"))

    def response(self):
        """(status, headers with lower-case names, body) of the next answer."""
        status_line = self.file.readline().decode("latin-1")
        assert status_line.startswith("HTTP/1."), status_line
        headers = {}
        for line in iter(self.file.readline, b"\r\n"):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self.file.read(int(headers["content-length"]))
        return int(status_line.split()[1]), headers, body

    def closed_by_server(self):
        """True once the server closed the connection (the read ends), False on a timeout."""
        try:
            return self.file.read(1) == b""
        except TimeoutError:
            return False

    def close(self):
        self.file.close()
        self.sock.close()


@pytest.fixture
def connect(api):
    opened = []

    def open_connection():
        opened.append(Connection(api))
        return opened[-1]

    yield open_connection
    for connection in opened:
        connection.close()


def create_body():
    body = {
        "server": {
            "name": "raw",
            "imageRef": DEFAULTS["image_id"],
            "flavorRef": DEFAULTS["flavor_id"],
        }
    }
    return json.dumps(body).encode("utf-8")


def chunked(data, size=64):
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def post_head(path, extra=""):
    return "POST %s HTTP/1.1\r\nHost: refnova\r\n%sContent-Type: application/json\r\n%s\r\n" % (
        path,
        CREDENTIALS,
        extra,
    )


def test_a_chunked_create_is_answered_and_goes_active(api, connect):
    connection = connect()
    head = post_head("/v2/%s/servers" % PROJECT, "Transfer-Encoding: chunked\r\n")
    connection.send(head.encode("latin-1") + chunked(create_body()))
    status, headers, body = connection.response()
    assert status == 202, body
    server_id = json.loads(body)["server"]["id"]
    assert api.wait_for_status(PROJECT, server_id)["status"] == "ACTIVE"


def test_two_pipelined_requests_on_one_keep_alive_connection_are_answered_in_order(connect):
    connection = connect()
    listing = "GET /v2/%s/flavors HTTP/1.1\r\nHost: refnova\r\n%s\r\n" % (PROJECT, CREDENTIALS)
    versions = "GET / HTTP/1.1\r\nHost: refnova\r\n\r\n"
    connection.send(listing + versions)  # both at once, before any answer
    first, second = connection.response(), connection.response()
    assert (first[0], second[0]) == (200, 200)
    assert "flavors" in json.loads(first[2])
    assert "versions" in json.loads(second[2])
    assert first[1].get("connection") != "close"


def test_the_server_speaks_http_1_1_without_a_version_banner(connect):
    connection = connect()
    connection.send("GET / HTTP/1.1\r\nHost: refnova\r\n\r\n")
    status, headers, _ = connection.response()
    assert status == 200
    assert "server" not in headers
    connection.send("GET / HTTP/1.1\r\nHost: refnova\r\n\r\n")  # the same connection, kept
    assert connection.response()[0] == 200


def test_idle_connections_are_closed_after_the_idle_timeout(connect):
    never_asked = [connect() for _ in range(500)]
    answered_once = connect()
    answered_once.send("GET / HTTP/1.1\r\nHost: refnova\r\n\r\n")
    assert answered_once.response()[0] == 200
    # The read ends (the server closed) long before the 30 s socket timeout would.
    assert all(connection.closed_by_server() for connection in [*never_asked, answered_once])


def fault_of(status, body):
    fault = json.loads(body)
    assert list(fault) and len(fault) == 1, fault
    ((key, value),) = fault.items()
    assert value["code"] == status and value["message"], fault
    return key


SERVER_ERRORS = {
    "malformed request line": ("GARBAGE\r\n\r\n", 400, "badRequest"),
    "URL too long": (
        "GET /v2/%s/servers?name=%s HTTP/1.1\r\nHost: refnova\r\n%s\r\n"
        % (PROJECT, "a" * MAX_URL, CREDENTIALS),
        414,
        "computeFault",
    ),
    "headers too large": (
        "GET / HTTP/1.1\r\nHost: refnova\r\nX-Filler: %s\r\n\r\n" % ("a" * MAX_HEADER),
        431,
        "computeFault",
    ),
    "unsupported transfer coding": (
        post_head("/v2/%s/servers" % PROJECT, "Transfer-Encoding: gzip\r\n"),
        501,
        "notImplemented",
    ),
    "declared body over the server's limit": (
        post_head("/v2/%s/servers" % PROJECT, "Content-Length: %d\r\n" % (MAX_BODY * 10)),
        413,
        "overLimit",
    ),
    "body over the compute API's limit": (
        post_head("/v2/%s/servers" % PROJECT, "Content-Length: 114689\r\n") + "a" * 114689,
        413,
        "overLimit",
    ),
    "chunked body over the compute API's limit": (
        post_head("/v2/%s/servers" % PROJECT, "Transfer-Encoding: chunked\r\n")
        + chunked(b"a" * 114689, 8192).decode("latin-1"),
        413,
        "overLimit",
    ),
    "no credentials": (
        "POST /v2/%s/servers HTTP/1.1\r\nHost: refnova\r\nContent-Length: 2\r\n\r\n{}" % PROJECT,
        401,
        "unauthorized",
    ),
}


@pytest.mark.parametrize("case", sorted(SERVER_ERRORS))
def test_every_error_of_the_server_layer_is_a_nova_fault_body(connect, case):
    request, expected_status, expected_key = SERVER_ERRORS[case]
    connection = connect()
    connection.send(request)
    status, headers, body = connection.response()
    assert status == expected_status, body
    assert headers["content-type"].startswith("application/json")
    assert fault_of(status, body) == expected_key


def test_headers_trickled_byte_by_byte_are_cut_off(connect):
    connection = connect()
    connection.send("GET / HTTP/1.1\r\nHost: refnova\r\n")
    closed = False
    for _ in range(300):  # never finishing the headers, never idle for long
        try:
            connection.send("X")
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        connection.sock.settimeout(0.2)
        try:
            closed = connection.sock.recv(1) == b""
        except TimeoutError:
            pass
        if closed:
            break
    assert closed
