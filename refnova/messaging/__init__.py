"""RPC over kombu in oslo.messaging's wire format, layered as oslo.messaging layers it.

``transport``
    The broker: kombu connections, the control exchange ``nova``, the topic queues (declared
    as oslo declares them) and their dead-letter queues; publishes that are declared,
    confirmed and ``mandatory``, under kombu's bounded retry policy. On ``memory://`` a
    ``Doorbell`` rung by every put wakes the consumers: no poll interval before a delivery.
``envelope``
    oslo's v2.0 envelope: ``serialize_msg``, ``deserialize_msg``, ``to_primitive``.
``target``
    ``Target``: exchange, topic, namespace, version, server; where a cast goes and what an
    endpoint implements.
``client``
    ``RPCClient(transport, target)``: ``prepare(version=...).cast(context, method, **kwargs)``.
``dispatcher``
    The endpoint that serves a message: namespace, compatible version, public method,
    arguments; ``NoSuchMethod``, ``UnsupportedVersion``, ``InvalidArguments`` otherwise.
``server``
    ``RPCServer``: consumes a topic, acknowledges after the endpoint returned, sends a failed
    message again a bounded number of times, and moves what it cannot serve to the
    dead-letter queue with the reason.

Each layer imports only the ones listed above it. No layer builds a span:
``refnova.tracing.messaging`` makes the PRODUCER span of a publish and the CONSUMER span of
a message's processing. Nothing is lost (a cast the broker accepted reaches a server or the
dead-letter queue), nothing is retried forever, and nothing blocks the queue.
"""

from refnova.messaging.client import RPCClient
from refnova.messaging.dispatcher import (
    Dispatcher,
    InvalidArguments,
    NoSuchMethod,
    UnsupportedVersion,
)
from refnova.messaging.envelope import deserialize_msg, serialize_msg, to_primitive
from refnova.messaging.server import MAX_DISPATCH_ATTEMPTS, RPCServer
from refnova.messaging.target import Target
from refnova.messaging.transport import CONTROL_EXCHANGE, Transport, Unroutable, kombu_url

__all__ = [
    "CONTROL_EXCHANGE",
    "MAX_DISPATCH_ATTEMPTS",
    "Dispatcher",
    "InvalidArguments",
    "NoSuchMethod",
    "RPCClient",
    "RPCServer",
    "Target",
    "Transport",
    "UnsupportedVersion",
    "Unroutable",
    "deserialize_msg",
    "kombu_url",
    "serialize_msg",
    "to_primitive",
]
