"""The behaviours' rows: the registered behaviours in order, a sequence's step advanced in
one statement (so that API processes sharing the database share the step), and the behaviour
each instance was created with."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Row, Text, bindparam, cast, delete, insert, select, text, update
from sqlalchemy.orm import Session

from refnova.db import models
from refnova.db.api import SCHEMA_LOCK_KEY, execute_core

_BEHAVIOURS = models.table_of(models.RegisteredBehaviour)
_INSTANCE_BEHAVIOURS = models.table_of(models.InstanceBehaviour)


def new_id() -> str:
    return str(uuid.uuid4())


def register(session: Session, body: Mapping[str, Any], behaviour_id: str | None = None) -> str:
    """Add a behaviour (its JSON checked by the caller) after every registered one."""
    behaviour_id = behaviour_id or new_id()
    session.execute(insert(_BEHAVIOURS).values(id=behaviour_id, body=dict(body), step=0))
    return behaviour_id


def register_missing(session: Session, bodies: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """Register each (id, body) whose id is not registered yet: the world's behaviours, which
    every process starting on the database offers (under the schema lock, one at a time)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
    known = set(session.scalars(select(_BEHAVIOURS.c.id)))
    for behaviour_id, body in bodies:
        if behaviour_id not in known:
            register(session, body, behaviour_id)


# The JSON as the database keeps it, not decoded: the registry parses a text it has not seen.
_TEXTS_IN_ORDER = select(_BEHAVIOURS.c.id, cast(_BEHAVIOURS.c.body, Text)).order_by(
    _BEHAVIOURS.c.position
)


def texts_in_order(session: Session) -> list[tuple[str, str]]:
    """(id, JSON text) of every registered behaviour, first registered first: one Core read
    on the session's connection (no ORM execution), which a create makes whether any is
    registered or, as mostly, none."""
    rows = execute_core(session, _TEXTS_IN_ORDER, {})
    return [(behaviour_id, body) for behaviour_id, body in rows]


def all_in_order(session: Session) -> Sequence[models.RegisteredBehaviour]:
    return session.scalars(
        select(models.RegisteredBehaviour).order_by(models.RegisteredBehaviour.position)
    ).all()


def get(session: Session, behaviour_id: str) -> models.RegisteredBehaviour | None:
    return session.scalar(
        select(models.RegisteredBehaviour).where(models.RegisteredBehaviour.id == behaviour_id)
    )


def remove(session: Session, behaviour_id: str) -> bool:
    """Unregister a behaviour; instances it was chosen for keep what they were given."""
    result = session.execute(delete(_BEHAVIOURS).where(_BEHAVIOURS.c.id == behaviour_id))
    return bool(getattr(result, "rowcount", 0))


def take_step(session: Session, behaviour_id: str, steps: int, cycle: bool) -> int | None:
    """The index of the sequence step this request takes, the step counter advanced in the
    same statement (UPDATE ... RETURNING: no two requests take one step, whichever process
    they reach). A sequence run once and used up gives None."""
    statement = update(_BEHAVIOURS).where(_BEHAVIOURS.c.id == behaviour_id)
    if not cycle:
        statement = statement.where(_BEHAVIOURS.c.step < steps)
    taken = session.execute(
        statement.values(step=_BEHAVIOURS.c.step + 1).returning(_BEHAVIOURS.c.step)
    ).scalar()
    return None if taken is None else (taken - 1) % steps


def store_for_instances(
    session: Session,
    instance_uuids: Sequence[str],
    behaviour_id: str,
    name: str,
    parameters: Mapping[str, Any],
) -> None:
    """Remember the behaviour chosen for the instances of a create (in its transaction)."""
    session.execute(
        insert(_INSTANCE_BEHAVIOURS),
        [
            {
                "instance_uuid": instance_uuid,
                "behaviour_id": behaviour_id,
                "name": name,
                "parameters": dict(parameters),
                "acted": 0,
            }
            for instance_uuid in instance_uuids
        ],
    )


# Every build asks (most instances have none): one Core statement built once, no ORM load.
_FOR_INSTANCE = select(
    _INSTANCE_BEHAVIOURS.c.behaviour_id,
    _INSTANCE_BEHAVIOURS.c.name,
    _INSTANCE_BEHAVIOURS.c.parameters,
).where(_INSTANCE_BEHAVIOURS.c.instance_uuid == bindparam("behaviour_instance"))


def for_instance(session: Session, instance_uuid: str) -> Row[Any] | None:
    """The instance's behaviour row (behaviour_id, name, parameters), if it has one."""
    return execute_core(session, _FOR_INSTANCE, {"behaviour_instance": instance_uuid}).first()


def act_within(session: Session, instance_uuid: str, times: int) -> bool:
    """Count one act of the instance's bounded behaviour, if it has acted fewer than
    ``times`` times (one statement, as ``take_step``): whether it acts now."""
    acted = session.execute(
        update(_INSTANCE_BEHAVIOURS)
        .where(
            _INSTANCE_BEHAVIOURS.c.instance_uuid == instance_uuid,
            _INSTANCE_BEHAVIOURS.c.acted < times,
        )
        .values(acted=_INSTANCE_BEHAVIOURS.c.acted + 1)
        .returning(_INSTANCE_BEHAVIOURS.c.acted)
    ).scalar()
    return acted is not None
