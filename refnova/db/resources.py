"""The queries of the resources around create: flavors listed, key pairs, quota usage, the
compute services behind the availability zones (Nova's ``db.api`` functions of those names).

Like ``refnova.db.api`` these take a Session (or, for reads, a Connection from
``Database.reading``) and raise only Nova's exceptions.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from refnova import exception
from refnova.context import RequestContext
from refnova.db import models

_FLAVORS = models.Flavor.__table__
_ACCESS = models.FlavorProject.__table__


def _visible_to(context: RequestContext) -> list[ColumnElement[bool]]:
    """Nova's ``_flavor_get_query``: a non-admin sees public flavors and those shared with
    the project; an admin sees every flavor that is not deleted."""
    conditions: list[ColumnElement[bool]] = [_FLAVORS.c.deleted == 0]
    if not context.is_admin:
        conditions.append(or_(_FLAVORS.c.is_public.is_(True), _has_access(context.project_id)))
    return conditions


def _has_access(project_id: str) -> ColumnElement[bool]:
    return _FLAVORS.c.id.in_(select(_ACCESS.c.flavor_id).where(_ACCESS.c.project_id == project_id))


def _filtered(context: RequestContext, filters: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    """Nova's ``flavor_get_all`` filters: min_memory_mb, min_root_gb, disabled, is_public
    (True also admits flavors the project was given access to; None: any)."""
    conditions = _visible_to(context)
    if "min_memory_mb" in filters:
        conditions.append(_FLAVORS.c.memory_mb >= filters["min_memory_mb"])
    if "min_root_gb" in filters:
        conditions.append(_FLAVORS.c.root_gb >= filters["min_root_gb"])
    if "disabled" in filters:
        conditions.append(_FLAVORS.c.disabled.is_(bool(filters["disabled"])))
    is_public = filters.get("is_public")
    if is_public is not None:
        public: ColumnElement[bool] = _FLAVORS.c.is_public.is_(bool(is_public))
        if is_public and context.project_id is not None:
            public = or_(public, _has_access(context.project_id))
        conditions.append(public)
    return conditions


# Nova's flavor sort keys that refnova's flavors have no column for: they were all created
# when the world was seeded, in id order, and never updated (nor deleted: Icehouse's
# deleted_at is NULL on every flavor listed).
_SORTED_AS_ID = frozenset({"created_at", "updated_at", "deleted_at"})


def flavor_get_all(
    connection: Connection,
    context: RequestContext,
    filters: Mapping[str, Any],
    limit: int | None = None,
    marker: str | None = None,
    sort: tuple[str, str] = ("flavorid", "asc"),
    null_marker_keeps_key: bool = False,
) -> Sequence[Row[Any]]:
    """The flavors the filters select, by ``sort`` (key, "asc" or "desc"; Nova's default
    flavorid ascending) then id in the same direction, NULL keys first ascending and last
    descending (Nova's order on SQLite and MySQL; said outright for PostgreSQL, whose default
    is the reverse); after the flavor whose flavorid is ``marker`` (MarkerNotFound if the
    caller sees none such). ``null_marker_keeps_key``: after a marker whose key is NULL come
    only the NULL keys past its id (Icehouse's paginate_query compared NULL as any value:
    ``key IS NULL`` and past the id; ``key > NULL`` is never true)."""
    key = _FLAVORS.c.id if sort[0] in _SORTED_AS_ID else _FLAVORS.c[sort[0]]
    after = operator.lt if sort[1] == "desc" else operator.gt
    conditions = _filtered(context, filters)
    if marker is not None:
        row = connection.execute(
            select(_FLAVORS.c.id, key.label("key")).where(
                _FLAVORS.c.flavorid == marker, *_visible_to(context)
            )
        ).first()
        if row is None:
            raise exception.MarkerNotFound(marker=marker)
        conditions.append(_past_marker(key, row, after))
        if null_marker_keeps_key and row.key is None:
            conditions.append(key.is_(None))
    order = (
        (key.desc().nulls_last(), _FLAVORS.c.id.desc())
        if sort[1] == "desc"
        else (key.asc().nulls_first(), _FLAVORS.c.id)
    )
    query = select(_FLAVORS).where(*conditions).order_by(*order)
    if "name" in filters:
        # A regular expression searched anywhere in the name (2.102), matched in Python as
        # Nova's SQLite REGEXP function matches it; the page is cut after the match.
        pattern = re.compile(filters["name"])
        named = [row for row in connection.execute(query).all() if pattern.search(row.name)]
        return named[:limit] if limit is not None else named
    if limit is not None:
        query = query.limit(limit)
    return connection.execute(query).all()


def _past_marker(
    key: ColumnElement[Any], marker: Row[Any], after: Callable[[Any, Any], Any]
) -> ColumnElement[bool]:
    """What comes after the marker row, as oslo.db's ``paginate_query`` pages Nova's sort
    keys ``[key, id]``: past its key, or of its key and past its id. A NULL key is no
    bound (oslo.db skips it), so after such a marker come the rows past its id, whatever
    their key; a NULL key is never past a value, so those rows never follow one."""
    past_id = after(_FLAVORS.c.id, marker.id)
    if marker.key is None:
        return past_id
    return or_(after(key, marker.key), and_(key == marker.key, past_id))


# --- key pairs --------------------------------------------------------------------------


def key_pair_get_all_by_user(session: Session, user_id: str) -> Sequence[models.KeyPair]:
    return session.scalars(
        select(models.KeyPair).where(models.KeyPair.user_id == user_id).order_by(models.KeyPair.id)
    ).all()


def key_pair_count_by_user(session: Session, user_id: str) -> int:
    count = session.scalar(
        select(func.count()).select_from(models.KeyPair).where(models.KeyPair.user_id == user_id)
    )
    return int(count or 0)


def key_pair_create(session: Session, values: Mapping[str, Any]) -> models.KeyPair:
    """A new key pair; KeyPairExists if the user already has one of that name."""
    existing = session.scalar(
        select(models.KeyPair.id).where(
            models.KeyPair.user_id == values["user_id"], models.KeyPair.name == values["name"]
        )
    )
    if existing is not None:
        raise exception.KeyPairExists(key_name=values["name"])
    keypair = models.KeyPair(**values)
    session.add(keypair)
    session.flush()
    return keypair


def key_pair_destroy(session: Session, user_id: str, name: str) -> None:
    keypair = session.scalar(
        select(models.KeyPair).where(models.KeyPair.user_id == user_id, models.KeyPair.name == name)
    )
    if keypair is None:
        raise exception.KeypairNotFound(user_id=user_id, name=name)
    session.delete(keypair)


# --- quota usage and counts -------------------------------------------------------------


def quota_usages(session: Session, project_id: str) -> dict[str, tuple[int, int]]:
    """resource -> (in_use, reserved) of the project's usage rows."""
    rows = session.execute(
        select(
            models.QuotaUsage.resource, models.QuotaUsage.in_use, models.QuotaUsage.reserved
        ).where(models.QuotaUsage.project_id == project_id)
    )
    return {row.resource: (int(row.in_use), int(row.reserved)) for row in rows}


def server_group_count(session: Session, project_id: str) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(models.InstanceGroup)
        .where(models.InstanceGroup.project_id == project_id)
    )
    return int(count or 0)


# --- services -----------------------------------------------------------------------------


def compute_nodes(session: Session) -> Sequence[models.ComputeNode]:
    """Every compute host, in the order the world lists them (Nova's service order)."""
    return session.scalars(select(models.ComputeNode).order_by(models.ComputeNode.id)).all()
