"""What the benchmark suites share: the typical request, in-process deployments, the services.

Every deployment here runs with the in-process conductor disabled (``conductor_in_process=False``),
so a timed create ends at the cast and no consumer thread competes for the interpreter lock or
the database; the queue just fills and the suites purge it between rounds, outside the timings.
The world is the reference one with unlimited instance/core/RAM quotas, no POST rate limit and
an unlimited port quota, so thousands of creates in one database all succeed.
"""

import base64
import contextlib
import io
import json
import os
import random
import re
import shutil
import socket
import subprocess
import uuid

import webob

from refnova.config import Settings
from refnova.service import Deployment
from refnova.world import load_world

WORLD_OVERRIDES = {
    "quotas": {"instances": -1, "cores": -1, "ram": -1},
    "rate_limits": {"POST": -1},
    "port_quota": -1,
}

# 768 random bytes are 1,024 characters of base64: a 1 KiB user_data field.
USER_DATA = base64.b64encode(random.Random(6).randbytes(768)).decode("ascii")


def bench_world():
    return load_world(WORLD_OVERRIDES)


def typical_server(world, **extra):
    """The typical create body's ``server``: name, image, flavor, 3 metadata items, 1 network,
    1 security group, accessIPv4 and 1 KiB of user_data."""
    defaults = world["defaults"]
    server = {
        "name": "web-1",
        "imageRef": defaults["image_id"],
        "flavorRef": defaults["flavor_id"],
        "metadata": {"role": "web", "tier": "frontend", "owner": "team-a"},
        "networks": [{"uuid": defaults["network_id"]}],
        "security_groups": [{"name": "web"}],
        "accessIPv4": "192.0.2.10",
        "user_data": USER_DATA,
    }
    server.update(extra)
    return server


def typical_body(world, **extra):
    return json.dumps({"server": typical_server(world, **extra)}).encode("utf-8")


def make_deployment(db_url, transport_url="memory://"):
    settings = Settings(db_url=db_url, transport_url=transport_url, conductor_in_process=False)
    return Deployment(settings, world=bench_world())


def create_environ(world, body):
    """The environ of ``POST /v2/{project_id}/servers`` with ``body``, as a server hands it on."""
    defaults = world["defaults"]
    request = webob.Request.blank(
        "/v2/%s/servers" % defaults["project_id"],
        method="POST",
        body=body,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-Auth-Token": "%s:%s" % (defaults["user_id"], defaults["project_id"]),
        },
    )
    return {key: value for key, value in request.environ.items() if not key.startswith("webob.")}


class Poster:
    """``POST /v2/{project_id}/servers`` straight into the WSGI app, as a server would call it.

    The environ is built once; each call gets a copy with a fresh body stream, so the timing is
    the app's own work, not webob's request building.
    """

    def __init__(self, app, world, body):
        self.app = app
        self.body = body
        self.environ = create_environ(world, body)
        self.last_status = None

    def __call__(self):
        environ = dict(self.environ)
        environ["wsgi.input"] = io.BytesIO(self.body)
        status = []
        chunks = self.app(environ, lambda line, headers, exc_info=None: status.append(line))
        body = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        self.last_status = status[0]
        if not status[0].startswith("202"):
            raise AssertionError("create answered %s: %s" % (status[0], body[:300]))
        return body


def capture_create(deployment, body):
    """One real create, keeping what _provision_instances and the cast were given.

    Returns (CreateRequest, context, the keyword arguments of the conductor cast).
    """
    compute_api = deployment.compute_api
    task_api = compute_api.compute_task_api
    seen = {}

    def provision(request):
        seen["request"] = request
        return type(compute_api)._provision_instances(compute_api, request)

    def build_instances(context, **kwargs):
        # The cast's arguments: the behaviour chosen for the create is not one of them.
        arguments = {key: value for key, value in kwargs.items() if key != "behaviour"}
        seen["context"], seen["cast"] = context, arguments
        return type(task_api).build_instances(task_api, context, **kwargs)

    compute_api._provision_instances = provision
    task_api.build_instances = build_instances
    try:
        Poster(deployment.app, deployment.world, body)()
    finally:
        del compute_api._provision_instances
        del task_api.build_instances
    return seen["request"], seen["context"], seen["cast"]


def purge_queue(transport, topic="conductor"):
    """Empty the topic's queue (outside any timing) so a long run does not hoard messages."""
    with transport.connection.clone() as conn:
        transport.queue(topic)(conn.default_channel).purge()


# --- services --------------------------------------------------------------------------

RABBIT_HOST = os.environ.get("REFNOVA_BENCH_RABBITMQ", "127.0.0.1:5672")
POSTGRES_ADMIN_URL = os.environ.get(
    "REFNOVA_BENCH_POSTGRESQL", "postgresql://postgres@127.0.0.1:5432/test"
)


def port_open(host_port):
    host, port = host_port.rsplit(":", 1)
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, int(port))) == 0


class ServiceMissing(Exception):
    """A service a figure needs is not reachable here; the reason says which and why."""


@contextlib.contextmanager
def rabbitmq_vhost():
    """A throwaway RabbitMQ vhost for guest, deleted afterwards; yields its amqp:// URL."""
    if not port_open(RABBIT_HOST):
        raise ServiceMissing("RabbitMQ is not reachable on %s" % RABBIT_HOST)
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        raise ServiceMissing("rabbitmqctl is not on PATH (needed for a throwaway vhost)")
    vhost = "refnova-bench-%s" % uuid.uuid4().hex[:8]

    def run(*args):
        subprocess.run([ctl, "-q", *args], check=True, capture_output=True, timeout=60)

    try:
        run("add_vhost", vhost)
        run("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    except (subprocess.SubprocessError, OSError) as error:
        raise ServiceMissing("cannot make a RabbitMQ vhost: %s" % error)
    try:
        yield "amqp://guest:guest@%s/%s" % (RABBIT_HOST, vhost)
    finally:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            run("delete_vhost", vhost)


@contextlib.contextmanager
def postgresql_database():
    """A throwaway PostgreSQL database, dropped afterwards; yields its SQLAlchemy URL."""
    try:
        import psycopg
    except ImportError:
        raise ServiceMissing("psycopg is not installed")
    name = "refnova_bench_%s" % uuid.uuid4().hex[:8]
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as error:
        raise ServiceMissing(
            "PostgreSQL is not reachable (%s)" % str(error).strip().splitlines()[0]
        )
    try:
        admin.execute('CREATE DATABASE "%s"' % name)
        base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
        yield "%s/%s" % (base, name)
    finally:
        with contextlib.suppress(psycopg.Error):
            admin.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        admin.close()


# --- a lean HTTP client ------------------------------------------------------------------

CONTENT_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)", re.IGNORECASE)
CONNECTION_CLOSE = re.compile(rb"\r\nconnection: *close", re.IGNORECASE)


class KeepAliveClient:
    """One keep-alive connection that posts a prebuilt request and reads each answer whole:
    its status line, its headers and its Content-Length body. A socket and a few byte
    searches, where ``http.client`` took about 0.35 ms of CPU per create (benchmarks/README.md,
    workers): what a suite times is the server's work, not a client library's."""

    def __init__(self, port, request):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request = request
        self.received = b""

    def post(self):
        """Send the request; the answer's status and body."""
        self.sock.sendall(self.request)
        while (end := self.received.find(b"\r\n\r\n")) < 0:
            self._receive()
        head, self.received = self.received[:end], self.received[end + 4 :]
        found = CONTENT_LENGTH.search(head)
        if found is None or CONNECTION_CLOSE.search(head):
            raise AssertionError("an answer this client cannot keep alive: %r" % head[:300])
        length = int(found.group(1))
        while len(self.received) < length:
            self._receive()
        body, self.received = self.received[:length], self.received[length:]
        return int(head[9:12]), body  # "HTTP/1.1 202 Accepted"

    def _receive(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise AssertionError("the server closed the connection")
        self.received += chunk

    def close(self):
        self.sock.close()
