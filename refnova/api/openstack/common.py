"""What the compute controllers share (Nova's ``nova/api/openstack/common.py``): paging
parameters and the links of a page of a collection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import webob

from refnova.api.openstack.compute import views
from refnova.api.openstack.compute.around import AroundCreate

# What a controller method answers: the status, the JSON body (None: no body), the headers.
Answer = tuple[int, dict[str, Any] | None, Mapping[str, str]]


def limit_and_marker(req: webob.Request, around: AroundCreate) -> tuple[int | None, str | None]:
    """``limit`` (None: not given) and ``marker``, read as the contract reads them."""
    limit = None
    if "limit" in req.GET:
        limit = around.read_limit(req.GET["limit"])
    if around.max_limit is not None:
        limit = min(around.max_limit, around.max_limit if limit is None else limit)
    return limit, req.GET.get("marker")


def project_segment(req: webob.Request, project_id: str) -> str:
    """The project id when the request's URL has it (always on /v2), else nothing."""
    return project_id if project_id in req.path_info.split("/") else ""


def next_links(
    req: webob.Request,
    project_id: str,
    collection: str,
    page: list[Any],
    last_id: str,
    around: AroundCreate,
    known: frozenset[str] | None = None,
) -> list[dict[str, str]]:
    """Nova's ``_get_collection_links``: a ``next`` link when the page is as long as the
    ``limit`` asked for, with the request's parameters (those the route's query schema knows,
    when ``known`` says: Nova strips the others) and the last item as ``marker``."""
    asked = req.GET.get("limit", "")
    if not asked.isdigit() or not page or int(asked) != len(page):
        return []
    params = [(key, value) for key, value in req.GET.items() if known is None or key in known]
    base = "/".join(
        filter(None, (views.application_url(req), project_segment(req, project_id), collection))
    )
    return [{"rel": "next", "href": "%s?%s" % (base, around.next_query(params, last_id))}]


def links(req: webob.Request, project_id: str, collection: str, item_id: str) -> list[Any]:
    return views.resource_links(req, project_id, collection, item_id)
