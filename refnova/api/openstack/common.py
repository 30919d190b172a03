"""What the compute controllers share (Nova's ``nova/api/openstack/common.py``): paging
parameters and the links of a page of a collection.

Each contract reads ``limit`` and writes a page's next link its own way, held by a
``Paging``: Icehouse's ``_get_int_param`` (``int()``, its own texts) and
``dict_to_query_str`` (the request's parameters as given, unencoded, the marker last);
today's query schema (``non_negative_integer``, jsonschema's texts) and ``urlencode`` of
the sorted parameters. Each decides its own way whether a page gets a next link
(``ViewBuilder._get_collection_links``): Icehouse's when ``limit`` was given and the page is
that long; today's also when none was and the page is as long as the max limit.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import webob

from refnova.api.openstack.compute import views
from refnova.exception import ApiError

# What a controller method answers: the status, the JSON body (None: no body), the headers.
Answer = tuple[int, dict[str, Any] | None, Mapping[str, str]]

MAX_LIMIT = 1000  # Icehouse's osapi_max_limit, today's [api] max_limit
# parameter_types.non_negative_integer's pattern; jsonschema applies it with re.search.
_DIGITS = re.compile("^[0-9]*$")


def icehouse_limit(values: list[str]) -> int:
    """Icehouse's ``common._get_int_param``: ``int()`` of the last value given."""
    try:
        limit = int(values[-1])
    except ValueError:
        raise ApiError(400, "limit param must be an integer")
    if limit < 0:
        raise ApiError(400, "limit param must be positive")
    return limit


def today_limit(values: list[str]) -> int:
    """Today's query schema checks every value given (``multi_params`` of a non-empty text
    of ASCII digits, jsonschema's texts for the first that fails); the last one counts."""
    for raw in values:
        if raw == "":
            raise _schema_refusal(raw, "'' should be non-empty")
        if not _DIGITS.search(raw):
            raise _schema_refusal(raw, "%r does not match '^[0-9]*$'" % raw)
    return int(values[-1])


def icehouse_link_size(values: list[str]) -> int:
    """Icehouse's ``_get_collection_links``: ``int()`` of the last ``limit`` given, 0 (no
    link) when none was; the cap on the page (``osapi_max_limit``) played no part in it."""
    return icehouse_limit(values) if values else 0


def today_link_size(values: list[str]) -> int:
    """Today's ``_get_collection_links``: the limit given, else the max limit; never more."""
    return min(MAX_LIMIT, today_limit(values)) if values else MAX_LIMIT


def _schema_refusal(raw: str, reason: str) -> ApiError:
    return ApiError(400, "Invalid input for query parameters limit. Value: %s. %s" % (raw, reason))


def icehouse_next_query(params: list[tuple[str, str]], marker: str) -> str:
    """Icehouse's ``dict_to_query_str`` of the request's parameters with the marker set
    (webob's MultiDict: every pair as given, the marker moved last), none of it encoded."""
    kept = [(key, value) for key, value in params if key != "marker"]
    return "&".join("%s=%s" % pair for pair in [*kept, ("marker", marker)])


def today_next_query(params: list[tuple[str, str]], marker: str) -> str:
    """Today's: the parameters sorted (a repeated name keeps its last), the marker set,
    URL-encoded."""
    ordered = dict(sorted(params))
    ordered["marker"] = marker
    return urllib.parse.urlencode(ordered)


@dataclasses.dataclass(frozen=True)
class Paging:
    """How a contract reads ``limit`` (its values, in order: an int, or ApiError(400)), how
    long a page must be to get a next link (from the same values; 0: no link), and the query
    of that link (the parameters kept, the last item)."""

    read_limit: Callable[[list[str]], int]
    link_size: Callable[[list[str]], int]
    next_query: Callable[[list[tuple[str, str]], str], str]


ICEHOUSE_PAGING = Paging(
    read_limit=icehouse_limit, link_size=icehouse_link_size, next_query=icehouse_next_query
)
TODAY_PAGING = Paging(
    read_limit=today_limit, link_size=today_link_size, next_query=today_next_query
)


def limit_and_marker(
    req: webob.Request, paging: Paging, max_limit: int | None
) -> tuple[int | None, str | None]:
    """``limit`` (None: not given and no ``max_limit``) and ``marker``, as Nova's
    ``get_limit_and_marker`` reads them: never more than ``max_limit``."""
    limit = None
    if "limit" in req.GET:
        limit = paging.read_limit(req.GET.getall("limit"))
    if max_limit is not None:
        limit = max_limit if limit is None else min(max_limit, limit)
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
    paging: Paging,
    params: list[tuple[str, str]],
) -> list[dict[str, str]]:
    """Nova's ``_get_collection_links``: a ``next`` link when the page is as long as the
    contract's ``link_size``, with ``params`` (the request's parameters Nova keeps) and the
    last item as ``marker``."""
    wanted = paging.link_size(req.GET.getall("limit"))
    if not wanted or wanted != len(page):
        return []
    base = "/".join(
        filter(None, (views.application_url(req), project_segment(req, project_id), collection))
    )
    return [{"rel": "next", "href": "%s?%s" % (base, paging.next_query(params, last_id))}]


def links(req: webob.Request, project_id: str, collection: str, item_id: str) -> list[Any]:
    return views.resource_links(req, project_id, collection, item_id)
