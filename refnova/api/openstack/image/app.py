"""``/image``: Glance's v2 images API, list and show, over the world's images.

As Glance answers (its v2 images controller and its versions controller): version
discovery without a token (``GET /image`` 300, ``GET /image/versions`` 200); the image
view with every base attribute (null when unknown) and the image's properties flattened
into it; the list sorted by ``created_at`` then ``id``, newest first, ``limit`` (25 by
default, at most 1000) and ``marker``, with ``first`` and, when a page is full, ``next``
links relative to the host. An image the caller may not see (private to another project)
is not found, as an unknown one: ``404`` with ``No image found with ID <id>``. Glance's
errors are WebOb's pages (JSON when the client accepts it).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import webob
import webob.exc

from refnova.api.openstack.service_app import (
    WORLD_TIMESTAMP,
    Authenticator,
    ServiceApp,
    json_response,
    require_caller,
    root_url,
    route,
    service_url,
)
from refnova.context import RequestContext

MOUNT = "/image"
DEFAULT_LIMIT = 25  # Glance's limit_param_default
MAX_LIMIT = 1000  # Glance's api_limit_max
VISIBILITIES = ("public", "private", "shared", "community", "all")
SORT_KEYS = (
    "created_at",
    "updated_at",
    "id",
    "name",
    "status",
    "size",
    "disk_format",
    "container_format",
    "min_ram",
    "min_disk",
    "owner",
    "visibility",
)
# Glance's versions without an image cache or several stores: v2.15 current.
VERSIONS = (
    ("2.15", "CURRENT"),
    ("2.9", "SUPPORTED"),
    ("2.7", "SUPPORTED"),
    ("2.6", "SUPPORTED"),
    ("2.5", "SUPPORTED"),
    ("2.4", "SUPPORTED"),
    ("2.3", "SUPPORTED"),
    ("2.2", "SUPPORTED"),
    ("2.1", "SUPPORTED"),
    ("2.0", "SUPPORTED"),
)
PAGING = ("limit", "marker", "sort_key", "sort_dir", "member_status")


class ImageApp(ServiceApp):
    """The world's images, as Glance v2 serves them to the caller's project."""

    mount = MOUNT
    routes = (
        route("GET", "", "versions"),
        route("GET", "/versions", "versions"),
        route("GET", "/v2/images", "index"),
        route("GET", "/v2/images/{image_id}", "show"),
    )

    def __init__(
        self,
        images: Sequence[Mapping[str, Any]],
        authenticator: Authenticator,
        public_url: str | None = None,
        identity_url: str | None = None,
    ) -> None:
        self.images = [image_view(image) for image in images if not image.get("deleted")]
        self.authenticator = authenticator
        self.public_url = public_url
        self.identity_url = identity_url

    def versions(self, req: webob.Request) -> webob.Response:
        href = service_url(req, self.public_url) + "/v2/"
        values = [
            {"id": "v" + version, "status": status, "links": [{"rel": "self", "href": href}]}
            for version, status in VERSIONS
        ]
        explicit = req.path_info.rstrip("/") == "/versions"
        return json_response(200 if explicit else 300, {"versions": values})

    def index(self, req: webob.Request) -> webob.Response:
        context = self._caller(req)
        params = dict(req.GET.items())
        limit = _limit(params.get("limit"))
        key, descending = _sort_spec(params)
        value = _sort_value(key)
        listed = sorted(self._listed(context, params), key=value, reverse=descending)
        if params.get("marker") is not None:
            marker = self._find(context, params["marker"], webob.exc.HTTPBadRequest)
            listed = _after(listed, value, marker, descending)
        page = listed[:limit]
        body: dict[str, Any] = {
            "images": page,
            "first": _link(params, None),
            "schema": "/v2/schemas/images",
        }
        if page and len(page) == limit:
            body["next"] = _link(params, page[-1]["id"])
        return json_response(200, body)

    def show(self, req: webob.Request, image_id: str) -> webob.Response:
        context = self._caller(req)
        return json_response(200, self._find(context, image_id, webob.exc.HTTPNotFound))

    def _find(
        self, context: RequestContext, image_id: str, missing: type[webob.exc.HTTPClientError]
    ) -> dict[str, Any]:
        """The image if the caller may see it; else Glance's answer for an unknown one."""
        for image in self.images:
            if image["id"] == image_id and _visible(context, image):
                return image
        raise missing(explanation="No image found with ID %s" % image_id)

    def _caller(self, req: webob.Request) -> RequestContext:
        identity = self.identity_url or root_url(req, self.public_url, MOUNT) + "/identity"
        return require_caller(req, self.authenticator, identity)

    def _listed(self, context: RequestContext, params: Mapping[str, str]) -> list[dict[str, Any]]:
        visibility = params.get("visibility")
        if visibility is not None and visibility not in VISIBILITIES:
            raise webob.exc.HTTPBadRequest(explanation="Invalid visibility value: %s" % visibility)
        filters = {k: v for k, v in params.items() if k not in PAGING and k != "visibility"}
        return [
            image
            for image in self.images
            if _listable(context, image, visibility) and _matches(image, filters)
        ]


def image_view(image: Mapping[str, Any]) -> dict[str, Any]:
    """Glance's v2 view of a world image: properties flattened, then the base attributes."""
    image_id = image["id"]
    view: dict[str, Any] = dict(image.get("properties") or {})
    view.update(
        {
            "id": image_id,
            "name": image.get("name"),
            "status": image.get("status", "active"),
            "visibility": image.get("visibility", "public"),
            "size": image.get("size"),
            "virtual_size": image.get("virtual_size"),
            "checksum": image.get("checksum"),
            "min_ram": image.get("min_ram", 0),
            "min_disk": image.get("min_disk", 0),
            "disk_format": image.get("disk_format"),
            "container_format": image.get("container_format"),
            "owner": image.get("owner"),
            "protected": bool(image.get("protected", False)),
            "os_hidden": False,
            "os_hash_algo": image.get("os_hash_algo"),
            "os_hash_value": image.get("os_hash_value"),
            "tags": list(image.get("tags") or []),
            "created_at": image.get("created_at", WORLD_TIMESTAMP),
            "updated_at": image.get("updated_at", image.get("created_at", WORLD_TIMESTAMP)),
            "self": "/v2/images/%s" % image_id,
            "file": "/v2/images/%s/file" % image_id,
            "schema": "/v2/schemas/image",
        }
    )
    return view


def _visible(context: RequestContext, image: Mapping[str, Any]) -> bool:
    """Glance's rule for one image: an admin sees all, others public ones and their own."""
    return (
        context.is_admin
        or image["visibility"] in ("public", "community")
        or image.get("owner") == context.project_id
    )


def _listable(context: RequestContext, image: Mapping[str, Any], visibility: str | None) -> bool:
    """Listed: without a filter, what the caller sees (community images only its own);
    with one, the images of that visibility the caller sees."""
    if visibility in (None, "all"):
        if image["visibility"] == "community" and not context.is_admin:
            return image.get("owner") == context.project_id
        return _visible(context, image)
    return image["visibility"] == visibility and _visible(context, image)


def _matches(image: Mapping[str, Any], filters: Mapping[str, str]) -> bool:
    """Every other parameter filters on the attribute (or property) of that name."""
    return all(key in image and _text(image[key]) == value for key, value in filters.items())


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise webob.exc.HTTPBadRequest(explanation="limit param must be an integer")
    if limit < 0:
        raise webob.exc.HTTPBadRequest(explanation="limit param must be positive")
    return min(limit, MAX_LIMIT)


def _sort_spec(params: Mapping[str, str]) -> tuple[str, bool]:
    key, direction = params.get("sort_key", "created_at"), params.get("sort_dir", "desc")
    if key not in SORT_KEYS:
        raise webob.exc.HTTPBadRequest(
            explanation=(
                "Invalid sort key: %s. It must be one of the following: %s."
                % (key, ", ".join(SORT_KEYS))
            )
        )
    if direction not in ("asc", "desc"):
        raise webob.exc.HTTPBadRequest(explanation="Invalid sort direction: %s" % direction)
    return key, direction == "desc"


def _sort_value(key: str) -> Callable[[Mapping[str, Any]], tuple[str, str]]:
    def value(image: Mapping[str, Any]) -> tuple[str, str]:
        raw = image.get(key)
        text = "%020d" % raw if isinstance(raw, int) else _text(raw)
        return text, image["id"]  # the id breaks ties: Glance adds it to every sort

    return value


def _after(
    images: list[dict[str, Any]],
    value: Callable[[Mapping[str, Any]], tuple[str, str]],
    marker: Mapping[str, Any],
    descending: bool,
) -> list[dict[str, Any]]:
    """The images past the marker in the sort order (keyset paging, as Glance's query)."""
    bound = value(marker)
    return [
        image for image in images if (value(image) < bound if descending else value(image) > bound)
    ]


def _link(params: Mapping[str, str], marker: str | None) -> str:
    """Glance's ``first`` (no marker) and ``next`` links: the request's own parameters."""
    query = {key: value for key, value in params.items() if key != "marker"}
    if marker is not None:
        query["marker"] = marker
    encoded = urllib.parse.urlencode(query)
    return "/v2/images" + ("?" + encoded if encoded else "")
