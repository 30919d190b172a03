"""RabbitMQ and PostgreSQL for the integration tests: where they are, whether they answer,
a private vhost per test, a private database per test.

Where a service is missing a test skips with the reason, except in CI (``CI=true``), where a
missing service is a failure (``require``). The fixtures are in tests/integration/conftest.py.
"""

import functools
import json
import os
import shutil
import socket
import subprocess
import uuid

import kombu
import pytest

IN_CI = os.environ.get("CI") == "true"
RABBIT_HOST = os.environ.get("REFNOVA_TEST_RABBIT_HOST", "127.0.0.1")
RABBIT_PORT = int(os.environ.get("REFNOVA_TEST_RABBIT_PORT", "5672"))
RABBIT_USER = os.environ.get("REFNOVA_TEST_RABBIT_USER", "guest")
RABBIT_PASSWORD = os.environ.get("REFNOVA_TEST_RABBIT_PASSWORD", "guest")
PG_HOST = os.environ.get("REFNOVA_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("REFNOVA_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("REFNOVA_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("REFNOVA_TEST_PG_DATABASE", "test")


def require(service, problem):
    """Skip (or, in CI, fail) when a service the test needs is missing."""
    if problem is None:
        return
    message = "%s is not available: %s" % (service, problem)
    if IN_CI:
        pytest.fail(message + " (CI=true: the service is required)", pytrace=False)
    pytest.skip(message)


def port_problem(host, port):
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


@functools.cache
def rabbitmq_problem():
    """Why RabbitMQ cannot serve the tests, or None (asked once per session)."""
    problem = port_problem(RABBIT_HOST, RABBIT_PORT)
    if problem is None and shutil.which("rabbitmqctl") is None:
        problem = "rabbitmqctl is not on PATH (the tests create a vhost each)"
    if problem is None:
        try:
            rabbitmqctl("list_vhosts", timeout=30)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
            problem = "rabbitmqctl does not answer: %s" % error
    return problem


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


@functools.cache
def postgresql_problem():
    """Why PostgreSQL cannot serve the tests, or None (asked once per session)."""
    problem = port_problem(PG_HOST, PG_PORT)
    if problem is None:
        try:
            with pg_admin() as conn:
                conn.execute("SELECT 1")
        except Exception as error:  # ImportError, OperationalError: both mean "absent"
            problem = "cannot connect as %s to %s: %s" % (PG_USER, PG_ADMIN_DB, error)
    return problem


def create_database():
    """A fresh database of its own: (its name, its SQLAlchemy URL)."""
    name = "refnova_it_" + uuid.uuid4().hex[:12]
    with pg_admin() as conn:
        conn.execute('CREATE DATABASE "%s"' % name)
    return name, "postgresql+psycopg://%s@%s:%d/%s" % (PG_USER, PG_HOST, PG_PORT, name)


def drop_database(name):
    with pg_admin() as conn:
        conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
