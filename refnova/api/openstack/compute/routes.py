"""The compute API's route table (Nova's ``nova/api/openstack/compute/routes.py``), as data.

A route names the controller method it calls ("create", "show", ...), or for version
discovery "versions" / "version:<id>", or a redirect. Public routes skip sizelimit and
authentication (Icehouse served GET / outside the v2 pipeline, GET /v2/ through it; Nova
34.0.0 serves / and /v2.1/ outside the v2.1 pipeline) and answer any method (the router's
``_unrouted``).
"""

from __future__ import annotations

import re
from typing import NamedTuple

# A route of every method: Routes' redirects have no method condition.
ANY_METHOD = "*"


class Route(NamedTuple):
    method: str
    pattern: re.Pattern[str]
    template: str
    action: str
    public: bool
    # Where a redirect sends the request (its path under the request's SCRIPT_NAME).
    redirect_to: str | None = None


# Nova 34.0.0's ProjectMapper takes a project id of hex and dashes only (its default
# ``project_id_regex``): /v2.1/demo/servers is no route's (M52-M57). Icehouse's took any
# segment, so /v2/{project_id} keeps [^/]+.
_V21_PROJECT_ID = "[0-9a-f-]+"


def _pattern(template: str, tail: str = "") -> re.Pattern[str]:
    """The template's text as it is (the dot of /v2.1 is no wildcard: /v2x1/servers is
    outside every version), each ``{name}`` one segment."""
    texts = re.split(r"\{(\w+)\}", template)  # text, name, text, ... text
    v21 = template.startswith("/v2.1/")

    def segment(name: str) -> str:
        pattern = _V21_PROJECT_ID if v21 and name == "project_id" else "[^/]+"
        return "(?P<%s>%s)" % (name, pattern)

    regex = "".join(segment(text) if i % 2 else re.escape(text) for i, text in enumerate(texts))
    return re.compile("^" + regex + tail + "$")


# A resource's path matches exactly: Nova's routes Mapper has minimization off (Routes
# 1.12.3 under Icehouse, 2.5.1 under Nova 34.0.0), so /servers/ is an unrouted path.
def _route(method: str, template: str, action: str, public: bool = False) -> Route:
    return Route(method, _pattern(template), template, action, public)


# Nova 34.0.0's version documents answer with and without their slash (/v2.1 and /v2.1/).
def _version_route(template: str, action: str, public: bool = False) -> Route:
    return Route("GET", _pattern(template, "/?"), template, action, public)


# Icehouse's v2 router: ``mapper.redirect("", "/")``. The version's own empty path, any
# method, is a 302 to the version's root, through the pipeline (authenticated, rate
# limited), answered by Routes' middleware itself: text/plain, no body, no request id.
def _redirect_route(template: str) -> Route:
    return Route(ANY_METHOD, _pattern(template), template, "redirect", False, template + "/")


# Nova 34.0.0's ProjectMapper routes "/" again under '{project_id:[0-9a-f-]+}/': a project's
# root is the version document, through the pipeline, with its slash only; the id is hex and
# dashes, so /v2.1/servers/ is never read as a project's root (M36). Icehouse's ProjectMapper
# prefixed resources only: /v2/{project_id}/ stays unrouted.
def _project_root_route(prefix: str, action: str) -> Route:
    return Route(
        "GET", _pattern(prefix + "/{project_id}/"), prefix + "/{project_id}/", action, False
    )


ROUTES = (
    _route("GET", "/", "versions", public=True),
    _route("GET", "/v2/", "version:v2.0"),
    _route("POST", "/v2/{project_id}/servers", "create"),
    _route("POST", "/v1.1/{project_id}/servers", "create"),
    _route("POST", "/v2/{project_id}/os-volumes_boot", "create"),
    _route("GET", "/v2/{project_id}/servers", "index"),
    _route("GET", "/v1.1/{project_id}/servers", "index"),
    # detail before show, so that "detail" is never read as a server id
    _route("GET", "/v2/{project_id}/servers/detail", "detail"),
    _route("GET", "/v1.1/{project_id}/servers/detail", "detail"),
    _route("GET", "/v2/{project_id}/servers/{server_id}", "show"),
    _route("GET", "/v1.1/{project_id}/servers/{server_id}", "show"),
    _route("DELETE", "/v2/{project_id}/servers/{server_id}", "delete"),
    _route("DELETE", "/v1.1/{project_id}/servers/{server_id}", "delete"),
    # Today's contract (contracts.V2_1); the project id in the URL is optional.
    _version_route("/v2.1", "version:v2.1", public=True),
    _project_root_route("/v2.1", "version:v2.1"),
    _route("POST", "/v2.1/servers", "create"),
    _route("POST", "/v2.1/{project_id}/servers", "create"),
    _route("GET", "/v2.1/servers", "index"),
    _route("GET", "/v2.1/{project_id}/servers", "index"),
    _route("GET", "/v2.1/servers/detail", "detail"),
    _route("GET", "/v2.1/{project_id}/servers/detail", "detail"),
    _route("GET", "/v2.1/servers/{server_id}", "show"),
    _route("GET", "/v2.1/{project_id}/servers/{server_id}", "show"),
    _route("DELETE", "/v2.1/servers/{server_id}", "delete"),
    _route("DELETE", "/v2.1/{project_id}/servers/{server_id}", "delete"),
    # The resources around create, on each contract's prefixes (without the project first,
    # so that /v2.1/flavors/detail is never read as a project "flavors").
    *(
        _route(method, prefix + path, action)
        for prefix in ("/v2/{project_id}", "/v2.1", "/v2.1/{project_id}")
        for method, path, action in (
            ("GET", "/flavors", "flavors.index"),
            ("GET", "/flavors/detail", "flavors.detail"),
            ("GET", "/flavors/{flavor_id}", "flavors.show"),
            ("GET", "/flavors/{flavor_id}/os-extra_specs", "flavors.extra_specs"),
            ("GET", "/limits", "limits.index"),
            ("GET", "/os-keypairs", "keypairs.index"),
            ("POST", "/os-keypairs", "keypairs.create"),
            ("GET", "/os-keypairs/{keypair_name}", "keypairs.show"),
            ("DELETE", "/os-keypairs/{keypair_name}", "keypairs.delete"),
            ("GET", "/os-availability-zone", "availability_zone.index"),
            ("GET", "/os-availability-zone/detail", "availability_zone.detail"),
            ("GET", "/images", "images.index"),
            ("GET", "/images/detail", "images.detail"),
            ("GET", "/images/{image_id}", "images.show"),
            ("GET", "/os-quota-sets/{tenant_id}", "quota_sets.show"),
            ("GET", "/os-quota-sets/{tenant_id}/defaults", "quota_sets.defaults"),
        )
    ),
    # Last: no other route's path is /v2, and a request tries it only after its own method's.
    _redirect_route("/v2"),
)

ANY_METHOD_ROUTES = tuple(route for route in ROUTES if route.method == ANY_METHOD)


def _routes_of(method: str) -> tuple[Route, ...]:
    """A method's routes and the routes of every method, in ROUTES' order."""
    return tuple(route for route in ROUTES if route.method in (method, ANY_METHOD))


# The routes of each method, in ROUTES' order: the first match is the same, and a request
# tries only its own method's patterns; a method no route names tries the any-method ones
# (ROUTES_BY_METHOD.get(method, ANY_METHOD_ROUTES)).
ROUTES_BY_METHOD = {
    method: _routes_of(method)
    for method in dict.fromkeys(route.method for route in ROUTES)
    if method != ANY_METHOD
}


# The version documents served outside their version's pipeline: any method gets them.
PUBLIC_ROUTES = tuple(route for route in ROUTES if route.public)
