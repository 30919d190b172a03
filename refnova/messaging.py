"""RPC over kombu in oslo.messaging's wire format: transport, client (prepare/cast), server.

What goes past oslo.messaging: the producer declares the queue it publishes to and (on
RabbitMQ) waits for the broker's confirm; the server acknowledges a message only after its
endpoint returned, and rejects what it cannot decode or dispatch instead of retrying it.
"""
import collections
import datetime
import json
import logging
import socket
import threading
import uuid

import kombu
from kombu.transport import memory, virtual
from opentelemetry.trace import Link, SpanKind

from refnova import exception, tracing

LOG = logging.getLogger(__name__)

CONTROL_EXCHANGE = "nova"
ENVELOPE_VERSION = "2.0"


def kombu_url(url):
    """oslo's ``rabbit://`` is kombu's ``amqp://``; ``memory://`` gets kombu's default host."""
    if url.startswith("rabbit://"):
        return "amqp://" + url[len("rabbit://"):]
    if url.rstrip("/") == "memory:":
        return "memory://localhost/"
    return url


def _private_memory_transport():
    """kombu's memory transport keeps one broker per process; give each Transport its own."""
    channel = type("Channel", (memory.Channel,), {"events": collections.defaultdict(set), "queues": {}})
    return type("Transport", (memory.Transport,), {"Channel": channel,
                                                   "global_state": virtual.BrokerState()})


class Transport:
    """A broker connection pool plus the exchange and queues of the RPC topics."""

    def __init__(self, url, publish_timeout=10.0, pool_size=8):
        self.url = kombu_url(url)
        self.is_memory = self.url.startswith("memory://")
        self.system = "memory" if self.is_memory else "rabbitmq"
        self.publish_timeout = publish_timeout
        options = {"transport": _private_memory_transport()} if self.is_memory else {
            "transport_options": {"confirm_publish": True}, "heartbeat": 0,
            "connect_timeout": min(publish_timeout, 5.0)}
        self.connection = kombu.Connection(self.url, **options)
        self.pool = self.connection.Pool(limit=pool_size)
        self.exchange = kombu.Exchange(CONTROL_EXCHANGE, type="topic", durable=False, auto_delete=False)

    def queue(self, topic):
        return kombu.Queue(topic, self.exchange, routing_key=topic, durable=False, auto_delete=False)

    def retry_policy(self):
        # Bounded retries with backoff (kombu's own policy); the total stays near publish_timeout.
        return {"max_retries": 3, "interval_start": 0, "interval_step": 1.0,
                "interval_max": max(self.publish_timeout / 3, 0.5)}

    @property
    def server_address(self):
        info = self.connection.info()
        return info.get("hostname"), info.get("port")

    def close(self):
        self.pool.force_close_all()
        self.connection.release()


def to_primitive(value):
    """oslo's jsonutils.to_primitive for the values a cast carries."""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, dict):
        return {key: to_primitive(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_primitive(item) for item in value]
    return value


def serialize_msg(message):
    return {"oslo.version": ENVELOPE_VERSION, "oslo.message": json.dumps(message)}


def deserialize_msg(body):
    """The inner message of an envelope (or a pre-envelope message as it is)."""
    if not isinstance(body, dict):
        raise ValueError("message body is not an object")
    if "oslo.version" not in body or "oslo.message" not in body:
        return body
    major, minor = (int(part) for part in str(body["oslo.version"]).split(".")[:2])
    if major != 2 or minor > 0:
        raise ValueError("unsupported envelope version %s" % body["oslo.version"])
    message = json.loads(body["oslo.message"])
    if not isinstance(message, dict):
        raise ValueError("inner message is not an object")
    return message


class RPCClient:
    """oslo.messaging's RPCClient for one target: prepare(version=...).cast(...)."""

    def __init__(self, transport, topic, namespace=None, version="1.0"):
        self.transport = transport
        self.topic = topic
        self.namespace = namespace
        self.version = version

    def prepare(self, version=None):
        return RPCClient(self.transport, self.topic, self.namespace, version or self.version)

    def cast(self, context, method, **kwargs):
        message = {"method": method, "args": to_primitive(kwargs)}
        if self.namespace:
            message["namespace"] = self.namespace
        if self.version:
            message["version"] = self.version
        message["_unique_id"] = uuid.uuid4().hex
        message.update({"_context_" + key: value for key, value in context.to_dict().items()})
        self._publish(message)
        return message["_unique_id"]

    def _publish(self, message):
        destination = "%s:%s" % (CONTROL_EXCHANGE, self.topic)
        attributes = {"messaging.system": "rabbitmq", "messaging.operation.name": "publish",
                      "messaging.operation.type": "send", "messaging.destination.name": destination,
                      "messaging.rabbitmq.destination.routing_key": self.topic,
                      "messaging.message.id": message["_unique_id"],
                      "nova.rpc.method": message["method"],
                      "nova.rpc.namespace": self.namespace or "",
                      "nova.rpc.version": self.version or ""}
        attributes.update(_context_attributes(message))
        with tracing.tracer().start_as_current_span(
                "publish " + destination, kind=SpanKind.PRODUCER, attributes=attributes) as span:
            body = serialize_msg(message)
            headers = tracing.inject_headers()
            try:
                with self.transport.pool.acquire(block=True, timeout=self.transport.publish_timeout) as conn:
                    producer = conn.Producer(serializer="json")
                    publish = conn.ensure(producer, producer.publish, **self.transport.retry_policy())
                    publish(body, exchange=self.transport.exchange, routing_key=self.topic,
                            declare=[self.transport.queue(self.topic)], delivery_mode=2,
                            headers=headers, content_encoding="utf-8")
            except (OSError, socket.timeout, kombu.exceptions.KombuError) as error:
                tracing.mark_error(span, error)
                raise exception.ServiceUnavailable(reason="the message broker could not be reached")
            if not self.transport.is_memory:
                address, port = self.transport.server_address
                span.set_attribute("server.address", address or "")
                if port:
                    span.set_attribute("server.port", int(port))


class Dispatcher:
    """oslo's RPCDispatcher: namespace, compatible version, public method."""

    def __init__(self, endpoints):
        self.endpoints = endpoints

    def dispatch(self, context, message):
        namespace = message.get("namespace")
        version = message.get("version") or "1.0"
        method = message.get("method")
        found_compatible = False
        for endpoint in self.endpoints:
            target = endpoint.target
            if target["namespace"] != namespace or not version_is_compatible(target["version"], version):
                continue
            found_compatible = True
            if isinstance(method, str) and not method.startswith("_") and hasattr(endpoint, method):
                return getattr(endpoint, method)(context, **(message.get("args") or {}))
        if found_compatible:
            raise NoSuchMethod(method)
        raise UnsupportedVersion(version, method)


class NoSuchMethod(Exception):
    def __init__(self, method):
        super().__init__("Endpoint does not support RPC method %s" % method)


class UnsupportedVersion(Exception):
    def __init__(self, version, method):
        super().__init__("Endpoint does not support RPC version %s. Attempted method: %s"
                         % (version, method))


def version_is_compatible(implemented, requested):
    imp = [int(part) for part in implemented.split(".")]
    req = [int(part) for part in requested.split(".")]
    imp += [0] * (3 - len(imp))
    req += [0] * (3 - len(req))
    if imp[0] != req[0] or req[1] > imp[1]:
        return False
    return not (req[1] == imp[1] and req[2] > imp[2])


class RPCServer:
    """Consumes a topic's queue and dispatches each message, acknowledging after it."""

    def __init__(self, transport, topic, endpoints, context_factory, prefetch=8):
        self.transport = transport
        self.topic = topic
        self.dispatcher = Dispatcher(endpoints)
        self.context_factory = context_factory
        self.prefetch = prefetch
        self._stop = threading.Event()
        self._thread = None
        self.idle = threading.Event()

    def start(self):
        self._thread = threading.Thread(target=self.run, name="rpc-server-" + self.topic, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout=10.0):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self):
        with self.transport.connection.clone() as conn:
            queue = self.transport.queue(self.topic)
            with conn.Consumer([queue], callbacks=[self._on_message], accept=["json"],
                               prefetch_count=self.prefetch, on_decode_error=self._on_decode_error):
                while not self._stop.is_set():
                    try:
                        conn.drain_events(timeout=0.05 if self.transport.is_memory else 1.0)
                        self.idle.clear()
                    except socket.timeout:
                        self.idle.set()
                    except conn.connection_errors as error:
                        LOG.warning("consumer connection lost (%s); reconnecting", error)
                        conn.ensure_connection(max_retries=None)

    @staticmethod
    def _on_decode_error(message, error):
        LOG.error("Cannot decode message (%s); rejecting it", error)
        message.reject(requeue=False)

    def _on_message(self, body, message):
        headers = message.headers or {}
        parent = tracing.extract_context(headers)
        destination = "%s:%s" % (CONTROL_EXCHANGE, self.topic)
        producer_span = _span_context_of(parent)
        links = [Link(producer_span)] if producer_span is not None else []
        attributes = {"messaging.system": "rabbitmq", "messaging.operation.name": "process",
                      "messaging.operation.type": "process", "messaging.destination.name": destination,
                      "messaging.rabbitmq.destination.routing_key": message.delivery_info.get(
                          "routing_key", self.topic)}
        tag = message.delivery_tag
        if isinstance(tag, int):
            attributes["messaging.rabbitmq.message.delivery_tag"] = tag
        with tracing.start_remote_span(
                "process " + destination, parent, kind=SpanKind.CONSUMER,
                links=links, attributes=attributes, record_exception=False,
                set_status_on_exception=False) as span:
            try:
                inner = deserialize_msg(body)
                span.set_attribute("messaging.message.id", str(inner.get("_unique_id", "")))
                if span.is_recording():
                    span.set_attributes(_context_attributes(inner))
                    span.set_attributes({"nova.rpc." + key: str(inner[key]) for key in
                                         ("method", "namespace", "version") if key in inner})
                context = self.context_factory({key[len("_context_"):]: value
                                                for key, value in inner.items()
                                                if key.startswith("_context_")})
                self.dispatcher.dispatch(context, inner)
            except Exception as error:  # a bad message must never stop the consumer
                LOG.exception("Failed to process message; rejecting it")
                tracing.mark_error(span, error)
                message.reject(requeue=False)
                return
            message.ack()


def _context_attributes(message):
    """The request's id and project from a message's ``_context_*`` keys, for its spans
    (only those two: the context also carries the caller's token, which no span may)."""
    attributes = {}
    for key, attribute in (("_context_request_id", "nova.request_id"),
                           ("_context_project_id", "nova.project_id")):
        if isinstance(message.get(key), str):
            attributes[attribute] = message[key]
    return attributes


def _span_context_of(ctx):
    from opentelemetry import trace
    span_context = trace.get_current_span(ctx).get_span_context()
    return span_context if span_context.is_valid else None
