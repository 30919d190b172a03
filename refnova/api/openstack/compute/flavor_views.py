"""Flavor bodies (Nova's ``views/flavors.py`` with the flavor extensions clients read:
OS-FLV-EXT-DATA, OS-FLV-DISABLED, os-flavor-access, rxtx_factor and swap)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import webob

from refnova.api.openstack import common


def basic(req: webob.Request, project_id: str, flavor: Any) -> dict[str, Any]:
    return {
        "id": flavor.flavorid,
        "name": flavor.name,
        "links": common.links(req, project_id, "flavors", flavor.flavorid),
    }


def show(req: webob.Request, project_id: str, flavor: Any) -> dict[str, Any]:
    body = basic(req, project_id, flavor)
    body.update(
        {
            "ram": flavor.memory_mb,
            "disk": flavor.root_gb,
            "vcpus": flavor.vcpus or "",
            "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
            "OS-FLV-DISABLED:disabled": bool(flavor.disabled),
            "os-flavor-access:is_public": bool(flavor.is_public),
            "rxtx_factor": flavor.rxtx_factor or "",
            "swap": flavor.swap or "",
        }
    )
    return body


def listing(
    req: webob.Request, project_id: str, flavors: Sequence[Any], detail: bool
) -> dict[str, Any]:
    view = show if detail else basic
    body: dict[str, Any] = {"flavors": [view(req, project_id, flavor) for flavor in flavors]}
    collection = "flavors/detail" if detail else "flavors"
    last = flavors[-1].flavorid if flavors else ""
    links = common.next_links(req, project_id, collection, list(flavors), last)
    if links:
        body["flavors_links"] = links
    return body
