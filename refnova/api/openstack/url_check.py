"""The front door's one check on the URL: a path or query string that is not UTF-8 once
percent-decoded (``/v2/%ff%fe/servers``, ``?name=%80``) is refused with a 400 fault before
any application, span or route reads it (WebOb decodes both as UTF-8 and would raise)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from refnova.api.openstack import wsgi
from refnova.exception import ApiError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
else:
    StartResponse = WSGIApplication = WSGIEnvironment = Any

MESSAGE = "Malformed request URL: the %s is not valid UTF-8"


class RefuseUndecodablePath:
    """WSGI middleware: a 400 Nova fault for a path WebOb cannot decode, else ``app``."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING", "")
        if (  # nearly every request: all ASCII, nothing escaped in the query (both checks pass)
            environ.get("PATH_INFO", "").isascii()
            and environ.get("SCRIPT_NAME", "").isascii()
            and query.isascii()
            and "%" not in query
        ):
            return self.app(environ, start_response)
        if not path_decodes(environ):
            error = ApiError(400, MESSAGE % "path")
        elif not query_decodes(environ):
            error = ApiError(400, MESSAGE % "query string")
        else:
            return self.app(environ, start_response)
        response = wsgi.fault_response(error)
        return response(environ, start_response)


def path_decodes(environ: WSGIEnvironment) -> bool:
    """Whether SCRIPT_NAME and PATH_INFO (bytes as latin-1, PEP 3333) are UTF-8."""
    for key in ("SCRIPT_NAME", "PATH_INFO"):
        text = environ.get(key, "")
        if text.isascii():  # nearly every path: ASCII is UTF-8
            continue
        try:
            text.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return False
    return True


def query_decodes(environ: WSGIEnvironment) -> bool:
    """Whether QUERY_STRING, percent-decoded, is UTF-8."""
    raw = environ.get("QUERY_STRING", "")
    if raw.isascii() and "%" not in raw:  # nothing escaped: ASCII is UTF-8
        return True
    try:
        unquote_to_bytes(raw.encode("latin-1")).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False
    return True
