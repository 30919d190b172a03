"""``/networking``: Neutron's v2.0 API, list and show, over the world's networks, subnets,
ports and security groups.

As Neutron answers: version discovery without a token (``GET /networking``), the resource
list of ``GET /networking/v2.0``; each object with the attributes Neutron's core plugin and
its default extensions give (``refnova.api.openstack.network.views``); any attribute as a filter
(repeated for several values, ``true``/``false`` for booleans, an unknown one is 400
``[name] is invalid attribute for filtering``), ``fields`` to select attributes, ``limit``
and ``marker`` (sorted by id) with ``<collection>_links``. A caller sees its project's
objects and the shared networks (and their subnets); an admin sees all. An object the
caller may not see is not found, in Neutron's error body
``{"NeutronError": {"type", "message", "detail"}}``.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import webob

from refnova.api.openstack.network import views
from refnova.api.openstack.service_app import (
    Authenticator,
    Refusal,
    ServiceApp,
    json_response,
    query_values,
    require_caller,
    root_url,
    route,
    service_url,
)
from refnova.context import RequestContext

MOUNT = "/networking"
NOT_FILTERS = ("fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse")


@dataclasses.dataclass(frozen=True)
class Collection:
    """One resource collection: its path, body keys and Neutron's not-found answer."""

    path: str  # in the URL: /v2.0/<path>
    plural: str  # the list body's key
    singular: str  # the show body's key
    not_found_type: str
    not_found: str  # the message, with the id


COLLECTIONS = {
    c.path: c
    for c in (
        Collection(
            "networks", "networks", "network", "NetworkNotFound", "Network %s could not be found."
        ),
        Collection(
            "subnets", "subnets", "subnet", "SubnetNotFound", "Subnet %s could not be found."
        ),
        Collection("ports", "ports", "port", "PortNotFound", "Port %s could not be found."),
        Collection(
            "security-groups",
            "security_groups",
            "security_group",
            "SecurityGroupNotFound",
            "Security group %s does not exist",
        ),
    )
}


class NetworkingApp(ServiceApp):
    """The world's networking objects, as Neutron's v2.0 API serves them."""

    mount = MOUNT
    routes = (
        route("GET", "", "versions"),
        route("GET", "/v2.0", "resources"),
        route("GET", "/v2.0/{collection}", "index"),
        route("GET", "/v2.0/{collection}/{object_id}", "show"),
    )

    def __init__(
        self,
        world: Mapping[str, Any],
        authenticator: Authenticator,
        public_url: str | None = None,
        identity_url: str | None = None,
    ) -> None:
        self.objects = views.world_objects(world)
        self.authenticator = authenticator
        self.public_url = public_url
        self.identity_url = identity_url

    def versions(self, req: webob.Request) -> webob.Response:
        href = service_url(req, self.public_url) + "/v2.0/"
        return json_response(
            200,
            {
                "versions": [
                    {"status": "CURRENT", "id": "v2.0", "links": [{"href": href, "rel": "self"}]}
                ]
            },
        )

    def resources(self, req: webob.Request) -> webob.Response:
        self._caller(req)
        base = service_url(req, self.public_url) + "/v2.0/"
        return json_response(
            200,
            {
                "resources": [
                    {
                        "links": [{"href": base + c.path, "rel": "self"}],
                        "name": c.singular,
                        "collection": c.plural,
                    }
                    for c in COLLECTIONS.values()
                ]
            },
        )

    def index(self, req: webob.Request, collection: str) -> webob.Response:
        kind = self._collection(collection)
        visible = self._visible(self._caller(req), kind)
        filters = _filters(req, kind)
        listed = [obj for obj in visible if _matches(obj, filters)]
        page, links = self._page(req, kind, listed, visible)
        body: dict[str, Any] = {kind.plural: [_fields(obj, req) for obj in page]}
        if links:
            body[kind.plural + "_links"] = links
        return json_response(200, body)

    def show(self, req: webob.Request, collection: str, object_id: str) -> webob.Response:
        kind = self._collection(collection)
        found = _by_id(self._visible(self._caller(req), kind), object_id)
        if found is None:
            raise Refusal(not_found(kind, object_id))
        return json_response(200, {kind.singular: _fields(found, req)})

    def _collection(self, path: str) -> Collection:
        kind = COLLECTIONS.get(path)
        if kind is None:
            raise Refusal(webob.exc.HTTPNotFound())
        return kind

    def _caller(self, req: webob.Request) -> RequestContext:
        identity = self.identity_url or root_url(req, self.public_url, MOUNT) + "/identity"
        return require_caller(req, self.authenticator, identity)

    def _visible(self, context: RequestContext, kind: Collection) -> list[dict[str, Any]]:
        objects = self.objects[kind.path]
        if context.is_admin:
            return objects
        allowed: Callable[[dict[str, Any]], bool] = {
            "networks": lambda obj: _own(context, obj) or bool(obj.get("shared")),
            "subnets": lambda obj: _own(context, obj) or self._shared_network(obj),
            "ports": lambda obj: _own(context, obj) or self._own_network(context, obj),
        }.get(kind.path, lambda obj: _own(context, obj))
        return [obj for obj in objects if allowed(obj)]

    def _shared_network(self, obj: Mapping[str, Any]) -> bool:
        network = _by_id(self.objects["networks"], obj.get("network_id"))
        return bool(network and network.get("shared"))

    def _own_network(self, context: RequestContext, obj: Mapping[str, Any]) -> bool:
        network = _by_id(self.objects["networks"], obj.get("network_id"))
        return bool(network and _own(context, network))

    def _page(
        self,
        req: webob.Request,
        kind: Collection,
        listed: list[dict[str, Any]],
        visible: list[dict[str, Any]],
    ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        """Neutron's pagination: by id, ``limit`` items after ``marker``, with links."""
        limit, marker = _limit(req.GET.get("limit")), req.GET.get("marker")
        if limit is None and marker is None:
            return listed, []
        ordered = sorted(listed, key=lambda obj: str(obj["id"]))
        if marker is not None:
            if _by_id(visible, marker) is None:
                raise Refusal(not_found(kind, marker))
            ordered = [obj for obj in ordered if str(obj["id"]) > marker]
        page = ordered[:limit] if limit else ordered
        return page, self._links(req, kind, page, limit, marker)

    def _links(
        self,
        req: webob.Request,
        kind: Collection,
        page: list[dict[str, Any]],
        limit: int | None,
        marker: str | None,
    ) -> list[dict[str, str]]:
        url = service_url(req, self.public_url) + "/v2.0/" + kind.path
        params = [(k, v) for k, v in req.GET.items() if k not in ("marker", "page_reverse")]
        links = []
        if limit and len(page) == limit:
            query = urllib.parse.urlencode(params + [("marker", page[-1]["id"])])
            links.append({"href": url + "?" + query, "rel": "next"})
        if marker is not None and page:
            query = urllib.parse.urlencode(
                params + [("marker", page[0]["id"]), ("page_reverse", "True")]
            )
            links.append({"href": url + "?" + query, "rel": "previous"})
        return links


def not_found(kind: Collection, object_id: str) -> webob.Response:
    return json_response(
        404,
        {
            "NeutronError": {
                "type": kind.not_found_type,
                "message": kind.not_found % object_id,
                "detail": "",
            }
        },
    )


def bad_request(message: str) -> webob.Response:
    return json_response(
        400, {"NeutronError": {"type": "HTTPBadRequest", "message": message, "detail": ""}}
    )


def _own(context: RequestContext, obj: Mapping[str, Any]) -> bool:
    return obj.get("tenant_id") == context.project_id


def _by_id(objects: list[dict[str, Any]], object_id: Any) -> dict[str, Any] | None:
    return next((obj for obj in objects if obj["id"] == object_id), None)


def _filters(req: webob.Request, kind: Collection) -> dict[str, list[str]]:
    """The query's filters; one naming no attribute of the collection is refused."""
    known = views.attributes(kind.path)
    filters: dict[str, list[str]] = {}
    for name in dict.fromkeys(req.GET.keys()):
        if name in NOT_FILTERS:
            continue
        if name not in known:
            raise Refusal(bad_request("[%s] is invalid attribute for filtering" % name))
        filters[name] = query_values(req, name)
    return filters


def _matches(obj: Mapping[str, Any], filters: Mapping[str, list[str]]) -> bool:
    return all(
        any(_equal(obj.get(name), value) for value in values) for name, values in filters.items()
    )


def _equal(actual: Any, wanted: str) -> bool:
    if isinstance(actual, bool):
        return wanted.lower() in (("true", "1") if actual else ("false", "0"))
    return actual is not None and str(actual) == wanted


def _fields(obj: Mapping[str, Any], req: webob.Request) -> dict[str, Any]:
    """Only the attributes ``fields`` asks for, when it asks."""
    wanted = query_values(req, "fields")
    return {k: v for k, v in obj.items() if k in wanted} if wanted else dict(obj)


def _limit(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        limit = int(raw)
    except ValueError:
        limit = -1
    if limit < 0:
        raise Refusal(
            bad_request(
                "Bad limit request: Limit must be an integer 0 or greater and not '%s'" % raw
            )
        )
    return limit
