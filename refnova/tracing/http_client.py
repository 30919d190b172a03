"""CLIENT spans of the calls to outside services (Keystone, Glance, Neutron).

A client method declares the call it stands for with ``client_call`` (the span), and sends
its HTTP request with ``send`` (trace context in the headers; URL, server and status on the
span). The in-process stand-ins declare the same calls with ``in_process=True``: no HTTP
request happens, so theirs are INTERNAL spans with no HTTP attribute, named after the call
they stand for and naming the service (``service.peer.name``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from refnova.tracing.attributes import (
    CODE_FUNCTION_NAME,
    ERROR_TYPE,
    HTTP_REQUEST_METHOD,
    HTTP_RESPONSE_STATUS_CODE,
    REFNOVA_IN_PROCESS,
    SERVER_ADDRESS,
    SERVER_PORT,
    SERVICE_PEER_NAME,
    URL_FULL,
    URL_TEMPLATE,
)
from refnova.tracing.propagation import inject_headers
from refnova.tracing.spans import in_span, qualified_name

F = TypeVar("F", bound=Callable[..., Any])


class Response(Protocol):
    """What ``send`` reads of an answer (a ``requests.Response`` has it)."""

    status_code: int
    url: str


R = TypeVar("R", bound=Response)


def client_call(
    peer_service: str, method: str, url_template: str, in_process: bool = False
) -> Callable[[F], F]:
    """Decorator: a CLIENT span ``"{method} {url_template}"`` for a call to an outside service.

    ``in_process`` marks the stand-ins that answer from the world without any HTTP: an
    INTERNAL span of the same name, without HTTP attributes.
    """
    span_name = "%s %s" % (method, url_template)

    def decorate(function: F) -> F:
        attributes: dict[str, AttributeValue] = {
            SERVICE_PEER_NAME: peer_service,
            CODE_FUNCTION_NAME: qualified_name(function),
        }
        if in_process:
            attributes[REFNOVA_IN_PROCESS] = True
            return in_span(function, span_name, SpanKind.INTERNAL, attributes)
        attributes.update({HTTP_REQUEST_METHOD: method, URL_TEMPLATE: url_template})
        return in_span(function, span_name, SpanKind.CLIENT, attributes)

    return decorate


def send(
    request: Callable[..., R], method: str, url: str, *, propagate: bool = True, **kwargs: Any
) -> R:
    """``request(method, url, **kwargs)`` as the current CLIENT span's HTTP request.

    With ``propagate``, the trace context joins the request's headers. The URL (for a
    request with ``params``, the answer's, which holds the encoded query) and the status are
    recorded on the span; an exception is left to the span ``client_call`` opened.
    """
    if propagate:
        kwargs["headers"] = {**(kwargs.get("headers") or {}), **inject_headers()}
    response = request(method, url, **kwargs)
    record_http((response.url or url) if "params" in kwargs else url, response.status_code)
    return response


def record_http(url: str, status_code: int | None = None, span: Span | None = None) -> None:
    """URL, server and status of the HTTP request a CLIENT span stands for (4xx/5xx: error)."""
    span = span or trace.get_current_span()
    if not span.is_recording():
        return
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = "%s:%d" % (netloc, parts.port)
    # No userinfo, ever: it would be a credential.
    span.set_attribute(URL_FULL, urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")))
    if parts.hostname:
        span.set_attribute(SERVER_ADDRESS, parts.hostname)
        span.set_attribute(SERVER_PORT, parts.port or (443 if parts.scheme == "https" else 80))
    if status_code is not None:
        code = int(status_code)
        span.set_attribute(HTTP_RESPONSE_STATUS_CODE, code)
        if code >= 400:
            span.set_attribute(ERROR_TYPE, str(code))
            span.set_status(Status(StatusCode.ERROR, "HTTP %d" % code))
