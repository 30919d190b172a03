"""The broker: kombu connections, the control exchange, the topic queues, confirmed publishes.

What goes past oslo.messaging's transport, so that a cast the broker accepted is never lost: the
producer declares the exchange, the topic queue and its binding before it publishes (oslo
declares only the exchange, so a cast sent before any server ever ran is dropped), and
publishes persistent, ``mandatory`` (a message no queue took comes back and is sent again after
the declarations are redone), with publisher confirms, under kombu's bounded retry policy.
"""

import collections
import logging
import threading
from typing import Any

from kombu.connection import Connection
from kombu.entity import Exchange, Queue
from kombu.exceptions import KombuError
from kombu.resource import Resource
from kombu.transport import memory, virtual
from kombu.utils.functional import lazy

LOG = logging.getLogger(__name__)

CONTROL_EXCHANGE = "nova"
DEAD_LETTER_SUFFIX = ".dead"


class Unroutable(Exception):
    """The broker returned a ``mandatory`` message: no queue was bound to take it."""


def kombu_url(url: str) -> str:
    """oslo's ``rabbit://`` is kombu's ``amqp://``; ``memory://`` gets kombu's default host."""
    if url.startswith("rabbit://"):
        return "amqp://" + url[len("rabbit://") :]
    if url.rstrip("/") == "memory:":
        return "memory://localhost/"
    return url


class Doorbell:
    """Rung by every message put on an in-process broker, waited on by its consumers.

    kombu's memory transport has no socket to block on: its ``drain_events`` polls the queues
    and sleeps between polls, so a cast would wait for the next poll. The broker's channels
    ring this bell after each put (a publish, a requeue), and a consumer that found its queues
    empty waits for the next ring instead of a poll interval. ``rings`` counts the puts: a
    consumer reads it before it looks at its queues and waits only while it is unchanged, so
    a put between the look and the wait is never missed.
    """

    def __init__(self) -> None:
        self._rung = threading.Condition()
        self.rings = 0
        self.waits = 0  # waits that ended because the bell rang (tests count them)

    def ring(self) -> None:
        with self._rung:
            self.rings += 1
            self._rung.notify_all()

    def wait(self, seen: int, timeout: float) -> bool:
        """Wait until the bell rang after ``seen`` rings; False when ``timeout`` passed."""
        with self._rung:
            rang = self._rung.wait_for(lambda: self.rings != seen, timeout)
            if rang:
                self.waits += 1
            return rang


def _private_memory_transport(doorbell: Doorbell) -> type:
    """kombu's memory transport keeps one broker per process; give each Transport its own,
    whose channels ring ``doorbell`` after every put."""

    def _put(channel: Any, queue: str, message: Any, **kwargs: Any) -> None:
        memory.Channel._put(channel, queue, message, **kwargs)
        doorbell.ring()

    def _put_fanout(channel: Any, exchange: str, message: Any, *args: Any, **kwargs: Any) -> None:
        memory.Channel._put_fanout(channel, exchange, message, *args, **kwargs)
        doorbell.ring()

    channel = type(
        "Channel",
        (memory.Channel,),
        {
            "events": collections.defaultdict(set),
            "queues": {},
            "_put": _put,
            "_put_fanout": _put_fanout,
        },
    )
    return type(
        "Transport",
        (memory.Transport,),
        {"Channel": channel, "global_state": virtual.BrokerState()},
    )


class Transport:
    """The broker: a connection (cloned for each publisher and each server), a pool of
    publishers, the control exchange and the queues of the RPC topics."""

    def __init__(
        self, url: str, publish_timeout: float = 10.0, pool_size: int = 8, heartbeat: int = 60
    ) -> None:
        self.url = kombu_url(url)
        self.is_memory = self.url.startswith("memory://")
        self.system = "memory" if self.is_memory else "rabbitmq"
        self.publish_timeout = publish_timeout
        # Consumers send heartbeats (as oslo's listeners do), so a dead broker is noticed.
        self.heartbeat = 0 if self.is_memory else heartbeat
        # In-process only: rung by every put, so a consumer never waits for a poll.
        self.doorbell: Doorbell | None = Doorbell() if self.is_memory else None
        # The retry policy also bounds the first connect of each publisher's connection (kombu
        # reads it from the transport options when it opens the default channel).
        options = (
            {"transport": _private_memory_transport(self.doorbell)}
            if self.doorbell is not None
            else {
                "transport_options": {"confirm_publish": True, **self.retry_policy()},
                "heartbeat": 0,
                "connect_timeout": min(publish_timeout, 5.0),
            }
        )
        self.connection = Connection(self.url, **options)
        self.exchange = Exchange(CONTROL_EXCHANGE, type="topic", durable=False, auto_delete=False)
        self._exchanges: dict[str, Exchange] = {}
        self._queues: dict[tuple[str, str], Queue] = {}
        self.publishers = PublisherPool(self, pool_size)

    def queue(self, name: str, exchange: str | None = None) -> Queue:
        """The queue ``name`` bound with routing key ``name`` to ``exchange`` (default: the
        control exchange), exactly as oslo.messaging declares a topic queue."""
        # durable False, auto_delete False, no arguments: refnova and real oslo peers share
        # it, and RabbitMQ refuses a redeclare with other flags or arguments
        # (PRECONDITION_FAILED). Made once per queue (every cast asks for it); whoever binds
        # it to a channel gets a copy.
        key = (exchange or self.exchange.name, name)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = Queue(
                name,
                self.exchange_named(exchange),
                routing_key=name,
                durable=False,
                auto_delete=False,
            )
        return queue

    def exchange_named(self, name: str | None) -> Exchange:
        """A topic exchange declared as oslo declares its control exchange (default: that)."""
        if not name or name == self.exchange.name:
            return self.exchange
        exchange = self._exchanges.get(name)
        if exchange is None:
            exchange = self._exchanges[name] = Exchange(
                name, type="topic", durable=False, auto_delete=False
            )
        return exchange

    def dead_letter_queue(self, topic: str, exchange: str | None = None) -> Queue:
        """Where a server moves what it cannot serve: ``<topic>.dead`` on the same exchange.

        Not ``x-dead-letter-exchange`` on the topic queue: that is a queue argument, oslo declares
        the queue without arguments, and RabbitMQ would refuse one of the two declarations, so a
        refnova conductor could not share the queue with real oslo.messaging peers. Instead the
        server republishes the rejected message here, the reason in a header, and acknowledges the
        original once the broker confirmed the copy. This queue is durable (oslo never declares
        it), so persistent dead letters survive a broker restart.
        """
        name = topic + DEAD_LETTER_SUFFIX
        return Queue(
            name, self.exchange_named(exchange), routing_key=name, durable=True, auto_delete=False
        )

    def consumer_connection(self) -> Connection:
        """A connection of its own for a server, with heartbeats."""
        connection: Connection = self.connection.clone(heartbeat=self.heartbeat)
        return connection

    def retry_policy(self) -> dict[str, float]:
        """Bounded retries with backoff (kombu's own policy); the total stays near
        publish_timeout."""
        return {
            "max_retries": 3,
            "interval_start": 0,
            "interval_step": 1.0,
            "interval_max": max(self.publish_timeout / 3, 0.5),
        }

    @property
    def publish_errors(self) -> tuple[type[BaseException], ...]:
        """What ``publish`` raises once the retry policy gave up."""
        return (
            (OSError, KombuError, Unroutable)
            + tuple(self.connection.connection_errors)
            + tuple(self.connection.channel_errors)
        )

    def publish(
        self,
        body: Any,
        routing_key: str,
        queue: Queue,
        headers: dict[str, Any] | None = None,
        **properties: Any,
    ) -> None:
        """Publish to ``queue``'s exchange once ``queue`` and its binding are declared.

        Persistent, confirmed by the broker and ``mandatory``: a message no queue took comes back
        and is sent again after the declarations are redone (kombu caches them per connection,
        and the queue may have been deleted since). kombu's retry policy reconnects and retries a
        bounded number of times, then the last error is raised (one of ``publish_errors``).
        """
        publisher = self.publishers.acquire(block=True, timeout=self.publish_timeout)
        try:
            publisher.send(body, routing_key, queue, headers, properties)
        except BaseException:
            # As kombu's pooled connections do: the next publish starts on a fresh connection.
            publisher.connection.close()
            raise
        finally:
            self.publishers.release(publisher)

    @property
    def server_address(self) -> tuple[Any, Any]:
        """The broker's host and port, as the connection resolved them."""
        info = self.connection.info()
        return info.get("hostname"), info.get("port")

    def close(self) -> None:
        """Close every publisher's connection, and the transport's own."""
        self.publishers.force_close_all()
        self.connection.release()


class Publisher:
    """One broker connection and what it publishes with, made once for it: its producer
    (kombu's ``ensure`` revives it on a new channel after a reconnection), the queues bound on
    it, and the publish wrapped in ``ensure`` with the transport's retry policy."""

    def __init__(self, transport: Transport, connection: Connection) -> None:
        self.connection = connection
        # Confirms and mandatory are AMQP's: kombu's memory transport has neither.
        self.options: dict[str, Any] = (
            {}
            if transport.is_memory
            else {"mandatory": True, "confirm_timeout": transport.publish_timeout}
        )
        on_return = {} if transport.is_memory else {"on_return": _on_return}
        self.producer = connection.Producer(serializer="json", **on_return)
        self.bound: dict[tuple[str, str], Queue] = {}
        self.send = connection.ensure(
            self.producer,
            self._publish,
            errback=_publish_failed,
            retry_errors=(Unroutable,),
            **transport.retry_policy(),
        )

    def _publish(
        self,
        body: Any,
        routing_key: str,
        queue: Queue,
        headers: dict[str, Any] | None,
        properties: dict[str, Any],
    ) -> None:
        _returned.message = None
        # The queue bound once per connection: kombu copies an unbound queue to bind it on
        # every declare check. The declaration itself still happens, on the producer's
        # channel, whenever the connection's cache says so.
        key = (queue.exchange.name, queue.name)
        bound = self.bound.get(key)
        if bound is None:
            bound = self.bound[key] = queue.bind(self.producer.channel)
        self.producer.publish(
            body,
            exchange=queue.exchange,
            routing_key=routing_key,
            declare=[bound],
            delivery_mode=2,
            headers=headers or {},
            **self.options,
            **properties,
        )
        if _returned.message is not None:
            _forget_declarations(self.connection)
            raise Unroutable(
                "%s:%s returned by the broker: %s"
                % (queue.exchange.name, routing_key, _returned.message)
            )


class PublisherPool(Resource):
    """A bounded pool of publishers (kombu's resource pool, as its connection pool is): a
    publish takes one, so each connection's producer and declarations serve one thread at a
    time, and keep serving the next publishes on that connection."""

    def __init__(self, transport: Transport, limit: int) -> None:
        self.transport = transport
        super().__init__(limit=limit)

    def setup(self) -> None:
        # Filled with promises: a publisher and its connection are made at their first use.
        queue = self._resource.queue
        while self.limit and len(queue) < self.limit - len(self._dirty):
            self._resource.put_nowait(lazy(self.new))

    def new(self) -> Publisher:
        """A publisher on a connection of its own (not yet connected)."""
        return Publisher(self.transport, self.transport.connection.clone())

    def prepare(self, resource: Any) -> Publisher:
        publisher: Publisher = resource() if isinstance(resource, lazy) else resource
        return publisher

    def close_resource(self, resource: Publisher) -> None:
        resource.connection.close()

    def collect_resource(self, resource: Any, socket_timeout: float = 0.1) -> None:
        if not isinstance(resource, lazy):
            resource.connection.collect(socket_timeout)


_returned = threading.local()


def _on_return(error: Exception, exchange: Any, routing_key: str, message: Any) -> None:
    # basic.return comes before the confirm, on the thread that waits for it: the publisher's.
    _returned.message = str(error)


def _forget_declarations(connection: Any) -> None:
    # kombu declares an entity once per connection; the queue may have been deleted since.
    connection.declared_entities.clear()


def _publish_failed(error: Exception, interval: float) -> None:
    LOG.warning("Publishing failed (%s); retrying in %ss", error, interval)
