"""Quota reservations in the database (Nova's ``quota_reserve``, ``reservation_commit`` and
``reservation_rollback``): the project's usage rows locked, one reservation per resource,
settled into ``in_use`` or given back; and usage released when a build will not come.

A project's limits are ``refnova.db.api.quota_limits``; what a request takes and what fits is
``refnova.quota``. The statements are Core statements built once: the ORM's per-statement
construction, bulk-persistence and session-synchronisation work cost several times the
statements themselves (benchmarks/README.md has the profile).
"""

import datetime
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from refnova import exception
from refnova.db import models
from refnova.db.api import execute_core

RESERVATION_TTL = datetime.timedelta(days=1)

_USAGES = models.table_of(models.QuotaUsage)
_RESERVATIONS = models.table_of(models.Reservation)
_SELECT_USAGES = (
    select(_USAGES.c.id, _USAGES.c.resource, _USAGES.c.in_use, _USAGES.c.reserved)
    .where(
        _USAGES.c.project_id == bindparam("project_id"),
        _USAGES.c.resource.in_(bindparam("resources", expanding=True)),
    )
    .order_by(_USAGES.c.resource)
    .with_for_update()
)
_RESERVE = (
    _USAGES.update()
    .where(_USAGES.c.id == bindparam("usage_id"))
    .values(reserved=_USAGES.c.reserved + bindparam("delta"))
)
# Settling reservations moves each one's delta out of its usage's ``reserved`` (and, on commit,
# into ``in_use``) in one statement: the deltas are read by correlated subqueries.
_RESERVED_DELTA = (
    select(func.sum(_RESERVATIONS.c.delta))
    .where(
        _RESERVATIONS.c.usage_id == _USAGES.c.id,
        _RESERVATIONS.c.uuid.in_(bindparam("uuids", expanding=True)),
    )
    .scalar_subquery()
)
_RESERVED_USAGES = _USAGES.c.id.in_(
    select(_RESERVATIONS.c.usage_id).where(
        _RESERVATIONS.c.uuid.in_(bindparam("uuids", expanding=True))
    )
)
_SETTLE_TO_IN_USE = (
    _USAGES.update()
    .where(_RESERVED_USAGES)
    .values(
        reserved=_USAGES.c.reserved - _RESERVED_DELTA, in_use=_USAGES.c.in_use + _RESERVED_DELTA
    )
)
_SETTLE_BACK = (
    _USAGES.update().where(_RESERVED_USAGES).values(reserved=_USAGES.c.reserved - _RESERVED_DELTA)
)
_DELETE_RESERVATIONS = _RESERVATIONS.delete().where(
    _RESERVATIONS.c.uuid.in_(bindparam("uuids", expanding=True))
)
_INSERT_RESERVATION = _RESERVATIONS.insert()


def _locked_usages(
    session: Session, project_id: str, resources: Sequence[str]
) -> dict[str, Row[Any]]:
    """The project's usage rows (id, resource, in_use, reserved) for these resources, created
    if missing, locked for update."""
    params = {"project_id": project_id, "resources": list(resources)}
    usages = {row.resource: row for row in execute_core(session, _SELECT_USAGES, params)}
    missing = [r for r in resources if r not in usages]
    if missing:
        session.execute(
            _insert_ignoring_conflicts(session, models.QuotaUsage),
            [
                {"project_id": project_id, "resource": r, "in_use": 0, "reserved": 0}
                for r in missing
            ],
        )
        usages = {row.resource: row for row in session.execute(_SELECT_USAGES, params)}
    return usages


def _insert_ignoring_conflicts(session: Session, model: type[models.Base]) -> Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model).on_conflict_do_nothing()
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(model).on_conflict_do_nothing()
    return insert(model).prefix_with("IGNORE")


def quota_reserve(
    session: Session, project_id: str, deltas: Mapping[str, int], limits: Mapping[str, int]
) -> list[str]:
    """Reserve ``deltas`` against ``limits``; Nova's semantics: in_use + reserved + delta.

    Raises OverQuota with the over-limit resources (sorted), the limits and the headroom.
    """
    usages = _locked_usages(session, project_id, sorted(deltas))
    headroom = {r: limits[r] - (usages[r].in_use + usages[r].reserved) for r in deltas}
    overs = sorted(
        r for r, delta in deltas.items() if delta > 0 and limits[r] >= 0 and delta > headroom[r]
    )
    if overs:
        raise exception.OverQuota(overs=overs, quotas=limits, headroom=headroom)
    expire = models.utcnow() + RESERVATION_TTL
    reservations = [
        {
            "uuid": str(uuid.uuid4()),
            "usage_id": usages[resource].id,
            "project_id": project_id,
            "resource": resource,
            "delta": delta,
            "expire": expire,
        }
        for resource, delta in deltas.items()
    ]
    execute_core(
        session, _RESERVE, [{"usage_id": r["usage_id"], "delta": r["delta"]} for r in reservations]
    )
    execute_core(session, _INSERT_RESERVATION, reservations)
    return [r["uuid"] for r in reservations]


def _settle_reservations(
    session: Session, reservation_uuids: Iterable[str], to_in_use: bool
) -> None:
    params = {"uuids": list(reservation_uuids)}
    execute_core(session, _SETTLE_TO_IN_USE if to_in_use else _SETTLE_BACK, params)
    execute_core(session, _DELETE_RESERVATIONS, params)


def reservation_commit(session: Session, reservation_uuids: Iterable[str]) -> None:
    _settle_reservations(session, reservation_uuids, to_in_use=True)


def reservation_rollback(session: Session, reservation_uuids: Iterable[str]) -> None:
    _settle_reservations(session, reservation_uuids, to_in_use=False)


def quota_release(session: Session, project_id: str, deltas: Mapping[str, int]) -> None:
    """Give back usage that a failed build had committed."""
    for resource, delta in deltas.items():
        session.execute(
            update(models.QuotaUsage)
            .where(
                models.QuotaUsage.project_id == project_id, models.QuotaUsage.resource == resource
            )
            .values(in_use=models.QuotaUsage.in_use - delta)
        )
