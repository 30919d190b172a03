"""RPC over kombu in oslo.messaging's wire format: transport, client (prepare/cast), server.

What goes past oslo.messaging, so that a cast the broker accepted is never lost:

- the producer declares the exchange, the topic queue and its binding before it publishes
  (oslo declares only the exchange, so a cast sent before any server ever ran is dropped), and
  publishes persistent, ``mandatory`` (a message no queue took comes back and is sent again after
  the declarations are redone), with publisher confirms, under kombu's bounded retry policy;
- the server acknowledges a message only after its endpoint returned (oslo acknowledges on
  receipt), so a conductor that dies mid-build leaves the message to another one; endpoints are
  idempotent, so a redelivery does no work twice;
- what the server cannot decode or dispatch goes to a dead-letter queue with the reason, and a
  failing endpoint is retried a bounded number of times before it goes there too: nothing is
  dropped, nothing is retried forever, and nothing blocks the queue.
"""
import collections
import datetime
import inspect
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
DEAD_LETTER_SUFFIX = ".dead"
# AMQP headers refnova adds (oslo.messaging consumers never read the headers table).
REASON_HEADER = "x-refnova-dead-letter-reason"
ORIGIN_HEADER = "x-refnova-original-routing-key"
ATTEMPT_HEADER = "x-refnova-attempt"
MAX_DISPATCH_ATTEMPTS = 3
TRANSIENT_BACKOFF_START = 0.2   # seconds, doubled for each transient failure in a row
TRANSIENT_BACKOFF_MAX = 5.0


class Unroutable(Exception):
    """The broker returned a ``mandatory`` message: no queue was bound to take it."""


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

    def __init__(self, url, publish_timeout=10.0, pool_size=8, heartbeat=60):
        self.url = kombu_url(url)
        self.is_memory = self.url.startswith("memory://")
        self.system = "memory" if self.is_memory else "rabbitmq"
        self.publish_timeout = publish_timeout
        # Consumers send heartbeats (as oslo's listeners do), so a dead broker is noticed.
        self.heartbeat = 0 if self.is_memory else heartbeat
        # The retry policy also bounds the first connection of each pooled connection (kombu
        # reads it from the transport options when it opens the default channel).
        options = {"transport": _private_memory_transport()} if self.is_memory else {
            "transport_options": {"confirm_publish": True, **self.retry_policy()}, "heartbeat": 0,
            "connect_timeout": min(publish_timeout, 5.0)}
        self.connection = kombu.Connection(self.url, **options)
        self.pool = self.connection.Pool(limit=pool_size)
        self.exchange = kombu.Exchange(CONTROL_EXCHANGE, type="topic", durable=False, auto_delete=False)
        self._queues = {}

    def queue(self, topic):
        # Exactly as oslo.messaging declares a topic queue (durable False, auto_delete False, no
        # arguments): refnova and real oslo peers share it, and RabbitMQ refuses a redeclare with
        # other flags or arguments (PRECONDITION_FAILED). Made once per topic (every cast asks for
        # it); whoever binds it to a channel gets a copy.
        queue = self._queues.get(topic)
        if queue is None:
            queue = self._queues[topic] = kombu.Queue(topic, self.exchange, routing_key=topic,
                                                      durable=False, auto_delete=False)
        return queue

    def dead_letter_queue(self, topic):
        """Where a server moves what it cannot serve: ``<topic>.dead`` on the same exchange.

        Not ``x-dead-letter-exchange`` on the topic queue: that is a queue argument, oslo declares
        the queue without arguments, and RabbitMQ would refuse one of the two declarations, so a
        refnova conductor could not share the queue with real oslo.messaging peers. Instead the
        server republishes the rejected message here, the reason in a header, and acknowledges the
        original once the broker confirmed the copy. This queue is durable (oslo never declares
        it), so persistent dead letters survive a broker restart.
        """
        name = topic + DEAD_LETTER_SUFFIX
        return kombu.Queue(name, self.exchange, routing_key=name, durable=True, auto_delete=False)

    def consumer_connection(self):
        return self.connection.clone(heartbeat=self.heartbeat)

    def retry_policy(self):
        # Bounded retries with backoff (kombu's own policy); the total stays near publish_timeout.
        return {"max_retries": 3, "interval_start": 0, "interval_step": 1.0,
                "interval_max": max(self.publish_timeout / 3, 0.5)}

    @property
    def publish_errors(self):
        """What ``publish`` raises once the retry policy gave up."""
        return ((OSError, kombu.exceptions.KombuError, Unroutable)
                + tuple(self.connection.connection_errors) + tuple(self.connection.channel_errors))

    def publish(self, body, routing_key, queue, headers=None, **properties):
        """Publish to the control exchange once ``queue`` and its binding are declared.

        Persistent, confirmed by the broker and ``mandatory``: a message no queue took comes back
        and is sent again after the declarations are redone (kombu caches them per connection,
        and the queue may have been deleted since). kombu's retry policy reconnects and retries a
        bounded number of times, then the last error is raised (one of ``publish_errors``).
        """
        with self.pool.acquire(block=True, timeout=self.publish_timeout) as conn:
            producer, queues, send = self._publisher(conn)
            send(conn, producer, queues, body, routing_key, queue, headers, properties)

    def _send(self, conn, producer, queues, body, routing_key, queue, headers, properties):
        _returned.message = None
        # The queue bound once per connection: kombu copies an unbound queue to bind it on
        # every declare check. The declaration itself still happens, on the producer's
        # channel, whenever the connection's cache says so.
        bound = queues.get(queue.name)
        if bound is None:
            bound = queues[queue.name] = queue.bind(producer.channel)
        options = {} if self.is_memory else {"mandatory": True,
                                              "confirm_timeout": self.publish_timeout}
        producer.publish(body, exchange=self.exchange, routing_key=routing_key,
                         declare=[bound], delivery_mode=2, headers=headers or {},
                         **options, **properties)
        if _returned.message is not None:
            conn.declared_entities.clear()
            raise Unroutable("%s:%s returned by the broker: %s"
                             % (CONTROL_EXCHANGE, routing_key, _returned.message))

    def _publisher(self, conn):
        """What a pooled connection publishes with, made once for it: its producer (kombu's
        ``ensure`` revives it on a new channel after a reconnection), the queues bound for it,
        and ``_send`` wrapped in ``ensure`` with the retry policy."""
        made = getattr(conn, "_refnova_publisher", None)
        if made is None:
            producer = (conn.Producer(serializer="json") if self.is_memory
                        else conn.Producer(serializer="json", on_return=_on_return))
            send = conn.ensure(producer, self._send, errback=_publish_failed,
                               retry_errors=(Unroutable,), **self.retry_policy())
            made = conn._refnova_publisher = (producer, {}, send)
        return made

    @property
    def server_address(self):
        info = self.connection.info()
        return info.get("hostname"), info.get("port")

    def close(self):
        self.pool.force_close_all()
        self.connection.release()


_returned = threading.local()


def _on_return(error, exchange, routing_key, message):
    # basic.return comes before the confirm, on the thread that waits for it: the publisher's.
    _returned.message = str(error)


def _publish_failed(error, interval):
    LOG.warning("Publishing failed (%s); retrying in %ss", error, interval)


_SCALARS = frozenset((str, int, float, bool, type(None)))


def to_primitive(value):
    """oslo's jsonutils.to_primitive for the values a cast carries."""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, dict):
        return {key: item if type(item) in _SCALARS else to_primitive(item)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [item if type(item) in _SCALARS else to_primitive(item) for item in value]
    return value


def serialize_msg(message):
    """The oslo envelope; datetimes anywhere in the message become to_primitive's strings."""
    return {"oslo.version": ENVELOPE_VERSION,
            "oslo.message": json.dumps(message, default=_primitive_default)}


def _primitive_default(value):
    if isinstance(value, datetime.datetime):
        return to_primitive(value)
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


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
        # The arguments as given: serialize_msg turns them into oslo's primitives as it writes
        # them, rather than copying every dict and list first (to_primitive's walk).
        message = {"method": method, "args": kwargs}
        if self.namespace:
            message["namespace"] = self.namespace
        if self.version:
            message["version"] = self.version
        message["_unique_id"] = uuid.uuid4().hex
        message.update({"_context_" + key: value for key, value in context.to_dict().items()})
        self._publish(message)
        return message["_unique_id"]

    def _publish_attributes(self, message, destination):
        attributes = {"messaging.system": "rabbitmq", "messaging.operation.name": "publish",
                      "messaging.operation.type": "send", "messaging.destination.name": destination,
                      "messaging.rabbitmq.destination.routing_key": self.topic,
                      "messaging.message.id": message["_unique_id"],
                      "nova.rpc.method": message["method"],
                      "nova.rpc.namespace": self.namespace or "",
                      "nova.rpc.version": self.version or ""}
        attributes.update(_context_attributes(message))
        return attributes

    def _publish(self, message):
        destination = "%s:%s" % (CONTROL_EXCHANGE, self.topic)
        traced = tracing.enabled()
        attributes = self._publish_attributes(message, destination) if traced else None
        with tracing.span("publish " + destination, kind=SpanKind.PRODUCER,
                          attributes=attributes) as span:
            body = serialize_msg(message)
            headers = tracing.inject_headers() if traced else {}
            try:
                self.transport.publish(body, self.topic, self.transport.queue(self.topic),
                                       headers=headers, content_encoding="utf-8")
            except self.transport.publish_errors as error:
                LOG.error("Cast %s to %s failed: %s", message["method"], destination, error)
                tracing.mark_error(span, error)
                raise exception.ServiceUnavailable(reason="the message broker could not be reached")
            if not self.transport.is_memory and span.is_recording():
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
                function, args = getattr(endpoint, method), message.get("args") or {}
                if not isinstance(args, dict):
                    raise InvalidArguments(method, "args is not an object")
                try:
                    inspect.signature(function).bind(context, **args)
                except TypeError as error:
                    raise InvalidArguments(method, error)
                return function(context, **args)
        if found_compatible:
            raise NoSuchMethod(method)
        raise UnsupportedVersion(version, method)


class NoSuchMethod(Exception):
    def __init__(self, method):
        super().__init__("Endpoint does not support RPC method %s" % method)


class InvalidArguments(Exception):
    def __init__(self, method, reason):
        super().__init__("Invalid arguments for RPC method %s: %s" % (method, reason))


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


class _Stopping(Exception):
    """The server was asked to stop while it waited for the broker."""


class RPCServer:
    """Consumes a topic's queue and dispatches each message, acknowledging after it.

    Delivery is at least once. A message is acknowledged only after its endpoint returned (the
    conductor's build is committed by then), so the messages a server held when it died go back
    to the queue and to another server, and the endpoints are idempotent (the conductor builds an
    instance only while it is still 'building'). A message that cannot be decoded, or asks for a
    method, version or arguments no endpoint serves, goes to the dead-letter queue at once; one
    whose endpoint failed is sent again (a header counts the attempts) and dead-lettered after
    ``max_attempts``, unless the failure is one of ``transient_errors``. ``stop`` lets the message in hand finish and be acknowledged; messages
    prefetched but not started go back to the broker. A lost connection is re-established.
    """

    def __init__(self, transport, topic, endpoints, context_factory, prefetch=8,
                 max_attempts=MAX_DISPATCH_ATTEMPTS, retry_delay=0.5, transient_errors=()):
        self.transport = transport
        self.topic = topic
        self.dispatcher = Dispatcher(endpoints)
        self.context_factory = context_factory
        self.prefetch = prefetch
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        # Exceptions that say the endpoint's own resources are away (a database outage): such a
        # message is requeued after a backoff, as often as it takes, never dead-lettered.
        self.transient_errors = tuple(transient_errors)
        self._transient_failures = 0
        self._stop = threading.Event()
        self._thread = None
        self.ready = threading.Event()   # set while consuming
        self.idle = threading.Event()

    def start(self):
        self._thread = threading.Thread(target=self.run, name="rpc-server-" + self.topic, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout=30.0):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                LOG.warning("%s server still busy after %ss; leaving its message to the broker",
                            self.topic, timeout)

    def run(self):
        while not self._stop.is_set():
            try:
                with self.transport.consumer_connection() as conn:
                    conn.ensure_connection(errback=self._connect_failed, max_retries=None,
                                           interval_start=0.5, interval_step=1.0, interval_max=10.0,
                                           callback=self._raise_if_stopping)
                    self._consume(conn)
            except _Stopping:
                break
            except Exception as error:  # neither the broker nor a message may end the server
                LOG.warning("%s server lost its connection (%s); reconnecting", self.topic, error)
                self._stop.wait(1.0)
            finally:
                self.ready.clear()

    def _raise_if_stopping(self):
        if self._stop.is_set():
            raise _Stopping()

    @staticmethod
    def _connect_failed(error, interval):
        LOG.warning("Cannot reach the broker (%s); retrying in %ss", error, interval)

    def _consume(self, conn):
        channel = conn.default_channel
        self.transport.dead_letter_queue(self.topic)(channel).declare()
        consumer = kombu.Consumer(channel, [self.transport.queue(self.topic)],
                                  callbacks=[self._on_message], accept=["json"],
                                  prefetch_count=self.prefetch, on_decode_error=self._on_decode_error)
        with consumer:
            self.ready.set()
            LOG.info("Consuming %s:%s (prefetch %d)", CONTROL_EXCHANGE, self.topic, self.prefetch)
            while not self._stop.is_set():
                try:
                    conn.drain_events(timeout=0.05 if self.transport.is_memory else 1.0)
                    self.idle.clear()
                except socket.timeout:
                    self.idle.set()
                if self.transport.heartbeat:
                    conn.heartbeat_check()

    def _on_decode_error(self, message, error):
        self._dead_letter(message, "cannot decode the message: %s" % error)

    def _on_message(self, body, message):
        if self._stop.is_set():
            message.requeue()   # stopping: a message not started goes to another server
            return
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
            unique_id = ""
            try:
                inner = deserialize_msg(body)
                unique_id = str(inner.get("_unique_id", ""))
                span.set_attribute("messaging.message.id", unique_id)
                if span.is_recording():
                    span.set_attributes(_context_attributes(inner))
                    span.set_attributes({"nova.rpc." + key: str(inner[key]) for key in
                                         ("method", "namespace", "version") if key in inner})
                context = self.context_factory({key[len("_context_"):]: value
                                                for key, value in inner.items()
                                                if key.startswith("_context_")})
            except Exception as error:  # a bad message must never stop the consumer
                tracing.mark_error(span, error)
                self._dead_letter(message, "cannot decode the message: %s: %s"
                                  % (type(error).__name__, error))
                return
            if message.delivery_info.get("redelivered"):
                LOG.info("Message %s is a redelivery", unique_id)
            try:
                self.dispatcher.dispatch(context, inner)
            except (NoSuchMethod, UnsupportedVersion, InvalidArguments) as error:
                tracing.mark_error(span, error)
                self._dead_letter(message, str(error), unique_id)
                return
            except self.transient_errors as error:
                tracing.mark_error(span, error)
                self._back_off_and_requeue(message, error, unique_id)
                return
            except Exception as error:
                LOG.exception("Message %s: %s failed", unique_id, inner.get("method"))
                tracing.mark_error(span, error)
                self._retry_or_dead_letter(message, error, unique_id)
                return
            message.ack()
            self._transient_failures = 0

    def _back_off_and_requeue(self, message, error, unique_id):
        """A failure of what the endpoint stands on (the database is away): not the message's
        fault, so it is not counted against it. The server waits, longer each time in a row,
        and gives the message back to the broker; it never dead-letters it for that."""
        self._transient_failures += 1
        delay = min(TRANSIENT_BACKOFF_START * 2 ** (self._transient_failures - 1),
                    TRANSIENT_BACKOFF_MAX)
        LOG.warning("Message %s: transient failure (%s: %s); requeueing it in %.1fs", unique_id,
                    type(error).__name__, str(error).splitlines()[0] if str(error) else "", delay)
        self._stop.wait(delay)
        message.requeue()

    def _retry_or_dead_letter(self, message, error, unique_id):
        attempt = _attempt_of(message)
        reason = "%s: %s" % (type(error).__name__, error)
        if attempt >= self.max_attempts:
            self._dead_letter(message, "failed %d times, last with %s" % (attempt, reason), unique_id)
            return
        if self._stop.wait(self.retry_delay * attempt):
            message.requeue()   # stopping: the broker gives it to another server as it is
            return
        LOG.warning("Message %s: attempt %d of %d failed (%s); sending it again",
                    unique_id, attempt, self.max_attempts, reason)
        self._republish(message, self.transport.queue(self.topic), {ATTEMPT_HEADER: attempt + 1})
        message.ack()

    def _dead_letter(self, message, reason, unique_id=""):
        """Move the message to the dead-letter queue (the broker confirms it), then ack it.

        If the copy cannot be published, the error propagates, the original stays unacknowledged
        and the broker redelivers it once the connection is re-established.
        """
        queue = self.transport.dead_letter_queue(self.topic)
        LOG.error("Rejecting message %s to %s: %s", unique_id or message.delivery_tag, queue.name,
                  reason)
        self._republish(message, queue, {
            REASON_HEADER: reason[:1024],
            ORIGIN_HEADER: message.delivery_info.get("routing_key") or self.topic})
        message.ack()

    def _republish(self, message, queue, extra_headers):
        headers = dict(message.headers or {})
        headers.update(extra_headers)
        self.transport.publish(message.body, queue.routing_key, queue, headers=headers,
                               content_type=message.content_type or "application/data",
                               content_encoding=message.content_encoding or "binary")


def _attempt_of(message):
    try:
        return max(int((message.headers or {}).get(ATTEMPT_HEADER, 1)), 1)
    except (TypeError, ValueError):
        return 1


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
