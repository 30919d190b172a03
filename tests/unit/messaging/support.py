"""What the messaging unit tests share: a private in-memory broker (kombu's ``memory://``),
a request context, an endpoint that records its calls.

Each ``Transport("memory://")`` has its own broker state, so tests never see each other's
messages. Waits poll the queues and the endpoints until a condition holds or a generous
deadline passes; no test asserts how long anything took.
"""

import contextlib
import json
import time

import kombu

from refnova.messaging import RPCClient, RPCServer, Target, Transport

TOPIC = "conductor"
NAMESPACE = "compute_task"
DEADLINE = 10.0  # seconds: only ever reached when the code under test is broken


class Context:
    """A request context as the RPC client sees one: its ``to_dict``."""

    def __init__(self, **values):
        self.values = {"request_id": "req-1", "project_id": "p1", "user_id": "u1", **values}

    def to_dict(self):
        return dict(self.values)


class Endpoint:
    """A conductor-like endpoint that records its calls (also in the broker's journal) and
    raises the failures it is given, one per call, before it succeeds."""

    target = Target(namespace=NAMESPACE, version="1.6")

    def __init__(self, broker, failures=()):
        self.journal = broker.journal
        self.calls = []
        self.failures = list(failures)

    def build_instances(self, context, instances, legacy_bdm=True):
        self.calls.append({"context": context, "instances": instances, "legacy_bdm": legacy_bdm})
        if self.failures:
            failure = self.failures.pop(0)
            self.journal.append("failed")
            raise failure
        self.journal.append("built")

    def _private(self, context):
        self.calls.append({"context": context, "private": True})


class Broker:
    """One memory:// transport, with helpers to cast, serve, publish raw bodies and read queues."""

    def __init__(self):
        self.transport = Transport("memory://", publish_timeout=2.0)
        # What happened, in order: the endpoint's "built" and "failed", and (once the
        # fixture watches kombu's messages) each "ack" and "requeue" of a delivered message.
        self.journal = []

    def watch_settlements(self, monkeypatch):
        """Journal every ack and requeue of a delivered message (kombu's memory transport
        drops unacknowledged messages when a channel closes, so the queue cannot tell)."""
        for name in ("ack", "requeue"):
            settle = getattr(kombu.Message, name)

            def journaled(message, *args, _settle=settle, _name=name, **kwargs):
                self.journal.append(_name)
                return _settle(message, *args, **kwargs)

            monkeypatch.setattr(kombu.Message, name, journaled)

    def client(self, **target):
        return RPCClient(
            self.transport, Target(topic=TOPIC, namespace=NAMESPACE, version="1.0", **target)
        )

    @contextlib.contextmanager
    def serving(self, endpoint, target=None, **options):
        options = {"retry_delay": 0.01, "transient_backoff": (0.01, 0.05), **options}
        server = RPCServer(
            self.transport, target or Target(topic=TOPIC), [endpoint], dict, **options
        ).start()
        assert server.ready.wait(DEADLINE), "the server never started consuming"
        try:
            yield server
        finally:
            server.stop(timeout=DEADLINE)

    def publish_raw(self, body, routing_key=TOPIC, **properties):
        """A message as another producer could send it, straight onto the topic's queue."""
        with self.transport.connection.clone() as conn:
            conn.Producer().publish(
                body,
                exchange=self.transport.exchange,
                routing_key=routing_key,
                declare=[self.transport.queue(routing_key)],
                **properties,
            )

    def drain(self, name):
        """Every message now on queue ``name`` (taken off it)."""
        queue = kombu.Queue(name, self.transport.exchange, routing_key=name)
        messages = []
        with self.transport.connection.clone() as conn:
            bound = queue(conn.default_channel)
            bound.declare()
            while (message := bound.get(no_ack=True)) is not None:
                messages.append(message)
        return messages

    def dead_letters(self):
        return self.drain(TOPIC + ".dead")

    def transport_has(self, name):
        """Whether queue ``name`` holds a message (it is left there)."""
        with self.transport.connection.clone() as conn:
            return (
                kombu.Queue(name, self.transport.exchange, routing_key=name)(conn.default_channel)
                .queue_declare(passive=True)
                .message_count
                > 0
            )

    def wait_for(self, condition, what):
        deadline = time.monotonic() + DEADLINE
        while not condition():
            assert time.monotonic() < deadline, "still waiting for " + what
            time.sleep(0.01)

    def close(self):
        self.transport.close()


def inner(message):
    """The inner oslo message of a kombu message's envelope body."""
    return json.loads(json.loads(message.body)["oslo.message"])
