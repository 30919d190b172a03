"""oslo.messaging's RPCServer, with acks after the work and a dead-letter queue.

What goes past oslo.messaging's server, so that nothing is lost, retried forever or stuck:

- the server acknowledges a message only after its endpoint returned (oslo acknowledges on
  receipt), so a conductor that dies mid-build leaves the message to another one; endpoints are
  idempotent, so a redelivery does no work twice;
- what the server cannot decode or dispatch goes to a dead-letter queue with the reason, and a
  failing endpoint is retried a bounded number of times before it goes there too; a failure of
  what the endpoint stands on (``transient_errors``) is requeued after a back-off instead.
"""

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from kombu.connection import Connection
from kombu.entity import Queue
from kombu.message import Message
from kombu.messaging import Consumer
from opentelemetry.trace import Span

from refnova import tracing
from refnova.messaging import envelope
from refnova.messaging.dispatcher import DISPATCH_ERRORS, Dispatcher
from refnova.messaging.target import Target
from refnova.messaging.transport import Transport
from refnova.tracing import messaging as tracing_messaging

LOG = logging.getLogger(__name__)

# AMQP headers refnova adds (oslo.messaging consumers never read the headers table).
REASON_HEADER = "x-refnova-dead-letter-reason"
ORIGIN_HEADER = "x-refnova-original-routing-key"
ATTEMPT_HEADER = "x-refnova-attempt"
MAX_DISPATCH_ATTEMPTS = 3
# Seconds before a transient failure is requeued: the first, doubled for each one in a row,
# up to the second.
TRANSIENT_BACKOFF = (0.2, 5.0)
# Seconds a server waits for the broker before it looks again at stop() and heartbeats. Not a
# latency: on RabbitMQ it blocks on the socket, in-process on the broker's doorbell.
POLL_TIMEOUT = 1.0


class _Stopping(Exception):
    """The server was asked to stop while it waited for the broker."""


class RPCServer:
    """Consumes its target's queues and dispatches each message, acknowledging after it.

    Delivery is at least once. A message is acknowledged only after its endpoint returned (the
    conductor's build is committed by then), so the messages a server held when it died go back
    to the queue and to another server, and the endpoints are idempotent (the conductor builds an
    instance only while it is still 'building'). A message that cannot be decoded, or asks for a
    method, version or arguments no endpoint serves, goes to the dead-letter queue at once; one
    whose endpoint failed is sent again (a header counts the attempts) and dead-lettered after
    ``max_attempts``, unless the failure is one of ``transient_errors`` (then it is requeued
    after ``transient_backoff``: a first delay, doubled each time in a row, up to a longest
    one). ``stop`` lets the message in hand finish and be acknowledged; messages prefetched but
    not started go back to the broker. A lost connection is re-established.
    """

    def __init__(
        self,
        transport: Transport,
        target: Target,
        endpoints: list[Any],
        context_factory: Callable[[dict[str, Any]], Any],
        prefetch: int = 8,
        max_attempts: int = MAX_DISPATCH_ATTEMPTS,
        retry_delay: float = 0.5,
        transient_errors: Iterable[type[BaseException]] = (),
        transient_backoff: tuple[float, float] = TRANSIENT_BACKOFF,
        poll_timeout: float = POLL_TIMEOUT,
    ) -> None:
        self.transport = transport
        self.target = target
        if not target.topic:
            raise ValueError("an RPC server's target needs a topic: %r" % (target,))
        self.topic: str = target.topic
        self.exchange = transport.exchange_named(target.exchange).name
        # The topic's queue and, for a target naming a server, that server's own queue (as an
        # oslo server consumes both); a message sent again goes back to the queue it came from.
        names = [self.topic] + ([target.routing_key] if target.server else [])
        self.queues = {name: transport.queue(name, target.exchange) for name in names}
        self.dispatcher = Dispatcher(endpoints)
        self.context_factory = context_factory
        self.prefetch = prefetch
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        # Exceptions that say the endpoint's own resources are away (a database outage): such a
        # message is requeued after a backoff, as often as it takes, never dead-lettered.
        self.transient_errors = tuple(transient_errors)
        self.transient_backoff = transient_backoff
        self._transient_failures = 0
        self.poll_timeout = poll_timeout
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()  # set while consuming
        self.idle = threading.Event()
        # In-process: the doorbell's ring count at which the server last found its queues
        # empty; equal to the current count, nothing published is left unserved.
        self._idle_at: int | None = None
        self._settled = threading.Condition()

    def start(self) -> "RPCServer":
        """Consume on a thread of its own; ``ready`` is set once the queues are consumed."""
        self._thread = threading.Thread(
            target=self.run, name="rpc-server-" + self.topic, daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the message in hand (and acknowledge it), then stop consuming."""
        self._stop.set()
        if self.transport.doorbell is not None:
            self.transport.doorbell.ring()  # a server waiting for a message hears it at once
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                LOG.warning(
                    "%s server still busy after %ss; leaving its message to the broker",
                    self.topic,
                    timeout,
                )

    def run(self) -> None:
        """Consume until stopped, reconnecting whenever the connection is lost."""
        while not self._stop.is_set():
            try:
                with self.transport.consumer_connection() as conn:
                    conn.ensure_connection(
                        errback=self._connect_failed,
                        max_retries=None,
                        interval_start=0.5,
                        interval_step=1.0,
                        interval_max=10.0,
                        callback=self._raise_if_stopping,
                    )
                    self._consume(conn)
            except _Stopping:
                break
            except Exception as error:  # neither the broker nor a message may end the server
                LOG.warning("%s server lost its connection (%s); reconnecting", self.topic, error)
                self._stop.wait(1.0)
            finally:
                self.ready.clear()

    def _raise_if_stopping(self) -> None:
        if self._stop.is_set():
            raise _Stopping()

    @staticmethod
    def _connect_failed(error: Exception, interval: float) -> None:
        LOG.warning("Cannot reach the broker (%s); retrying in %ss", error, interval)

    def _consume(self, conn: Connection) -> None:
        channel = conn.default_channel
        self._dead_letter_queue()(channel).declare()
        consumer = Consumer(
            channel,
            list(self.queues.values()),
            callbacks=[self._on_message],
            accept=["json"],
            prefetch_count=self.prefetch,
            on_decode_error=self._on_decode_error,
        )
        with consumer:
            self.ready.set()
            LOG.info(
                "Consuming %s:%s (prefetch %d)",
                self.exchange,
                ", ".join(self.queues),
                self.prefetch,
            )
            while not self._stop.is_set():
                self._drain(conn)
                if self.transport.heartbeat:
                    conn.heartbeat_check()

    def _drain(self, conn: Connection) -> None:
        """Serve the next message, or wait for one: on the socket (RabbitMQ), or in-process
        for the broker's doorbell, so a cast is taken the moment it is put on the queue."""
        doorbell = self.transport.doorbell
        if doorbell is None:
            try:
                conn.drain_events(timeout=self.poll_timeout)
                self.idle.clear()
            except TimeoutError:
                self.idle.set()
            return
        seen = doorbell.rings
        try:
            # kombu's virtual transport with timeout 0: one look at the queues, no sleep.
            conn.drain_events(timeout=0)
            self.idle.clear()
        except TimeoutError:
            self.idle.set()
            with self._settled:
                self._idle_at = seen
                self._settled.notify_all()
            doorbell.wait(seen, self.poll_timeout)

    def wait_until_idle(self, timeout: float) -> bool:
        """In-process: wait until the server has served everything put on the broker so far
        (it found its queues empty after the last put); False when ``timeout`` passed first.
        What a caller that cast uses to know the work is done, without polling for it."""
        doorbell = self.transport.doorbell
        if doorbell is None:
            raise NotImplementedError("only the in-process broker can tell nothing is in flight")
        with self._settled:
            return self._settled.wait_for(lambda: self._idle_at == doorbell.rings, timeout)

    def _on_decode_error(self, message: Message, error: Exception) -> None:
        self._dead_letter(message, "cannot decode the message: %s" % error)

    def _on_message(self, body: Any, message: Message) -> None:
        if self._stop.is_set():
            message.requeue()  # stopping: a message not started goes to another server
            return
        routing_key = message.delivery_info.get("routing_key") or self.topic
        # Each queue is bound with its own name as the routing key: the queue is the key's.
        destination = tracing_messaging.destination_name(
            message.delivery_info.get("exchange") or self.exchange, routing_key, routing_key
        )
        with tracing_messaging.process_span(
            destination, message.headers, routing_key, message.delivery_tag, self.transport.url
        ) as span:
            if not self.transport.is_memory and span.is_recording():
                tracing_messaging.record_broker(span, *self.transport.server_address)
            decoded = self._decode(span, body, message)
            if decoded is not None:
                self._dispatch(span, message, *decoded)

    def _decode(
        self, span: Span, body: Any, message: Message
    ) -> tuple[Any, dict[str, Any], str] | None:
        """(context, inner message, unique id), or None once an undecodable message is
        dead-lettered (a bad message must never stop the consumer)."""
        try:
            inner = envelope.deserialize_msg(body)
            unique_id = str(inner.get("_unique_id", ""))
            tracing_messaging.record_message(span, inner, unique_id)
            context = self.context_factory(
                {
                    key[len("_context_") :]: value
                    for key, value in inner.items()
                    if key.startswith("_context_")
                }
            )
        except Exception as error:
            tracing.mark_error(span, error)
            self._dead_letter(
                message, "cannot decode the message: %s: %s" % (type(error).__name__, error)
            )
            return None
        return context, inner, unique_id

    def _dispatch(
        self, span: Span, message: Message, context: Any, inner: dict[str, Any], unique_id: str
    ) -> None:
        """Dispatch, then ack; or dead-letter, requeue or send again, as the failure asks."""
        if message.delivery_info.get("redelivered"):
            LOG.info("Message %s is a redelivery", unique_id)
        try:
            self.dispatcher.dispatch(context, inner)
        except DISPATCH_ERRORS as error:
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

    def _back_off_and_requeue(self, message: Message, error: BaseException, unique_id: str) -> None:
        """A failure of what the endpoint stands on (the database is away): not the message's
        fault, so it is not counted against it. The server waits, longer each time in a row,
        and gives the message back to the broker; it never dead-letters it for that."""
        self._transient_failures += 1
        start, longest = self.transient_backoff
        delay = min(start * 2 ** (self._transient_failures - 1), longest)
        LOG.warning(
            "Message %s: transient failure (%s: %s); requeueing it in %.1fs",
            unique_id,
            type(error).__name__,
            str(error).splitlines()[0] if str(error) else "",
            delay,
        )
        self._stop.wait(delay)
        message.requeue()

    def _retry_or_dead_letter(self, message: Message, error: BaseException, unique_id: str) -> None:
        attempt = _attempt_of(message)
        reason = "%s: %s" % (type(error).__name__, error)
        if attempt >= self.max_attempts:
            self._dead_letter(
                message, "failed %d times, last with %s" % (attempt, reason), unique_id
            )
            return
        if self._stop.wait(self.retry_delay * attempt):
            message.requeue()  # stopping: the broker gives it to another server as it is
            return
        LOG.warning(
            "Message %s: attempt %d of %d failed (%s); sending it again",
            unique_id,
            attempt,
            self.max_attempts,
            reason,
        )
        queue = self.queues.get(message.delivery_info.get("routing_key"), self.queues[self.topic])
        self._republish(message, queue, {ATTEMPT_HEADER: attempt + 1})
        message.ack()

    def _dead_letter(self, message: Message, reason: str, unique_id: str = "") -> None:
        """Move the message to the dead-letter queue (the broker confirms it), then ack it.

        If the copy cannot be published, the error propagates, the original stays unacknowledged
        and the broker redelivers it once the connection is re-established.
        """
        queue = self._dead_letter_queue()
        LOG.error(
            "Rejecting message %s to %s: %s", unique_id or message.delivery_tag, queue.name, reason
        )
        self._republish(
            message,
            queue,
            {
                REASON_HEADER: reason[:1024],
                ORIGIN_HEADER: message.delivery_info.get("routing_key") or self.topic,
            },
        )
        message.ack()

    def _dead_letter_queue(self) -> Queue:
        return self.transport.dead_letter_queue(self.topic, self.target.exchange)

    def _republish(self, message: Message, queue: Queue, extra_headers: dict[str, Any]) -> None:
        headers = dict(message.headers or {})
        headers.update(extra_headers)
        self.transport.publish(
            message.body,
            queue.routing_key,
            queue,
            headers=headers,
            content_type=message.content_type or "application/data",
            content_encoding=message.content_encoding or "binary",
        )


def _attempt_of(message: Message) -> int:
    try:
        return max(int((message.headers or {}).get(ATTEMPT_HEADER, 1)), 1)
    except (TypeError, ValueError):
        return 1
