"""Shared fixtures for the real deployment: RabbitMQ, PostgreSQL and refnova processes.

Every RabbitMQ test gets its own vhost and every PostgreSQL test its own database, both removed
afterwards. Where a service is missing the test skips with the reason, except in CI
(``CI=true``), where a missing service is a failure.
"""

import collections
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import warnings

import kombu
import pytest
import requests

from refnova.world import load_world

IN_CI = os.environ.get("CI") == "true"
RABBIT_HOST = os.environ.get("REFNOVA_TEST_RABBIT_HOST", "127.0.0.1")
RABBIT_PORT = int(os.environ.get("REFNOVA_TEST_RABBIT_PORT", "5672"))
RABBIT_USER = os.environ.get("REFNOVA_TEST_RABBIT_USER", "guest")
RABBIT_PASSWORD = os.environ.get("REFNOVA_TEST_RABBIT_PASSWORD", "guest")
PG_HOST = os.environ.get("REFNOVA_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("REFNOVA_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("REFNOVA_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("REFNOVA_TEST_PG_DATABASE", "test")

WORLD = load_world()
IMAGE_ID = WORLD["defaults"]["image_id"]
BUILT = re.compile(r"Built instance ([0-9a-f-]{36}) on (\S+)")


def require(service, problem):
    """Skip (or, in CI, fail) when a service the test needs is missing."""
    if problem is None:
        return
    message = "%s is not available: %s" % (service, problem)
    if IN_CI:
        pytest.fail(message + " (CI=true: the service is required)", pytrace=False)
    pytest.skip(message)


def _port_problem(host, port):
    try:
        socket.create_connection((host, port), timeout=1.0).close()
        return None
    except OSError as error:
        return "nothing listens on %s:%d (%s)" % (host, port, error)


# --- RabbitMQ -----------------------------------------------------------------------------


def rabbitmqctl(*args, timeout=60, stdin=None):
    result = subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, timeout=timeout, input=stdin
    )
    if result.returncode != 0:
        raise RuntimeError(
            "rabbitmqctl %s failed: %s%s" % (" ".join(args), result.stdout, result.stderr)
        )
    return result.stdout


_rabbit_problem = []


@pytest.fixture(scope="session")
def rabbitmq():
    if not _rabbit_problem:
        problem = _port_problem(RABBIT_HOST, RABBIT_PORT)
        if problem is None and shutil.which("rabbitmqctl") is None:
            problem = "rabbitmqctl is not on PATH (the tests create a vhost each)"
        if problem is None:
            try:
                rabbitmqctl("list_vhosts", timeout=30)
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
                problem = "rabbitmqctl does not answer: %s" % error
        _rabbit_problem.append(problem)
    require("RabbitMQ", _rabbit_problem[0])


class Vhost:
    """A private vhost: its refnova/oslo URL, and what its queues hold."""

    def __init__(self, name):
        self.name = name
        self.url = "rabbit://%s:%s@%s:%d/%s" % (
            RABBIT_USER,
            RABBIT_PASSWORD,
            RABBIT_HOST,
            RABBIT_PORT,
            name,
        )
        self.kombu_url = "amqp" + self.url[len("rabbit") :]

    def connection(self):
        return kombu.Connection(self.kombu_url)

    def queues(self):
        """{name: {"ready": n, "unacked": n, "consumers": n}} as the broker reports them."""
        out = rabbitmqctl(
            "list_queues",
            "-q",
            "-p",
            self.name,
            "--formatter",
            "json",
            "name",
            "messages_ready",
            "messages_unacknowledged",
            "consumers",
        )
        return {
            row["name"]: {
                "ready": row["messages_ready"],
                "unacked": row["messages_unacknowledged"],
                "consumers": row["consumers"],
            }
            for row in json.loads(out or "[]")
        }

    def queue_exists(self, name):
        with self.connection() as conn:
            try:
                kombu.Queue(name, channel=conn.channel()).queue_declare(passive=True)
                return True
            except conn.channel_errors:
                return False

    def ready_count(self, name):
        return self.passive(name)[0]

    def passive(self, name):
        """(ready messages, consumers) of a queue, from a passive declaration (fast)."""
        with self.connection() as conn:
            declared = kombu.Queue(name, channel=conn.channel()).queue_declare(passive=True)
            return declared.message_count, declared.consumer_count

    def drain(self, name):
        """Take every ready message off a queue: [(headers, body bytes, properties)]."""
        messages = []
        with self.connection() as conn:
            queue = kombu.Queue(name, channel=conn.channel())
            while True:
                message = queue.get(no_ack=False, accept=["json", "application/data"])
                if message is None:
                    return messages
                body = (
                    message.body
                    if isinstance(message.body, bytes)
                    else message.body.encode("utf-8")
                )
                messages.append((dict(message.headers or {}), body, dict(message.properties)))
                message.ack()

    def close_connections(self):
        rabbitmqctl("close_all_connections", "--vhost", self.name, "refnova test: connection lost")


class VhostPool:
    """The session's vhosts, created together and deleted together.

    Every test gets a vhost of its own; rabbitmqctl costs a second or more per call, so the pool
    creates all the session needs in one call (import_definitions) and deletes them in one.
    """

    def __init__(self):
        self.free = []
        self.made = []

    def _make(self, count):
        names = ["refnova-it-" + uuid.uuid4().hex[:12] for _ in range(count)]
        definitions = {
            "vhosts": [{"name": name} for name in names],
            "permissions": [
                {"user": RABBIT_USER, "vhost": name, "configure": ".*", "write": ".*", "read": ".*"}
                for name in names
            ],
        }
        try:
            rabbitmqctl("-q", "import_definitions", stdin=json.dumps(definitions))
        finally:  # whatever part of it was made is deleted at the end
            self.made.extend(names)
        self.free.extend(names)

    def take(self, expected):
        if not self.free:
            self._make(max(expected, 1))
        return Vhost(self.free.pop())

    def delete_all(self):
        if not self.made:
            return
        names = ", ".join('<<"%s">>' % name for name in self.made)
        try:
            rabbitmqctl(
                "-q",
                "eval",
                '[catch rabbit_vhost:delete(V, <<"refnova-tests">>) || V <- [%s]], ok.' % names,
            )
        except (RuntimeError, OSError, subprocess.TimeoutExpired):
            pass
        # The internal call may change between versions: whatever is left goes one by one.
        left = set(self.made) & set(rabbitmqctl("-q", "list_vhosts", "name").split())
        for name in left:
            subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], capture_output=True)


@pytest.fixture(scope="session")
def _vhost_pool(rabbitmq):
    pool = VhostPool()
    yield pool
    pool.delete_all()


@pytest.fixture
def vhost(_vhost_pool, request):
    """A RabbitMQ vhost of the test's own (guest may do anything in it), deleted at the end."""
    expected = sum(
        1 for item in request.session.items if "vhost" in getattr(item, "fixturenames", ())
    )
    return _vhost_pool.take(expected)


# --- PostgreSQL -----------------------------------------------------------------------------


def pg_admin():
    import psycopg

    return psycopg.connect(
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        dbname=PG_ADMIN_DB,
        autocommit=True,
        connect_timeout=5,
    )


_pg_problem = []


@pytest.fixture(scope="session")
def postgresql():
    if not _pg_problem:
        problem = _port_problem(PG_HOST, PG_PORT)
        if problem is None:
            try:
                import psycopg  # noqa: F401

                with pg_admin() as conn:
                    conn.execute("SELECT 1")
            except Exception as error:  # ImportError, OperationalError: both mean "absent"
                problem = "cannot connect as %s to %s: %s" % (PG_USER, PG_ADMIN_DB, error)
        _pg_problem.append(problem)
    require("PostgreSQL", _pg_problem[0])


@pytest.fixture
def pg_url(postgresql):
    """A fresh database of its own, dropped afterwards: its SQLAlchemy URL."""
    name = "refnova_it_" + uuid.uuid4().hex[:12]
    with pg_admin() as conn:
        conn.execute('CREATE DATABASE "%s"' % name)
    try:
        yield "postgresql+psycopg://%s@%s:%d/%s" % (PG_USER, PG_HOST, PG_PORT, name)
    finally:
        with pg_admin() as conn:
            conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)


# --- refnova processes --------------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_world(path, overrides):
    path.write_text(json.dumps(load_world(overrides)))
    return str(path)


# Room for hundreds of m1.tiny servers: big hosts, no instance quota, no rate limit.
ROOMY_WORLD = {
    "hosts": [
        {
            "host": "compute%d" % n,
            "node": "compute%d" % n,
            "availability_zone": "nova",
            "memory_mb": 1048576,
            "disk_gb": 100000,
            "enabled": True,
        }
        for n in (1, 2, 3)
    ],
    "quotas": {"instances": -1, "cores": -1, "ram": -1},
    "rate_limits": {"POST": -1},
}


class Process:
    """One ``refnova`` process, its output in a log file."""

    def __init__(self, name, args, env, workdir):
        self.name = name
        self.log_path = workdir / ("%s.log" % name)
        self._log = open(self.log_path, "w")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "refnova.cli", *args],
            cwd=workdir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self):
        return self.popen.pid

    def log(self):
        return self.log_path.read_text()

    def wait_for_log(self, text, timeout=30.0, count=1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log().count(text) >= count:
                return
            if self.popen.poll() is not None:
                raise AssertionError(
                    "%s exited (%s) before logging %r:\n%s"
                    % (self.name, self.popen.returncode, text, self.log())
                )
            time.sleep(0.05)
        raise AssertionError(
            "%s did not log %r within %ss:\n%s" % (self.name, text, timeout, self.log())
        )

    def built(self):
        """Instance uuid -> how often this process logged building it."""
        return collections.Counter(match.group(1) for match in BUILT.finditer(self.log()))

    def signal(self, signum):
        self.popen.send_signal(signum)

    def stop(self, timeout=15.0):
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                warnings.warn(
                    "%s did not stop within %ss of SIGTERM; killed it:\n%s"
                    % (self.name, timeout, self.log()[-3000:]),
                    stacklevel=2,
                )
                self.popen.kill()
                self.popen.wait(10)
        self._log.close()


class Api:
    """HTTP client of a ``refnova serve`` process."""

    def __init__(self, process, port):
        self.process = process
        self.base = "http://127.0.0.1:%d" % port

    def headers(self, project, user="demo"):
        return {
            "X-Auth-Token": "%s:%s" % (user, project),
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def create(self, project, session=None, name="vm", **server):
        body = {"server": {"name": name, "imageRef": IMAGE_ID, "flavorRef": "1", **server}}
        return (session or requests).post(
            "%s/v2/%s/servers" % (self.base, project),
            data=json.dumps(body),
            headers=self.headers(project),
            timeout=60,
        )

    def show(self, project, server_id, session=None):
        return (session or requests).get(
            "%s/v2/%s/servers/%s" % (self.base, project, server_id),
            headers=self.headers(project),
            timeout=30,
        )

    def wait_for_status(self, project, server_id, statuses=("ACTIVE", "ERROR"), timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            server = self.show(project, server_id).json()["server"]
            if server["status"] in statuses or time.monotonic() > deadline:
                return server
            time.sleep(0.05)


class Cluster:
    """The processes of one test; all of them end with the test."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.processes = []

    def env(self, **settings):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REFNOVA_", "OTEL_"))}
        env["REFNOVA_LOG_LEVEL"] = "INFO"
        env.update({"REFNOVA_" + key.upper(): str(value) for key, value in settings.items()})
        return env

    def _start(self, name, args, settings):
        if any(process.name == name for process in self.processes):
            name = "%s-%d" % (name, len(self.processes))  # a log file of its own
        process = Process(name, args, self.env(**settings), self.workdir)
        self.processes.append(process)
        return process

    def api(self, db, transport, world=None, name="api", **settings):
        port = free_port()
        args = ["serve", "--port", str(port), "--db", db, "--transport", transport]
        if world:
            args += ["--world", world]
        process = self._start(name, args, settings)
        process.wait_for_log("refnova API on")
        api = Api(process, port)
        deadline = time.monotonic() + 30
        while True:
            try:
                api.show("probe", "00000000-0000-0000-0000-000000000000")
                return api
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def conductor(self, db, transport, world=None, name="conductor", wait=True, **settings):
        args = ["conductor", "--db", db, "--transport", transport]
        if world:
            args += ["--world", world]
        process = self._start(name, args, settings)
        if wait:
            process.wait_for_log("Consuming nova:conductor")
        return process

    def stop(self):
        for process in self.processes:  # all at once, then wait for each
            if process.popen.poll() is None:
                process.popen.terminate()
        for process in self.processes:
            process.stop()


@pytest.fixture
def cluster(tmp_path):
    cluster = Cluster(tmp_path)
    try:
        yield cluster
    finally:
        cluster.stop()


def run_threads(count, target):
    """Run ``target(index)`` on ``count`` threads at once; their results, in order."""
    results = [None] * count
    errors = []
    barrier = threading.Barrier(count)

    def run(index):
        try:
            barrier.wait(timeout=30)
            results[index] = target(index)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    if errors:
        raise errors[0]
    return results


def sigkill(process):
    process.signal(signal.SIGKILL)
    process.popen.wait(10)
