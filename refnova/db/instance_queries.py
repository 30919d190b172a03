"""The instances query behind GET /servers: Nova's ``instance_get_all_by_filters``.

Filters as Nova's database layer applies them: exact matches (project, image, flavor, vm
states; a flavor no row has matches nothing, as Nova's API answers FlavorNotFound),
``display_name`` as a regular expression searched anywhere in the name (Nova's SQLite
``REGEXP`` is Python's ``re.search``), ``changes-since`` on ``updated_at``, live or deleted
rows, and the marker and limit of a page over Nova's default order (newest first).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from refnova import exception
from refnova.db import models


@dataclasses.dataclass(frozen=True)
class InstanceFilters:
    """What to list. None for a filter: not filtered on it."""

    project_id: str | None = None  # None: every project (all_tenants)
    name: str | None = None  # a regular expression
    vm_states: Sequence[str] | None = None
    image_ref: str | None = None
    flavorid: str | None = None  # the flavor's API id; an unknown one matches nothing
    changes_since: datetime.datetime | None = None  # naive UTC
    deleted: bool | None = False  # True: only deleted rows, None: both
    limit: int | None = None
    marker: str | None = None  # the uuid of the last instance of the previous page


def instances_by_filters(session: Session, filters: InstanceFilters) -> list[models.Instance]:
    """The instances that pass the filters, newest first; MarkerNotFound for a bad marker."""
    query = _filtered(select(models.Instance), filters)
    if filters.marker is not None:
        query = query.where(_after(_marker(session, filters)))
    query = query.order_by(models.Instance.created_at.desc(), models.Instance.id.desc())
    if filters.name is None:
        return list(session.scalars(query.limit(filters.limit)).all())
    # The name is matched in Python, as Nova's SQLite REGEXP function matches it; the page
    # is cut after it.
    pattern = re.compile(filters.name)
    named = [i for i in session.scalars(query).all() if pattern.search(i.display_name or "")]
    return named[: filters.limit] if filters.limit is not None else named


def _filtered(
    query: Select[tuple[models.Instance]], filters: InstanceFilters
) -> Select[tuple[models.Instance]]:
    instance = models.Instance
    if filters.project_id is not None:
        query = query.where(instance.project_id == filters.project_id)
    if filters.vm_states is not None:
        query = query.where(instance.vm_state.in_(list(filters.vm_states)))
    if filters.image_ref is not None:
        query = query.where(instance.image_ref == filters.image_ref)
    if filters.flavorid is not None:
        flavor_ids = select(models.Flavor.id).where(
            models.Flavor.flavorid == filters.flavorid, models.Flavor.deleted == 0
        )
        query = query.where(instance.instance_type_id.in_(flavor_ids))
    if filters.changes_since is not None:
        query = query.where(instance.updated_at >= filters.changes_since)
    if filters.deleted is True:
        query = query.where(instance.deleted == instance.id)
    elif filters.deleted is False:
        query = query.where(instance.deleted == 0)
    return query


def _marker(session: Session, filters: InstanceFilters) -> models.Instance:
    query = select(models.Instance).where(models.Instance.uuid == filters.marker)
    if filters.project_id is not None:
        query = query.where(models.Instance.project_id == filters.project_id)
    marker = session.scalar(query)
    if marker is None:
        raise exception.MarkerNotFound(marker=filters.marker)
    return marker


def _after(marker: models.Instance) -> ColumnElement[bool]:
    """Rows after the marker in the order newest first (created_at, then id, descending)."""
    instance = models.Instance
    return or_(
        instance.created_at < marker.created_at,
        and_(instance.created_at == marker.created_at, instance.id < marker.id),
    )
