"""oslo.messaging's RPCClient: ``prepare(version=...)`` then ``cast(context, method, **kwargs)``.

The message is built as oslo's ``_BaseCallContext`` and AMQP driver build it: the method and its
arguments, the namespace and version of the target, a fresh ``_unique_id``, and the request
context spread over ``_context_*`` keys; the envelope wraps it, the transport publishes it.
"""
import logging
import uuid
from typing import Any

from refnova import exception, tracing
from refnova.messaging import envelope
from refnova.messaging.transport import CONTROL_EXCHANGE, Transport
from refnova.tracing import messaging as tracing_messaging

LOG = logging.getLogger(__name__)


class RPCClient:
    """oslo.messaging's RPCClient for one target: prepare(version=...).cast(...)."""

    def __init__(self, transport: Transport, topic: str, namespace: str | None = None,
                 version: str | None = "1.0") -> None:
        self.transport = transport
        self.topic = topic
        self.namespace = namespace
        self.version = version

    def prepare(self, version: str | None = None) -> "RPCClient":
        return RPCClient(self.transport, self.topic, self.namespace, version or self.version)

    def cast(self, context: Any, method: str, **kwargs: Any) -> str:
        # The arguments as given: serialize_msg turns them into oslo's primitives as it writes
        # them, rather than copying every dict and list first (to_primitive's walk).
        message: dict[str, Any] = {"method": method, "args": kwargs}
        if self.namespace:
            message["namespace"] = self.namespace
        if self.version:
            message["version"] = self.version
        message["_unique_id"] = uuid.uuid4().hex
        message.update({"_context_" + key: value for key, value in context.to_dict().items()})
        self._publish(message)
        return message["_unique_id"]

    def _publish(self, message: dict[str, Any]) -> None:
        destination = "%s:%s" % (CONTROL_EXCHANGE, self.topic)
        with tracing_messaging.publish_span(destination, self.topic, message) as span:
            body = envelope.serialize_msg(message)
            headers = tracing_messaging.publish_headers()
            try:
                self.transport.publish(body, self.topic, self.transport.queue(self.topic),
                                       headers=headers, content_encoding="utf-8")
            except self.transport.publish_errors as error:
                LOG.error("Cast %s to %s failed: %s", message["method"], destination, error)
                tracing.mark_error(span, error)
                raise exception.ServiceUnavailable(
                    reason="the message broker could not be reached")
            if not self.transport.is_memory and span.is_recording():
                tracing_messaging.record_broker(span, *self.transport.server_address)
