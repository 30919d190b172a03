"""What the built-in services share: a route table, JSON responses, their caller, their URL.

Each service is a small WSGI application over WebOb, mounted under a prefix by
``refnova.api.openstack.urlmap``, which moves the prefix into ``SCRIPT_NAME`` as paste's urlmap
does: the application sees paths relative to its mount point.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import webob
import webob.exc

from refnova import tracing
from refnova.context import RequestContext
from refnova.exception import ApiError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
else:
    StartResponse = WSGIEnvironment = Any

Handler = Callable[..., webob.Response]

# The world's objects carry no creation time: Icehouse's release day stands in for it.
WORLD_TIMESTAMP = "2014-04-17T00:00:00Z"

# keystonemiddleware's answer to a request without a valid token (what Glance and Neutron
# put in front of their APIs).
UNAUTHORIZED_BODY = {
    "error": {
        "code": 401,
        "title": "Unauthorized",
        "message": "The request you have made requires authentication.",
    }
}


class Authenticator(Protocol):
    """What the compute API authenticates with (``refnova.api.openstack.auth``)."""

    def authenticate(self, req: webob.Request) -> RequestContext | None: ...


@dataclasses.dataclass(frozen=True)
class Route:
    """One path template and the methods it answers, relative to the mount point."""

    methods: tuple[str, ...]
    template: str
    handler: str
    pattern: re.Pattern[str]


def route(methods: str, template: str, handler: str) -> Route:
    """A route: ``methods`` space-separated, ``{name}`` a path segment given to the handler."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(tuple(methods.split()), template, handler, re.compile("^" + regex + "/?$"))


def json_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> webob.Response:
    response = webob.Response(status=status, content_type="application/json", charset=None)
    response.body = json.dumps(body).encode("utf-8")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def service_url(req: webob.Request, public_url: str | None) -> str:
    """The service's own root URL: the configured public URL (plus the mount point), else
    the URL it was reached at (scheme, Host header, mount point)."""
    if public_url:
        return public_url.rstrip("/") + req.script_name
    return req.application_url


def root_url(req: webob.Request, public_url: str | None, mount: str) -> str:
    """The cloud's root URL, under which every service is mounted."""
    if public_url:
        return public_url.rstrip("/")
    url: str = req.application_url
    return url[: -len(mount)] if mount and url.endswith(mount) else url


class Refusal(Exception):
    """A request refused before its handler ran (no valid token): the answer is given."""

    def __init__(self, response: webob.Response) -> None:
        super().__init__(response.status)
        self.response = response


class ServiceApp:
    """A WSGI application answering a route table; subclasses give ``mount``, ``routes``
    and the handlers the routes name, and may override ``not_found``/``not_allowed``."""

    mount = ""
    routes: tuple[Route, ...] = ()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        req = webob.Request(environ)
        response = self.respond(req)
        body: Iterable[bytes] = response(environ, start_response)
        return body

    def respond(self, req: webob.Request) -> webob.Response:
        try:
            return self.route(req)
        except Refusal as refusal:
            return refusal.response
        except webob.exc.WSGIHTTPException as error:  # WebOb's own error pages
            return error

    def route(self, req: webob.Request) -> webob.Response:
        path_known = False
        for candidate in self.routes:
            found = candidate.pattern.match(req.path_info)
            if found is None:
                continue
            path_known = True
            if req.method in candidate.methods:
                # The SERVER span (tracing.ServerSpanMiddleware's) is named after the route.
                tracing.name_after_route(
                    tracing.current_span(), req.method, self.mount + candidate.template
                )
                handler: Handler = getattr(self, candidate.handler)
                return handler(req, **found.groupdict())
        return self.not_allowed(req) if path_known else self.not_found(req)

    def not_found(self, req: webob.Request) -> webob.Response:
        return webob.exc.HTTPNotFound()

    def not_allowed(self, req: webob.Request) -> webob.Response:
        return webob.exc.HTTPMethodNotAllowed()


def require_caller(
    req: webob.Request, authenticator: Authenticator, identity_url: str
) -> RequestContext:
    """The caller as the compute API reads it (a token of ours, or noauth2); without one,
    keystonemiddleware's 401 with its challenge naming the identity service."""
    try:
        context = authenticator.authenticate(req)
    except ApiError as error:  # an outside Keystone that cannot say (503)
        raise Refusal(
            json_response(
                error.status,
                {
                    "error": {
                        "code": error.status,
                        "title": "Service Unavailable",
                        "message": error.message,
                    }
                },
            )
        )
    if context is None:
        raise Refusal(
            json_response(
                401, UNAUTHORIZED_BODY, {"WWW-Authenticate": 'Keystone uri="%s"' % identity_url}
            )
        )
    return context


def query_values(req: webob.Request, name: str) -> list[str]:
    """Every value of a repeated query parameter (``?id=a&id=b``)."""
    values: list[str] = req.GET.getall(name)
    return values
