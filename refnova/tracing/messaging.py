"""Messaging instrumentation: the spans of an RPC cast, as OpenTelemetry's messaging
conventions have them (and as its pika and kombu instrumentations build them).

The publish is a PRODUCER span ``publish <exchange>:<topic>``; its context travels in the
message's AMQP headers table (W3C trace context and baggage), which oslo.messaging consumers
never read. The processing is a CONSUMER span ``process <exchange>:<topic>``, a child of the
producer's span and linked to it, so a backend that follows either finds the cast. Of the
request context a message carries, only its request id and project id become attributes
(the context also carries the caller's token, which no span may).

``refnova.messaging`` calls these functions; it builds no span itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import trace
from opentelemetry.semconv._incubating.attributes.messaging_attributes import (
    MESSAGING_DESTINATION_NAME,
    MESSAGING_MESSAGE_ID,
    MESSAGING_OPERATION_NAME,
    MESSAGING_OPERATION_TYPE,
    MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY,
    MESSAGING_RABBITMQ_MESSAGE_DELIVERY_TAG,
    MESSAGING_SYSTEM,
    MessagingOperationTypeValues,
    MessagingSystemValues,
)
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.util.types import AttributeValue

from refnova import tracing
from refnova.tracing.attributes import (
    NOVA_PROJECT_ID,
    NOVA_REQUEST_ID,
    NOVA_RPC_METHOD,
    NOVA_RPC_NAMESPACE,
    NOVA_RPC_VERSION,
    SERVER_ADDRESS,
    SERVER_PORT,
)

# messaging.system of each transport URL scheme: RabbitMQ for AMQP. kombu's memory:// is no
# RabbitMQ and has no well-known value, so it gets a custom one (lowercase snake_case,
# product first, as the registry's aws_sqs and gcp_pubsub are).
RABBITMQ = MessagingSystemValues.RABBITMQ.value
KOMBU_MEMORY = "kombu_memory"
_SYSTEMS = {
    "amqp": RABBITMQ,
    "amqps": RABBITMQ,
    "pyamqp": RABBITMQ,
    "librabbitmq": RABBITMQ,
    "rabbit": RABBITMQ,
    "memory": KOMBU_MEMORY,
}
_SEND = MessagingOperationTypeValues.SEND.value
_PROCESS = MessagingOperationTypeValues.PROCESS.value

# The message keys refnova's own attributes come from.
_CONTEXT_ATTRIBUTES = (
    ("_context_request_id", NOVA_REQUEST_ID),
    ("_context_project_id", NOVA_PROJECT_ID),
)
_RPC_FIELDS = (
    ("method", NOVA_RPC_METHOD),
    ("namespace", NOVA_RPC_NAMESPACE),
    ("version", NOVA_RPC_VERSION),
)


def messaging_system(transport_url: str) -> str:
    """``messaging.system`` of a kombu transport URL (another scheme: its own name)."""
    scheme = transport_url.split("://", 1)[0].lower()
    return _SYSTEMS.get(scheme, scheme)


def destination_name(exchange: str, routing_key: str, queue: str | None = None) -> str:
    """``messaging.destination.name`` as the RabbitMQ conventions build it: the producer's
    ``{exchange}:{routing key}``, the consumer's ``{exchange}:{routing key}:{queue}``, empty
    parts left out and the queue too when it is the routing key (``nova:conductor``)."""
    parts = [exchange, routing_key] + ([queue] if queue and queue != routing_key else [])
    return ":".join(part for part in parts if part) or "amq.default"


def publish_span(
    destination: str, routing_key: str, message: Mapping[str, Any], transport_url: str
) -> AbstractContextManager[Span]:
    """The current PRODUCER span of a publish (the no-op span, at one check, when untraced)."""
    attributes = (
        _publish_attributes(destination, routing_key, message, messaging_system(transport_url))
        if tracing.enabled()
        else None
    )
    return tracing.span("publish " + destination, kind=SpanKind.PRODUCER, attributes=attributes)


def publish_headers() -> dict[str, str]:
    """The AMQP headers that carry the current span's context (none when untraced)."""
    return tracing.inject_headers() if tracing.enabled() else {}


def record_broker(span: Span, address: str | None, port: int | str | None) -> None:
    """The broker a recording PRODUCER or CONSUMER span's message went through."""
    if address:
        span.set_attribute(SERVER_ADDRESS, address)
    if port:
        span.set_attribute(SERVER_PORT, int(port))


def process_span(
    destination: str,
    headers: Mapping[str, Any] | None,
    routing_key: str,
    delivery_tag: object,
    transport_url: str,
) -> AbstractContextManager[Span]:
    """The current CONSUMER span of a received message, child of and linked to the span whose
    context its headers carry (a new trace when they carry none, or none valid).

    The server marks the span itself (``tracing.mark_error``): an exception that leaves the
    span is not recorded twice.
    """
    parent = tracing.extract_context(headers or {})
    producer = trace.get_current_span(parent).get_span_context()
    links = [Link(producer)] if producer.is_valid else []
    system = messaging_system(transport_url)
    attributes: dict[str, AttributeValue] = {
        MESSAGING_SYSTEM: system,
        MESSAGING_OPERATION_NAME: "process",
        MESSAGING_OPERATION_TYPE: _PROCESS,
        MESSAGING_DESTINATION_NAME: destination,
    }
    if system == RABBITMQ:  # RabbitMQ's own attributes only where RabbitMQ is
        attributes[MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY] = routing_key
        if isinstance(delivery_tag, int):
            attributes[MESSAGING_RABBITMQ_MESSAGE_DELIVERY_TAG] = delivery_tag
    return tracing.start_remote_span(
        "process " + destination,
        parent,
        kind=SpanKind.CONSUMER,
        links=links,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    )


def record_message(span: Span, message: Mapping[str, Any], unique_id: str) -> None:
    """What a CONSUMER span learns once the message is decoded: its id, request and call."""
    span.set_attribute(MESSAGING_MESSAGE_ID, unique_id)
    if span.is_recording():
        span.set_attributes(context_attributes(message))
        span.set_attributes(
            {attribute: str(message[key]) for key, attribute in _RPC_FIELDS if key in message}
        )


def context_attributes(message: Mapping[str, Any]) -> dict[str, str]:
    """The request's id and project from a message's ``_context_*`` keys."""
    return {
        attribute: message[key]
        for key, attribute in _CONTEXT_ATTRIBUTES
        if isinstance(message.get(key), str)
    }


def _publish_attributes(
    destination: str, routing_key: str, message: Mapping[str, Any], system: str
) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        MESSAGING_SYSTEM: system,
        MESSAGING_OPERATION_NAME: "publish",
        MESSAGING_OPERATION_TYPE: _SEND,
        MESSAGING_DESTINATION_NAME: destination,
        MESSAGING_MESSAGE_ID: message["_unique_id"],
        NOVA_RPC_METHOD: message["method"],
        NOVA_RPC_NAMESPACE: message.get("namespace") or "",
        NOVA_RPC_VERSION: message.get("version") or "",
    }
    if system == RABBITMQ:
        attributes[MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY] = routing_key
    attributes.update(context_attributes(message))
    return attributes
