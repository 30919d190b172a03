"""Images, as Glance's v2 API serves them: over HTTP, or from the world in-process."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from refnova import exception, outside, tracing
from refnova.context import RequestContext

if TYPE_CHECKING:  # requests is imported by the calls that go out: in-process, none does
    import requests

# Glance v2 keys that are not image properties in Nova's (v1-shaped) image dict.
_BASE_KEYS = (
    "id",
    "name",
    "status",
    "size",
    "min_disk",
    "min_ram",
    "disk_format",
    "container_format",
    "checksum",
    "owner",
    "visibility",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
    "protected",
    "tags",
    "file",
    "schema",
    "self",
    "virtual_size",
    "direct_url",
    "locations",
    "os_hidden",
    "os_hash_algo",
    "os_hash_value",
)


class ImageService(Protocol):
    """What the compute API asks of images: one image, in Nova's image dict shape."""

    def show(self, context: RequestContext, image_id: str) -> dict[str, Any]: ...


def _to_nova_image(v2: Mapping[str, Any]) -> dict[str, Any]:
    """Glance v2's flat image body in the shape Nova's image service returned."""
    image = {
        key: v2.get(key)
        for key in (
            "id",
            "name",
            "status",
            "size",
            "min_disk",
            "min_ram",
            "disk_format",
            "container_format",
            "checksum",
            "owner",
            "created_at",
            "updated_at",
            "deleted_at",
        )
    }
    image["min_disk"] = image["min_disk"] or 0
    image["min_ram"] = image["min_ram"] or 0
    image["deleted"] = bool(v2.get("deleted", False))
    image["is_public"] = v2.get("visibility") == "public"
    properties = dict(v2.get("properties") or {})
    properties.update({k: v for k, v in v2.items() if k not in _BASE_KEYS and k != "properties"})
    image["properties"] = properties
    return image


class GlanceClient:
    """GET /v2/images/{id} with the caller's token.

    Glance's answers become Nova's exceptions as Icehouse mapped them: 404 ImageNotFound
    (A6a), 401/403 ImageNotAuthorized (a generic 500, A6b), 400 Invalid with Glance's text
    (A6c). Glance unreachable, timing out or failing (5xx) is ServiceUnavailable (503).
    """

    SERVICE = "the image service (Glance)"

    def __init__(
        self, endpoint: str, session: requests.Session | None = None, timeout: float = 10.0
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        import requests

        self.session = outside.ServiceSession(session or requests.Session(), self.SERVICE)
        self.timeout = timeout

    @tracing.client_call("glance", "GET", "/v2/images/{image_id}")
    def show(self, context: RequestContext, image_id: str) -> dict[str, Any]:
        url = "%s/v2/images/%s" % (self.endpoint, image_id)
        headers = {"X-Auth-Token": context.auth_token or "", "Accept": "application/json"}
        response = tracing.send(
            self.session.request, "GET", url, timeout=self.timeout, headers=headers
        )
        return self._image(response, image_id)

    def _image(self, response: requests.Response, image_id: str) -> dict[str, Any]:
        if response.status_code == 404:
            raise exception.ImageNotFound(image_id=image_id)
        if response.status_code in (401, 403):
            raise exception.ImageNotAuthorized(image_id=image_id)
        if response.status_code == 400:
            raise exception.Invalid(response.text.strip())
        unavailable = outside.failed_on_its_side(response, self.SERVICE)
        if unavailable is not None:
            raise unavailable
        try:
            body = response.json() if response.status_code == 200 else None
        except ValueError:
            body = None
        if not isinstance(body, dict) or "id" not in body:
            raise exception.ServiceUnavailable(
                reason="%s answered %d without an image" % (self.SERVICE, response.status_code)
            )
        return _to_nova_image(body)


class WorldImageService:
    """The world's images, with Glance's visibility rule: public, or owned by the caller."""

    def __init__(self, images: Iterable[Mapping[str, Any]]) -> None:
        self.images = {image["id"]: image for image in images}

    @tracing.client_call("glance", "GET", "/v2/images/{image_id}", in_process=True)
    def show(self, context: RequestContext, image_id: str) -> dict[str, Any]:
        image = self.images.get(image_id)
        if image is None or image.get("deleted") or not _visible(context, image):
            raise exception.ImageNotFound(image_id=image_id)
        return _to_nova_image(image)


def _visible(context: RequestContext, image: Mapping[str, Any]) -> bool:
    return (
        context.is_admin
        or image.get("visibility", "public") == "public"
        or image.get("owner") == context.project_id
    )


def image_service(
    settings_url: str | None, world: Mapping[str, Any], session: requests.Session | None = None
) -> ImageService:
    if settings_url:
        return GlanceClient(settings_url, session=session)
    return WorldImageService(world.get("images", []))
