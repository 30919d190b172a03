"""One WSGI application in front: each path prefix to its service, the rest to compute.

As paste's urlmap (what devstack's web server does with its ``/identity``, ``/image``...
locations): the matched prefix moves from ``PATH_INFO`` to ``SCRIPT_NAME``, so that the
mounted application sees paths relative to its mount point and builds its own URLs from
``SCRIPT_NAME``. A prefix matches whole path segments only (``/images`` is not ``/image``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
else:
    StartResponse = WSGIApplication = WSGIEnvironment = Any

_SLASHES = re.compile("//+")


def collapse_slashes(environ: WSGIEnvironment) -> None:
    """A run of slashes in ``PATH_INFO`` is one, anywhere in the path, before a version's
    prefix or a route is matched: Nova's ``osapi_compute`` urlmap (Icehouse's and Nova
    34.0.0's) normalizes the path with paste's ``URLMap.normalize_url`` (``//+`` to ``/``)
    and hands the normalized path on. ``//v2.1//flavors`` is ``/v2.1/flavors`` (M30)."""
    path = environ.get("PATH_INFO", "")
    if "//" in path:  # a plain search: most paths have no run, and pay no more than this
        environ["PATH_INFO"] = _SLASHES.sub("/", path)


class PrefixDispatcher:
    """Sends a request under a mounted prefix to that application, any other to ``default``."""

    def __init__(self, mounts: Mapping[str, WSGIApplication], default: WSGIApplication) -> None:
        # Longest prefix first, so that a nested mount wins over its parent.
        self.mounts = sorted(
            ((prefix.rstrip("/"), app) for prefix, app in mounts.items()),
            key=lambda item: len(item[0]),
            reverse=True,
        )
        self.default = default
        # Most requests are compute's: one test against every prefix sends them on.
        self._prefixes = tuple(prefix for prefix, _app in self.mounts)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(self._prefixes):
            return self.default(environ, start_response)
        for prefix, app in self.mounts:
            if path == prefix or path.startswith(prefix + "/"):
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
                environ["PATH_INFO"] = path[len(prefix) :]
                return app(environ, start_response)
        return self.default(environ, start_response)
