"""Flavor bodies (Nova's ``views/flavors.py`` with the flavor extensions clients read:
OS-FLV-EXT-DATA, OS-FLV-DISABLED, os-flavor-access, rxtx_factor and swap), at every
microversion: the 2.1 body changed by the rows of ``BASIC_ROWS`` (index) or ``SHOW_ROWS``
(detail and show) the request's version reaches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import webob

from refnova.api.openstack import common, contracts
from refnova.api.openstack.compute import resource_versions

Body = dict[str, Any]
Change = Callable[[Any, Body], None]


def _description(flavor: Any, body: Body) -> None:
    body["description"] = flavor.description


def _extra_specs(flavor: Any, body: Body) -> None:
    """2.61: the extra specs (Nova's default policy lets the project's readers see them)."""
    body["extra_specs"] = dict(flavor.extra_specs or {})


def _swap_as_integer(flavor: Any, body: Body) -> None:
    """2.75: no swap is 0, no longer ""."""
    body["swap"] = flavor.swap or 0


def _without_disabled_and_rxtx(flavor: Any, body: Body) -> None:
    """2.102: the OS-FLV-DISABLED attribute and rxtx_factor are gone."""
    del body["OS-FLV-DISABLED:disabled"], body["rxtx_factor"]


Rows = tuple[resource_versions.Row[Change], ...]

BASIC_ROWS: Rows = resource_versions.rows([("2.55", _description)])
SHOW_ROWS: Rows = resource_versions.rows(
    [
        ("2.55", _description),
        ("2.61", _extra_specs),
        ("2.75", _swap_as_integer),
        ("2.102", _without_disabled_and_rxtx),
    ]
)


def _changed(req: webob.Request, rows: Rows, flavor: Any, body: Body) -> Body:
    for change in resource_versions.rows_at(req, rows):
        change(flavor, body)
    return body


def _links(req: webob.Request, project_id: str, flavor: Any) -> Body:
    return {
        "id": flavor.flavorid,
        "name": flavor.name,
        "links": common.links(req, project_id, "flavors", flavor.flavorid),
    }


def basic(req: webob.Request, project_id: str, flavor: Any) -> Body:
    return _changed(req, BASIC_ROWS, flavor, _links(req, project_id, flavor))


def show(req: webob.Request, project_id: str, flavor: Any) -> Body:
    body = _links(req, project_id, flavor)
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
    return _changed(req, SHOW_ROWS, flavor, body)


def listing(
    req: webob.Request,
    project_id: str,
    flavors: Sequence[Any],
    detail: bool,
    kept: list[tuple[str, str]],
) -> dict[str, Any]:
    """The index or detail body; ``kept``: the query parameters the next link keeps."""
    view = show if detail else basic
    body: dict[str, Any] = {"flavors": [view(req, project_id, flavor) for flavor in flavors]}
    collection = "flavors/detail" if detail else "flavors"
    last = flavors[-1].flavorid if flavors else ""
    paging = contracts.contract_of(req).around.paging
    links = common.next_links(req, project_id, collection, list(flavors), last, paging, kept)
    if links:
        body["flavors_links"] = links
    return body
