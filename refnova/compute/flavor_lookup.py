"""Flavors as the flavors API reads them (Nova's ``get_all_flavors_sorted_list`` and
``get_flavor_by_flavor_id`` of ``nova/compute/flavors.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Row

from refnova.context import RequestContext
from refnova.db import api as db_api
from refnova.db import resources as db_resources


def get_all_flavors_sorted_list(
    db: db_api.Database,
    context: RequestContext,
    filters: Mapping[str, Any],
    limit: int | None = None,
    marker: str | None = None,
    sort: tuple[str, str] = ("flavorid", "asc"),
    null_marker_keeps_key: bool = False,
) -> Sequence[Row[Any]]:
    """The flavors the filters select, sorted (flavorid by default); MarkerNotFound for a bad
    marker (``null_marker_keeps_key``: db.resources.flavor_get_all)."""
    with db.reading() as connection:
        return db_resources.flavor_get_all(
            connection, context, filters, limit, marker, sort, null_marker_keeps_key
        )


def get_flavor_by_flavor_id(db: db_api.Database, context: RequestContext, flavorid: str) -> Any:
    """The flavor the caller may see; FlavorNotFound otherwise."""
    with db.reading() as connection:
        return db_api.flavor_get_by_flavor_id(connection, flavorid, context)
