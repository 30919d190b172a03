"""The flavors resource: ``GET /flavors``, ``/flavors/detail`` and ``/flavors/{id}``
(Nova's ``FlavorsController``), on both contracts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import webob

from refnova import exception, tracing
from refnova.api.openstack import common, contracts
from refnova.api.openstack.common import Answer
from refnova.api.openstack.compute import around, flavor_views, resource_versions
from refnova.compute import flavor_lookup
from refnova.db import api as db_api
from refnova.exception import ApiError
from refnova.utils import bool_from_string

# Nova's query schemas: from 2.75 an unknown parameter of the listing is a 400; from 2.102
# every flavor route refuses them, and the listing takes a ``name`` filter.
_LISTING = ("limit", "marker", "is_public", "minRam", "minDisk", "sort_key", "sort_dir")
LISTING_QUERY = resource_versions.query_rules(
    ("2.1", _LISTING, False), ("2.75", _LISTING, True), ("2.102", (*_LISTING, "name"), True)
)
ITEM_QUERY = resource_versions.query_rules(("2.102", (), True))
# The listing's sort keys (Nova's VALID_SORT_KEYS; 2.102 drops rxtx_factor) and directions.
_SORT_KEYS = (
    *"created_at description disabled ephemeral_gb flavorid id is_public memory_mb".split(),
    *"name root_gb rxtx_factor swap updated_at vcpu_weight vcpus".split(),
)
SORT_KEYS = resource_versions.rows(
    [("2.1", _SORT_KEYS), ("2.102", tuple(k for k in _SORT_KEYS if k != "rxtx_factor"))]
)
SORT_DIRS = ("asc", "desc")
# /v2: Icehouse's _get_flavors handed sort_key and sort_dir to oslo's paginate_query, which
# took any attribute of the InstanceTypes model: its columns (NovaBase's timestamps and
# soft-delete ones too). Any other key, or a direction other than these two, crashed there.
ICEHOUSE_SORT_KEYS = frozenset(
    "created_at updated_at deleted_at deleted id name memory_mb vcpus root_gb ephemeral_gb "
    "flavorid swap rxtx_factor vcpu_weight disabled is_public".split()
)

# The largest LIMIT SQLite and PostgreSQL take (a signed 64-bit integer).
_SQL_MAX_INT = 2**63 - 1


class Controller:
    def __init__(self, db: db_api.Database) -> None:
        self.db = db

    @tracing.traced("flavors.Controller.index")
    def index(self, req: webob.Request) -> Answer:
        return 200, self._listing(req, detail=False), {}

    @tracing.traced("flavors.Controller.detail")
    def detail(self, req: webob.Request) -> Answer:
        return 200, self._listing(req, detail=True), {}

    @tracing.traced("flavors.Controller.show")
    def show(self, req: webob.Request, flavor_id: str) -> Answer:
        resource_versions.check_query(req, ITEM_QUERY)
        context = req.environ["nova.context"]
        try:
            flavor = flavor_lookup.get_flavor_by_flavor_id(self.db, context, flavor_id)
        except exception.FlavorNotFound:
            raise around.not_found(contracts.contract_of(req).around, "flavor", id=flavor_id)
        return 200, {"flavor": flavor_views.show(req, context.project_id, flavor)}, {}

    @tracing.traced("flavor_extra_specs.Controller.index")
    def extra_specs(self, req: webob.Request, flavor_id: str) -> Answer:
        """``GET /flavors/{id}/os-extra_specs`` (Nova's ``FlavorExtraSpecsController.index``)."""
        resource_versions.check_query(req, ITEM_QUERY)
        context = req.environ["nova.context"]
        around_create = contracts.contract_of(req).around
        try:
            flavor = flavor_lookup.get_flavor_by_flavor_id(self.db, context, flavor_id)
        except exception.FlavorNotFound:
            if around_create.extra_specs_find_flavor:
                raise around.not_found(around_create, "flavor", id=flavor_id)
            return 200, {"extra_specs": {}}, {}
        return 200, {"extra_specs": dict(flavor.extra_specs or {})}, {}

    def _listing(self, req: webob.Request, detail: bool) -> dict[str, Any]:
        context = req.environ["nova.context"]
        if _on_icehouse(req):
            flavors = self._icehouse_flavors(req)
        else:
            flavors = self._today_flavors(req)
        kept = resource_versions.kept_params(req, LISTING_QUERY)
        return flavor_views.listing(req, context.project_id, flavors, detail, kept)

    def _today_flavors(self, req: webob.Request) -> Sequence[Any]:
        """/v2.1: ``limit`` (at most [api] max_limit), then the sort, checked by Nova's query
        schema before unknown names and the filters."""
        around_create = contracts.contract_of(req).around
        limit, marker = common.limit_and_marker(req, around_create.paging, around_create.max_limit)
        sort = _sort(req)
        resource_versions.check_query(req, LISTING_QUERY)
        return self._flavors(req, self._filters(req), limit, marker, sort)

    def _icehouse_flavors(self, req: webob.Request) -> Sequence[Any]:
        """/v2: Icehouse's ``_get_flavors`` checked the filters, then handed ``limit`` and
        ``marker`` as given (an empty one is none; no cap) to ``flavor_get_all``, which
        looked the marker up before ``paginate_query`` met the sort and the query its LIMIT:
        where those crashed (a 500), refnova's 400 comes after an unknown marker's."""
        resource_versions.check_query(req, LISTING_QUERY)
        filters = self._filters(req)
        marker = req.GET.get("marker") or None
        try:
            sort = _icehouse_sort(req)
            limit = _icehouse_limit(req)
        except ApiError:
            self._flavors(req, filters, 0, marker, ("flavorid", "asc"))
            raise
        return self._flavors(req, filters, limit, marker, sort)

    def _flavors(
        self,
        req: webob.Request,
        filters: dict[str, Any],
        limit: int | None,
        marker: str | None,
        sort: tuple[str, str],
    ) -> Sequence[Any]:
        context = req.environ["nova.context"]
        try:
            return flavor_lookup.get_all_flavors_sorted_list(
                self.db, context, filters, limit, marker, sort, _on_icehouse(req)
            )
        except exception.MarkerNotFound:
            raise ApiError(400, "marker [%s] not found" % marker)

    @staticmethod
    def _filters(req: webob.Request) -> dict[str, Any]:
        """Nova's ``_get_flavors``: only an admin may ask for private flavors (``is_public``);
        everyone else sees public, enabled ones (and those shared with the project)."""
        filters: dict[str, Any] = {}
        if req.environ["nova.context"].is_admin:
            filters["is_public"] = _parse_is_public(req.GET.get("is_public"))
        else:
            filters.update(is_public=True, disabled=False)
        for param, key in (("minRam", "min_memory_mb"), ("minDisk", "min_root_gb")):
            if param in req.GET:
                try:
                    filters[key] = int(req.GET[param])
                except ValueError:
                    raise ApiError(400, "Invalid %s filter [%s]" % (param, req.GET[param]))
        if "name" in req.GET and resource_versions.reaches(req, "2.102"):
            filters["name"] = req.GET["name"]
        return filters


def _sort(req: webob.Request) -> tuple[str, str]:
    """/v2.1's ``sort_key`` and ``sort_dir`` (each value checked against its enum, as Nova's
    query schema checks them; the last given counts, as webob reads it)."""
    keys = resource_versions.rows_at(req, SORT_KEYS)[-1]
    for name, allowed in (("sort_key", keys), ("sort_dir", SORT_DIRS)):
        for value in req.GET.getall(name):
            if value not in allowed:
                raise ApiError(
                    400,
                    "Invalid input for query parameters %s. Value: %s. %r is not one of %r"
                    % (name, value, value, list(allowed)),
                )
    return (req.GET.get("sort_key") or "flavorid", req.GET.get("sort_dir") or "asc")


def _icehouse_sort(req: webob.Request) -> tuple[str, str]:
    """/v2's ``sort_key`` and ``sort_dir`` (flavorid, asc when absent or empty; the last given
    counts). Where Icehouse's paginate_query crashed, a 400 with its exception's text: the
    direction is looked up first."""
    key = req.GET.get("sort_key") or "flavorid"
    direction = req.GET.get("sort_dir") or "asc"
    if direction not in SORT_DIRS:
        raise ApiError(400, "Unknown sort direction, must be 'desc' or 'asc'")
    if key not in ICEHOUSE_SORT_KEYS:
        raise ApiError(400, "Sort key supplied was not valid.")
    return (key, direction)


def _on_icehouse(req: webob.Request) -> bool:
    return contracts.contract_of(req).around is around.ICEHOUSE


def _icehouse_limit(req: webob.Request) -> int | None:
    """/v2's ``limit``: the last one given, read by the query's LIMIT (``int()``) and by the
    view builder's next link (``int()``, where an empty one failed). Where Icehouse crashed,
    a 400 with the texts of its ``_get_int_param``: not an integer (ValueError) or negative
    (a LIMIT MySQL and PostgreSQL refuse). One beyond the database's integers lists all."""
    values = req.GET.getall("limit")
    if not values:
        return None
    return min(common.icehouse_limit(values), _SQL_MAX_INT)


def _parse_is_public(value: str | None) -> bool | None:
    """None: public only (the default); 'none' in any case: every flavor; else a boolean."""
    if value is None:
        return True
    if value.lower() == "none":
        return None
    try:
        return bool_from_string(value, strict=True)
    except ValueError:
        raise ApiError(400, "Invalid is_public filter [%s]" % value)
