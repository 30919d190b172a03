"""Images listed for Nova's image-proxy API (``GET /images``, ``/images/detail``): the
image service's ``detail`` with Nova's filters, from the world in-process.

Glance's order (newest first, then by id), its visibility rule (public, or the caller's
own) and its paging (``limit``, ``marker``: MarkerNotFound when the caller sees no such
image). Each image comes back in the shape of Nova's image service (``glance.py``).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from refnova import exception, outside, tracing
from refnova.context import RequestContext
from refnova.image import glance

if TYPE_CHECKING:  # requests is imported by the calls that go out: in-process, none does
    import requests

# The creation time of a world image that gives none (the built-in Glance's too).
WORLD_TIMESTAMP = "2014-04-17T00:00:00Z"
# Nova's filters (its SUPPORTED_FILTERS) as image attributes: name, status, and the
# minimum sizes (an image passes when its own is at least the value).
EXACT_FILTERS = {"name": "name", "status": "status"}
MINIMUM_FILTERS = {"min_ram": "min_ram", "min_disk": "min_disk"}
PROPERTY_FILTERS = {"property-instance_uuid": "instance_uuid", "property-image_type": "image_type"}


class ImageList(Protocol):
    def detail(
        self,
        context: RequestContext,
        filters: Mapping[str, str],
        limit: int | None = None,
        marker: str | None = None,
    ) -> list[dict[str, Any]]: ...

    def show(self, context: RequestContext, image_id: str) -> dict[str, Any]: ...


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


class GlanceImageList:
    """A real Glance's images (``--glance-url``), asked with the caller's token: its name and
    status filters and its paging; the minimum sizes and properties filtered here."""

    def __init__(self, endpoint: str, session: requests.Session | None = None) -> None:
        self.client = glance.GlanceClient(endpoint, session)

    def show(self, context: RequestContext, image_id: str) -> dict[str, Any]:
        return _with_parsed_times(self.client.show(context, image_id))

    @tracing.client_call("glance", "GET", "/v2/images")
    def detail(
        self,
        context: RequestContext,
        filters: Mapping[str, str],
        limit: int | None = None,
        marker: str | None = None,
    ) -> list[dict[str, Any]]:
        params = {name: filters[name] for name in EXACT_FILTERS if name in filters}
        if limit is not None:
            params["limit"] = str(limit)
        if marker is not None:
            params["marker"] = marker
        headers = {"X-Auth-Token": context.auth_token or "", "Accept": "application/json"}
        response = tracing.send(
            self.client.session.request,
            "GET",
            self.client.endpoint + "/v2/images",
            params=params,
            timeout=self.client.timeout,
            headers=headers,
        )
        return [
            _with_parsed_times(glance._to_nova_image(image))
            for image in self._images(response, marker)
            if _matches(image, {k: v for k, v in filters.items() if k not in EXACT_FILTERS})
        ]

    def _images(self, response: requests.Response, marker: str | None) -> list[dict[str, Any]]:
        if response.status_code == 400:
            if marker is not None:
                raise exception.MarkerNotFound(marker=marker)
            raise exception.Invalid(response.text.strip())
        unavailable = outside.failed_on_its_side(response, glance.GlanceClient.SERVICE)
        if unavailable is not None:
            raise unavailable
        body = response.json() if response.status_code == 200 else None
        if not isinstance(body, dict) or not isinstance(body.get("images"), list):
            raise exception.ServiceUnavailable(
                reason="%s answered %d without images"
                % (glance.GlanceClient.SERVICE, response.status_code)
            )
        return list(body["images"])


def _with_parsed_times(image: dict[str, Any]) -> dict[str, Any]:
    for key in ("created_at", "updated_at"):
        value = image.get(key)
        if isinstance(value, str):
            image[key] = datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).replace(
                tzinfo=None
            )
    return image
