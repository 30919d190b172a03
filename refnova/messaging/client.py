"""oslo.messaging's RPCClient: ``prepare(version=...)``, then ``cast(context, method, **kwargs)``.

The message is built as oslo's ``_BaseCallContext`` and AMQP driver build it: the method and its
arguments, the namespace and version of the target, a fresh ``_unique_id``, and the request
context spread over ``_context_*`` keys; the envelope wraps it, the transport publishes it.
"""

import logging
import uuid
from typing import Any, Protocol

from refnova import exception, tracing
from refnova.messaging import envelope
from refnova.messaging.target import Target
from refnova.messaging.transport import Transport
from refnova.tracing import messaging as tracing_messaging

LOG = logging.getLogger(__name__)
_TARGET_FIELDS = ("exchange", "topic", "namespace", "version", "server")


class _Context(Protocol):
    """A request context, as oslo's serializer sees it: its ``to_dict``."""

    def to_dict(self) -> dict[str, Any]: ...


class RPCClient:
    """oslo.messaging's RPCClient: casts to its target; ``prepare`` gives a client whose target
    has the given fields changed (oslo's prepared call context), as Nova's rpcapi does with
    ``self.client.prepare(version='1.5').cast(ctxt, 'build_instances', ...)``."""

    def __init__(self, transport: Transport, target: Target) -> None:
        self.transport = transport
        self.target = target
        self.routing_key = target.routing_key
        # Made once per client: every cast of a prepared client publishes to the same queue.
        self._queue = transport.queue(self.routing_key, target.exchange)
        self._destination = tracing_messaging.destination_name(
            self._queue.exchange.name, self.routing_key
        )
        self._prepared: dict[tuple[str | None, ...], RPCClient] = {}

    def prepare(
        self,
        exchange: str | None = None,
        topic: str | None = None,
        namespace: str | None = None,
        version: str | None = None,
        server: str | None = None,
    ) -> "RPCClient":
        """A client for this target with the fields given here (those not None) changed."""
        # A client never changes, so each preparation is made once (Nova prepares per cast).
        key = (exchange, topic, namespace, version, server)
        prepared = self._prepared.get(key)
        if prepared is None:
            changes = {
                name: value
                for name, value in zip(_TARGET_FIELDS, key, strict=True)
                if value is not None
            }
            prepared = self._prepared[key] = RPCClient(self.transport, self.target(**changes))
        return prepared

    def cast(self, context: _Context, method: str, **kwargs: Any) -> str:
        """Publish ``method(context, **kwargs)`` to the target; return the message's id.

        Raises ``ServiceUnavailable`` when the broker did not take the message.
        """
        # The arguments as given: serialize_msg turns them into oslo's primitives as it writes
        # them, rather than copying every dict and list first (to_primitive's walk).
        message: dict[str, Any] = {"method": method, "args": kwargs}
        if self.target.namespace:
            message["namespace"] = self.target.namespace
        if self.target.version:
            message["version"] = self.target.version
        unique_id = message["_unique_id"] = uuid.uuid4().hex
        message.update({"_context_" + key: value for key, value in context.to_dict().items()})
        self._publish(message)
        return unique_id

    def _publish(self, message: dict[str, Any]) -> None:
        destination = self._destination
        with tracing_messaging.publish_span(
            destination, self.routing_key, message, self.transport.url
        ) as span:
            body = envelope.serialize_msg(message)
            headers = tracing_messaging.publish_headers()
            try:
                self.transport.publish(
                    body, self.routing_key, self._queue, headers=headers, content_encoding="utf-8"
                )
            except self.transport.publish_errors as error:
                LOG.error("Cast %s to %s failed: %s", message["method"], destination, error)
                tracing.mark_error(span, error)
                raise exception.ServiceUnavailable(reason="the message broker could not be reached")
            if not self.transport.is_memory and span.is_recording():
                tracing_messaging.record_broker(span, *self.transport.server_address)
