"""What goes wrong before a refnova command runs, said in one line.

A bad option, URL or file, a port in use, an unreachable database or broker: the command
prints one line on stderr naming the problem and exits with status 2 (``--debug`` shows the
traceback instead). ``preflight`` refuses what can be seen before anything is started;
``describe`` words the errors that starting it raises.
"""

from __future__ import annotations

import errno
import json
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from refnova.config import Settings

EXIT_STATUS = 2


def safe_url(url: str) -> str:
    """A database or broker URL fit for a message: the password masked."""
    from kombu.utils.url import maybe_sanitize_url

    return str(maybe_sanitize_url(url))


class CommandError(Exception):
    """A problem with what the command was given; its message is the one line printed."""


def preflight(settings: Settings, serving: bool) -> None:
    """Refuse bad settings before a database is touched or a socket opened."""
    check_world_file(settings.world_file)
    check_database_url(settings.db_url)
    check_transport_url(settings.transport_url)
    if serving:
        check_host(settings.host)
        if not 0 <= settings.port <= 65535:
            raise CommandError("--port %d is not a TCP port (0 to 65535)" % settings.port)
    else:  # a conductor has nothing to do without its broker (the API answers 503 meanwhile)
        check_broker(settings.transport_url)


def check_world_file(path: str | None) -> None:
    if path is None:
        return
    try:
        with open(path, encoding="utf-8") as handle:
            world = json.load(handle)
    except OSError as error:
        raise CommandError("world file %s: %s" % (path, error.strerror or error))
    except ValueError as error:
        raise CommandError("world file %s is not JSON: %s" % (path, error))
    from refnova import behaviours  # the database and tracing layers: only with a world file

    try:
        behaviours.world_behaviours(world if isinstance(world, dict) else {})
    except behaviours.InvalidBehaviour as error:
        raise CommandError("world file %s: %s" % (path, error))


def check_database_url(url: str) -> None:
    """A URL SQLAlchemy reads, of a dialect it has, naming its host (or a socket directory).

    Without a host, a PostgreSQL driver connects to the local socket and its default
    database: a refnova that silently seeds its tables there is worse than one that refuses.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as error:
        raise CommandError("database URL %s: %s" % (safe_url(url), _first_line(error)))
    if parsed.get_backend_name() == "sqlite":
        return
    if not parsed.host and "host" not in parsed.query:
        raise CommandError(
            "database URL %s names no host (it would use the local server's default "
            "database); give one, e.g. ...@127.0.0.1/refnova" % safe_url(url)
        )


def check_transport_url(url: str) -> None:
    from kombu.transport import resolve_transport

    from refnova.messaging.transport import kombu_url

    scheme = urlsplit(kombu_url(url)).scheme
    if not scheme:
        raise CommandError("transport URL %s names no transport (e.g. memory://)" % url)
    try:
        resolve_transport(scheme.split("+")[0])
    except (KeyError, ImportError) as error:
        raise CommandError("transport URL %s: %s" % (safe_url(url), _first_line(error)))


def check_broker(url: str) -> None:
    """The broker answers once (later, the conductor rides out its restarts)."""
    from kombu import Connection

    from refnova.messaging.transport import kombu_url

    if kombu_url(url).startswith("memory://"):
        return
    try:
        with Connection(kombu_url(url), connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=5)
    except Exception as error:
        raise CommandError("broker %s unreachable: %s" % (safe_url(url), _first_line(error)))


def check_host(host: str) -> None:
    try:
        socket.getaddrinfo(host, None)
    except (OSError, UnicodeError) as error:
        raise CommandError("--host %s: %s" % (host, getattr(error, "strerror", None) or error))


def check_target(url: str | None) -> None:
    """``conformance --target``: an http(s) URL with a host."""
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CommandError("--target %s is not an http:// or https:// URL" % url)


def describe(error: BaseException, settings: Settings | None, target: str | None = None) -> str:
    """One line naming what failed while the command started (``target``: conformance's)."""
    if isinstance(error, CommandError):
        return str(error)
    if isinstance(error, ValueError) and str(error).startswith("REFNOVA_"):
        return str(error)  # a setting that is not of its type (refnova.config)
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE and settings:
        return "cannot listen on %s:%d: address already in use" % (settings.host, settings.port)
    message = _first_line(error)
    if _is_a(error, "requests.exceptions.RequestException"):
        reason = "connection refused" if "refused" in message.lower() else message
        return "cannot reach the target %s: %s" % (target, reason)
    for kind, what in _KINDS:
        if _is_a(error, kind):
            return what(settings) + ": " + message
    return "%s: %s" % (type(error).__name__, message)


def _database(settings: Settings | None) -> str:
    return "database %s" % (safe_url(settings.db_url) if settings else "")


def _broker(settings: Settings | None) -> str:
    return "broker %s" % (safe_url(settings.transport_url) if settings else "")


# Exceptions by the dotted name of a class they derive from, so that none is imported here.
_KINDS = (
    ("sqlalchemy.exc.SQLAlchemyError", _database),
    ("kombu.exceptions.KombuError", _broker),
    ("amqp.exceptions.AMQPError", _broker),
)


def _is_a(error: BaseException, dotted: str) -> bool:
    return any(
        "%s.%s" % (kind.__module__, kind.__qualname__) == dotted for kind in type(error).__mro__
    )


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip() or type(error).__name__
    line = text.splitlines()[0]
    if len(line) > 1 and line[0] == line[-1] and line[0] in "'\"":  # a KeyError's quotes
        line = line[1:-1]
    return line
