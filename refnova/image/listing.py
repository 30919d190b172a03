"""Images listed for Nova's image-proxy API (``GET /images``, ``/images/detail``): the
image service's ``detail`` with Nova's filters, from the world in-process.

Glance's order (newest first, then by id), its visibility rule (public, or the caller's
own) and its paging (``limit``, ``marker``: MarkerNotFound when the caller sees no such
image). Each image comes back in the shape of Nova's image service (``glance.py``).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from refnova import exception
from refnova.context import RequestContext
from refnova.image import glance

# The creation time of a world image that gives none (the built-in Glance's too).
WORLD_TIMESTAMP = "2014-04-17T00:00:00Z"
# Nova's filters (its SUPPORTED_FILTERS) as image attributes: name, status, and the
# minimum sizes (an image passes when its own is at least the value).
EXACT_FILTERS = {"name": "name", "status": "status"}
MINIMUM_FILTERS = {"min_ram": "min_ram", "min_disk": "min_disk"}
PROPERTY_FILTERS = {"property-instance_uuid": "instance_uuid", "property-image_type": "image_type"}


class WorldImageList:
    """The world's images, listed as Glance lists them to the caller."""

    def __init__(self, images: Iterable[Mapping[str, Any]]) -> None:
        self.images = [image for image in images if not image.get("deleted")]

    def detail(
        self,
        context: RequestContext,
        filters: Mapping[str, str],
        limit: int | None = None,
        marker: str | None = None,
    ) -> list[dict[str, Any]]:
        listed = sorted(
            (image for image in self.images if _visible(context, image)),
            key=lambda image: (image.get("created_at", WORLD_TIMESTAMP), image["id"]),
            reverse=True,
        )
        if marker is not None:
            ids = [image["id"] for image in listed]
            if marker not in ids:
                raise exception.MarkerNotFound(marker=marker)
            listed = listed[ids.index(marker) + 1 :]
        selected = [with_times(image) for image in listed if _matches(image, filters)]
        return selected if limit is None else selected[:limit]

    def show(self, context: RequestContext, image_id: str) -> dict[str, Any]:
        for image in self.images:
            if image["id"] == image_id and _visible(context, image):
                return with_times(image)
        raise exception.ImageNotFound(image_id=image_id)


def with_times(image: Mapping[str, Any]) -> dict[str, Any]:
    """Nova's image dict of a world image, its times as datetimes (Nova's glance client
    parses Glance's)."""
    nova_image = glance._to_nova_image({**image, **image.get("properties", {})})
    for key in ("created_at", "updated_at"):
        nova_image[key] = _parse(image.get(key) or image.get("created_at") or WORLD_TIMESTAMP)
    return nova_image


def _parse(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def _visible(context: RequestContext, image: Mapping[str, Any]) -> bool:
    return (
        context.is_admin
        or image.get("visibility", "public") == "public"
        or image.get("owner") == context.project_id
    )


def _matches(image: Mapping[str, Any], filters: Mapping[str, str]) -> bool:
    properties = image.get("properties") or {}
    for name, value in filters.items():
        if name in EXACT_FILTERS and str(image.get(EXACT_FILTERS[name])) != value:
            return False
        if name in MINIMUM_FILTERS and int(image.get(name) or 0) < _number(value):
            return False
        if name in PROPERTY_FILTERS and str(properties.get(PROPERTY_FILTERS[name])) != value:
            return False
    return True


def _number(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise exception.Invalid("Invalid filter value %s" % value)
