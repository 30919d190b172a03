"""The HTTP server of ``refnova serve``: waitress, with Nova's JSON faults for its own errors.

waitress (pure Python, no C extension) speaks HTTP/1.1 with keep-alive, pipelining and chunked
request bodies, serves from a bounded pool of worker threads, closes idle connections
(``channel_timeout``) and caps how many it holds (``connection_limit``). The errors it answers
itself, before the application sees a request (a malformed request line, headers too large,
a body over its limit, a transfer coding it does not implement, an application that raised),
are Nova fault bodies here, as are URLs too long (414), which the application refuses.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import waitress.server
from waitress.channel import HTTPChannel
from waitress.task import ErrorTask

from refnova.api.openstack.wsgi import fault_body

if TYPE_CHECKING:
    from refnova.config import Settings

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def fault_bytes(status: int, message: str) -> bytes:
    """Nova's fault body for ``status``: ``{"<faultKey>": {"message": ..., "code": N}}``."""
    return json.dumps(fault_body(status, message)).encode("utf-8")


# waitress's own words for these name its settings ("exceeds max_header of 65536").
MESSAGES = {
    413: "Request is too large.",
    431: "Request header fields are too large.",
    500: "The server has either erred or is incapable of performing the requested operation.",
}


class JsonErrorTask(ErrorTask):
    """waitress's answer to a request it could not parse or serve, as a Nova fault body."""

    def execute(self) -> None:
        error = self.request.error
        message = MESSAGES.get(error.code) or error.body or error.reason
        body = fault_bytes(error.code, message)
        self.status = "%d %s" % (error.code, error.reason)
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JsonErrorChannel(HTTPChannel):
    """A connection: waitress's errors as Nova faults, and a deadline for a request's headers.

    waitress's idle timeout alone lets a client that trickles a header byte now and then hold
    a connection for ever; here the headers must all have come ``header_timeout`` seconds
    after the request's first byte.
    """

    error_task_class = JsonErrorTask
    header_timeout = 60.0
    request_began = 0.0

    def received(self, data: bytes) -> bool:
        if self.request is None and data:  # the first bytes of a request
            self.request_began = time.monotonic()
        return bool(super().received(data))

    def readable(self) -> bool:
        # Asked by the server's loop at least every second, for every connection.
        request = self.request
        if (
            request is not None
            and not request.headers_finished
            and time.monotonic() - self.request_began > self.header_timeout
        ):
            self.will_close = True  # closed by the loop, as waitress closes idle ones
        return bool(super().readable())


class UrlLengthLimit:
    """414 with a Nova fault body for a request target longer than ``limit`` bytes."""

    def __init__(self, app: WSGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        target = environ.get("REQUEST_URI") or (
            environ.get("PATH_INFO", "") + "?" + environ.get("QUERY_STRING", "")
        )
        if len(target) <= self.limit:
            return self.app(environ, start_response)
        body = fault_bytes(414, "The request URL is longer than %d bytes." % self.limit)
        start_response(
            "414 URI Too Long",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]


def make_server(
    app: WSGIApp,
    settings: Settings,
    sock: socket.socket | None = None,
    may_accept: Callable[[int], bool] | None = None,
) -> Any:
    """A waitress server listening on the settings' host and port, or on ``sock``, a socket
    bound already (each worker of ``refnova serve --workers N`` is given the parent's), that
    accepts a connection only while ``may_accept(its open connections)`` says so; not yet
    serving."""
    idle = max(int(settings.http_idle_timeout), 1)
    where: dict[str, Any] = (
        {"sockets": [sock]} if sock is not None else {"host": settings.host, "port": settings.port}
    )
    server = waitress.server.create_server(
        UrlLengthLimit(app, settings.http_max_url_bytes),
        **where,
        threads=settings.http_threads,
        connection_limit=settings.http_connection_limit,
        channel_timeout=idle,
        cleanup_interval=min(idle, 30),  # how often idle connections are looked for
        max_request_header_size=settings.http_max_header_bytes,
        max_request_body_size=settings.http_max_body_bytes,
        ident="",  # no Server header: no name, no version
        clear_untrusted_proxy_headers=True,
        expose_tracebacks=False,
    )
    channel = type("Channel", (JsonErrorChannel,), {"header_timeout": idle})
    listeners = getattr(server, "map", {}).values() or [server]  # one socket, or several
    for dispatcher in listeners:
        if isinstance(dispatcher, waitress.server.BaseWSGIServer):
            dispatcher.channel_class = channel
            if may_accept is not None:
                dispatcher.readable = _gated_readable(dispatcher, may_accept)
    return server


def _gated_readable(dispatcher: Any, may_accept: Callable[[int], bool]) -> Callable[[], bool]:
    """The listening socket's ``readable`` (asked each turn of the loop), also asking whether
    another connection may be taken now."""
    readable = dispatcher.readable

    def gated() -> bool:
        return bool(readable()) and may_accept(len(dispatcher.active_channels))

    return gated


def bound_port(server: Any) -> int:
    """The port the server listens on (the one the OS chose for port 0)."""
    if hasattr(server, "effective_port"):
        return int(server.effective_port)
    return int(server.effective_listen[0][1])  # a host name that resolved to several addresses


def start(server: Any) -> threading.Event:
    """Run the server's loop in a thread; the event to set before ``stop``."""
    stopping = threading.Event()
    threading.Thread(target=_loop, args=(server, stopping), daemon=True).start()
    return stopping


def _loop(server: Any, stopping: threading.Event) -> None:
    try:
        server.run()
    except (OSError, ValueError):
        # stop() closes the sockets under the loop's select: its error then is the end.
        if not stopping.is_set():
            raise


def stop(server: Any, stopping: threading.Event) -> None:
    """Stop taking connections, let the workers answer the requests they hold (5 s at most),
    then close the sockets."""
    stopping.set()
    if isinstance(server, waitress.server.BaseWSGIServer):
        # Threads first: a worker that finishes a request wakes the loop through the
        # server's trigger, which close() would already have closed under it (EBADF).
        server.accepting = False
        server.task_dispatcher.shutdown(timeout=5)
    server.close()  # a multi-socket server shuts its threads down itself, first
