"""The instance a build works on, read and written with Core statements built once.

A build reads a few of an instance's columns under its row lock and sets a few others; an
ORM entity of all 44 columns, loaded into a session and written back by its flush, cost about
half of a build's CPU. ``locked`` reads the columns, and the behaviour its create chose for
the later hops, in one statement; the build sets attributes on the ``BuildingInstance`` as it
would on the entity, and ``write`` sends what it set in one UPDATE, in the same transaction.
"""

from __future__ import annotations

import datetime
import functools
from typing import Any

from sqlalchemy import Update, bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from refnova.behaviours import Applied
from refnova.db import models
from refnova.db.api import execute_core

_INSTANCES = models.table_of(models.Instance)
_BEHAVIOURS = models.table_of(models.InstanceBehaviour)
# What a build reads (the rest of the row it only writes, or leaves alone).
_READ = (
    "uuid",
    "vm_state",
    "task_state",
    "memory_mb",
    "root_gb",
    "ephemeral_gb",
    "availability_zone",
    "host",
)
# The instance's behaviour (``behaviours.for_instance``'s row) comes with it: the instance's
# row alone is locked (PostgreSQL refuses FOR UPDATE on an outer join's nullable side).
_LOCKED = (
    select(
        *(_INSTANCES.c[name] for name in _READ),
        _BEHAVIOURS.c.behaviour_id,
        _BEHAVIOURS.c.name.label("behaviour_name"),
        _BEHAVIOURS.c.parameters.label("behaviour_parameters"),
    )
    .select_from(
        _INSTANCES.outerjoin(_BEHAVIOURS, _BEHAVIOURS.c.instance_uuid == _INSTANCES.c.uuid)
    )
    .where(_INSTANCES.c.uuid == bindparam("building_uuid"))
    .with_for_update(of=_INSTANCES)
)


class BuildingInstance:
    """The columns a build reads, and the ones it set since (``changes``); ``behaviour``:
    the one its create chose for the later hops, if any."""

    uuid: str
    vm_state: str
    task_state: str | None
    memory_mb: int
    root_gb: int
    ephemeral_gb: int
    availability_zone: str | None
    host: str | None
    node: str | None
    power_state: int
    launched_at: datetime.datetime | None
    updated_at: datetime.datetime | None
    scheduled_at: datetime.datetime | None
    network_info: list[dict[str, Any]]

    def __init__(self, row: Any) -> None:
        object.__setattr__(self, "changes", {})
        for name in _READ:
            object.__setattr__(self, name, getattr(row, name))
        behaviour = None
        if row.behaviour_id is not None:
            parameters = dict(row.behaviour_parameters)
            behaviour = Applied(row.behaviour_id, row.behaviour_name, parameters)
        object.__setattr__(self, "behaviour", behaviour)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        self.changes[name] = value

    changes: dict[str, Any]
    behaviour: Applied | None


def locked(session: Session | Connection, instance_uuid: str) -> BuildingInstance | None:
    """The instance under its row lock (FOR UPDATE where the database has it) with its
    behaviour, or None."""
    row = execute_core(session, _LOCKED, {"building_uuid": instance_uuid}).first()
    return BuildingInstance(row) if row is not None else None


def write(session: Session | Connection, instance: BuildingInstance) -> None:
    """What the build set on ``instance``, in one UPDATE (nothing when it set nothing)."""
    if instance.changes:
        params = {"set_" + name: value for name, value in instance.changes.items()}
        params["building_uuid"] = instance.uuid
        execute_core(session, _update_of(tuple(instance.changes)), params)


@functools.lru_cache(maxsize=32)
def _update_of(names: tuple[str, ...]) -> Update:
    """The UPDATE of these columns (a build sets one of a few sets), built once each."""
    return (
        update(_INSTANCES)
        .where(_INSTANCES.c.uuid == bindparam("building_uuid"))
        .values({name: bindparam("set_" + name) for name in names})
    )
