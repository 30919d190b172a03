"""The SERVER span of each HTTP request: a WSGI middleware around the API application.

As OpenTelemetry's WSGI instrumentation does, the middleware owns the span (the remote parent
from the request's headers, OpenTelemetry's HTTP server attributes, the response status, an
exception that escapes the application) and the application it wraps names it after its
route (``name_after_route``) and adds what only it knows (the Nova fault, request id...).
The span ends when the application returns its response, whose body is then already built.

Status and ``error.type`` follow OpenTelemetry's HTTP server conventions: a 5xx is an error
of the SERVER span; a 4xx is the client's and leaves its status unset (the span where the
request was refused records why). Every answer carries the SERVER span's context in W3C's
``traceresponse`` header, so a client can find the trace of any answer it got.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import webob
from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from refnova.tracing.attributes import (
    CLIENT_ADDRESS,
    HTTP_REQUEST_METHOD,
    HTTP_RESPONSE_STATUS_CODE,
    HTTP_ROUTE,
    NETWORK_PROTOCOL_NAME,
    NETWORK_PROTOCOL_VERSION,
    SERVER_ADDRESS,
    SERVER_PORT,
    URL_PATH,
    URL_QUERY,
    URL_SCHEME,
    USER_AGENT_ORIGINAL,
)
from refnova.tracing.propagation import extract_context, start_remote_span
from refnova.tracing.provider import enabled, served, serving
from refnova.tracing.redaction import SECRET_ENVIRON_KEYS, begin_request, end_request, redact
from refnova.tracing.spans import is_error, mark_error, mark_status, note_error_type

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
else:
    StartResponse = WSGIApplication = WSGIEnvironment = Any

ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]

TRACERESPONSE = "traceresponse"
# The first status code OpenTelemetry's HTTP server conventions count as the server's error.
SERVER_ERROR = 500


def http_server_attributes(req: webob.Request) -> dict[str, AttributeValue]:
    """OpenTelemetry's HTTP server attributes of a request, known before it is routed."""
    attributes: dict[str, AttributeValue] = {
        HTTP_REQUEST_METHOD: req.method,
        URL_PATH: req.path_info,
        URL_SCHEME: req.scheme,
        SERVER_ADDRESS: req.host.split(":")[0],
        NETWORK_PROTOCOL_NAME: "http",
    }
    if req.host_port.isdigit():  # a Host header's "port" is the client's to write
        attributes[SERVER_PORT] = int(req.host_port)
    protocol = req.environ.get("SERVER_PROTOCOL", "")
    if protocol.startswith("HTTP/"):
        attributes[NETWORK_PROTOCOL_VERSION] = protocol[len("HTTP/") :]
    if req.query_string:
        attributes[URL_QUERY] = redact(req.query_string)
    if req.user_agent:
        attributes[USER_AGENT_ORIGINAL] = req.user_agent
    if req.remote_addr:
        attributes[CLIENT_ADDRESS] = req.remote_addr
    return attributes


def name_after_route(span: Span, method: str, route: str) -> None:
    """What the routing application adds once it knows the route: ``http.route``, and the
    span's name ``"{method} {route}"`` (until then, the method alone)."""
    if span.is_recording():
        span.update_name("%s %s" % (method, route))
        span.set_attribute(HTTP_ROUTE, route)


def mark_answer(
    span: Span, status_code: int, error: BaseException | None = None, **attributes: AttributeValue
) -> None:
    """What a SERVER span keeps of a refused or failed answer: ``attributes`` (the Nova
    fault...) always; for a 5xx also the error status, the exception and ``error.type``. A
    4xx is the client's error: the status stays unset and no ``error.type`` is set."""
    if not span.is_recording():
        return
    span.set_attributes(attributes)
    if status_code >= SERVER_ERROR and error is not None:
        mark_error(span, error)


def traceresponse(span: Span) -> str | None:
    """W3C's ``traceresponse`` value of a span (``00-<trace id>-<span id>-<flags>``)."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return "00-%032x-%016x-%02x" % (context.trace_id, context.span_id, context.trace_flags)


class ServerSpanMiddleware:
    """WSGI middleware: each request the wrapped application serves runs in a SERVER span."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # The request's secrets are remembered while it runs, so that its logs (traced or
        # not) and its spans are redacted (refnova.tracing.redaction); its credential headers
        # are read when first needed (a map: a generator cost 0.4 us a request to make).
        token = begin_request(map(environ.get, SECRET_ENVIRON_KEYS))
        traced = enabled()
        tracing_token = serving(traced)
        try:
            if not traced:  # untraced: no context, no span, no request object
                return self.app(environ, start_response)
            return self._serve(webob.Request(environ), environ, start_response)
        finally:
            served(tracing_token)
            end_request(token)

    def _serve(
        self, req: webob.Request, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        with start_remote_span(
            req.method,
            extract_context(req.headers),
            kind=SpanKind.SERVER,
            attributes=http_server_attributes(req),
        ) as span:
            statuses: list[str] = []
            extra = [(TRACERESPONSE, value)] if (value := traceresponse(span)) else []
            try:
                body = self.app(environ, _recording_status(start_response, statuses, extra))
            except Exception as error:  # a 500 from the server around it: the span's error
                note_error_type(span, error)
                raise
            if statuses:
                _record_status(span, statuses[-1])
            return body


def _recording_status(
    start_response: StartResponse, statuses: list[str], extra: list[tuple[str, str]]
) -> Callable[..., Callable[[bytes], object]]:
    """``start_response`` that also keeps the status line it is given and adds ``extra``
    headers to the answer."""

    def start(
        status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], object]:
        statuses.append(status)
        return start_response(status, headers + extra, exc_info)

    return start


def _record_status(span: Span, status_line: str) -> None:
    """The response's status code; a 5xx marks the span (kept if already marked)."""
    code = int(status_line.split(" ", 1)[0])
    span.set_attribute(HTTP_RESPONSE_STATUS_CODE, code)
    if code >= SERVER_ERROR and not is_error(span):
        mark_status(span, status_line)
