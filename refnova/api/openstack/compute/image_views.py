"""Image bodies of the image-proxy API (Nova's ``views/images.py`` with the
OS-EXT-IMG-SIZE extension)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

import webob

from refnova.api.openstack import common, contracts

STATUS = {
    "active": "ACTIVE",
    "queued": "SAVING",
    "saving": "SAVING",
    "deleted": "DELETED",
    "pending_delete": "DELETED",
    "killed": "ERROR",
}
PROGRESS = {"queued": 25, "saving": 50, "active": 100}


class ImageViews:
    """``alternate`` is the image's address in Glance: the service's URL and, on /v2, the
    project (Icehouse's ``glance_url/<project>/images/<id>``)."""

    def __init__(self, req: webob.Request, project_id: str, alternate: str) -> None:
        self.req = req
        self.project_id = project_id
        self.alternate = alternate

    def links(self, image_id: str) -> list[dict[str, str]]:
        links = common.links(self.req, self.project_id, "images", image_id)
        alternate = {
            "rel": "alternate",
            "type": "application/vnd.openstack.image",
            "href": "%s/images/%s" % (self.alternate, image_id),
        }
        return [*links, alternate]

    def basic(self, image: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": image["id"], "name": image.get("name"), "links": self.links(image["id"])}

    def show(self, image: Mapping[str, Any]) -> dict[str, Any]:
        status = image.get("status")
        body = self.basic(image)
        body.update(
            {
                "minRam": int(image.get("min_ram") or 0),
                "minDisk": int(image.get("min_disk") or 0),
                "metadata": dict(image.get("properties") or {}),
                "created": _format_date(image.get("created_at")),
                "updated": _format_date(image.get("updated_at")),
                "status": STATUS.get(str(status), "UNKNOWN"),
                "progress": PROGRESS.get(str(status), 0),
                "OS-EXT-IMG-SIZE:size": image.get("size"),
            }
        )
        server_id = body["metadata"].get("instance_uuid")
        if server_id is not None:
            body["server"] = {
                "id": server_id,
                "links": common.links(self.req, self.project_id, "servers", server_id),
            }
        return body

    def listing(self, images: Sequence[Mapping[str, Any]], detail: bool) -> dict[str, Any]:
        view = self.show if detail else self.basic
        body: dict[str, Any] = {"images": [view(image) for image in images]}
        collection = "images/detail" if detail else "images"
        last = images[-1]["id"] if images else ""
        paging = contracts.contract_of(self.req).around.paging
        kept = list(self.req.GET.items())  # Nova's image proxy has no query schema
        links = common.next_links(
            self.req, self.project_id, collection, list(images), last, paging, kept
        )
        if links:
            body["images_links"] = links
        return body


def _format_date(value: datetime.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None
