"""Safe links: what the compute API's ``Location`` headers and links are built from.

Links take their scheme and host from the configured public URL (``--public-url``,
``REFNOVA_PUBLIC_URL``; Nova's ``osapi_compute_link_prefix``) when one is given, else from the
request, whose Host header must then be a host name or address with an optional port. The
ids a link carries (the URL's and the token's project id, a resource's id) must be printable
and not a ``.`` or ``..`` segment: anything else is refused with a 400 fault first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import webob

from refnova.exception import ApiError

_HOST = re.compile(r"^(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
_DOT_SEGMENTS = (".", "..")


def refuse_unsafe_ids(ids: Mapping[str, str | None]) -> None:
    """``refuse_unsafe_id`` of each of a route's ids."""
    for name, value in ids.items():
        refuse_unsafe_id(name, value)


def refuse_unsafe_id(name: str, value: str | None) -> None:
    """400 for an id that would put a control character or a dot segment into a link."""
    if value is not None and (not value.isprintable() or value in _DOT_SEGMENTS):
        raise ApiError(400, "Malformed request URL: the %s is not a valid id" % name)


def use_public_url(req: webob.Request, public_url: str | None) -> None:
    """Make the request's scheme and host the public URL's, so that every link built from
    ``req.host_url`` points there; without one, refuse a Host header that is not a host."""
    if public_url:
        parts = urlsplit(public_url)
        req.environ["wsgi.url_scheme"] = parts.scheme or "http"
        req.environ["HTTP_HOST"] = parts.netloc
        return
    host = req.environ.get("HTTP_HOST")
    if host is not None and not _HOST.match(host):
        raise ApiError(400, "Malformed request: the Host header is not a host name")
