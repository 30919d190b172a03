"""The registered behaviours: registering one (checked first), the world's, and choosing the
one a request meets (first registered first; a sequence takes its next step)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from refnova.behaviours import spec
from refnova.behaviours.applied import Applied
from refnova.behaviours.criteria import RequestFacts
from refnova.db import api as db_api
from refnova.db import behaviours as db_behaviours
from refnova.db import models


def register(session: Session, body: Any) -> str:
    """Check a behaviour's JSON (InvalidBehaviour names the problem) and register it last."""
    spec.parse(body)
    return db_behaviours.register(session, body)


def world_behaviours(world: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The world file's ``behaviours``, each checked, as (id, body): an entry's ``id`` or
    ``world-<index>``, so that every process starting on a database offers the same ids."""
    entries = world.get("behaviours") or []
    if not isinstance(entries, list):
        raise spec.InvalidBehaviour("The world's behaviours must be a list")
    found = []
    for index, entry in enumerate(entries):
        body = dict(entry) if isinstance(entry, dict) else entry
        behaviour_id = body.pop("id", None) if isinstance(body, dict) else None
        try:
            spec.parse(body)
        except spec.InvalidBehaviour as error:
            raise spec.InvalidBehaviour("behaviours[%d]: %s" % (index, error)) from None
        found.append((str(behaviour_id or "world-%d" % index), body))
    return found


def seed(db: db_api.Database, world: Mapping[str, Any]) -> None:
    """Register the world's behaviours that the database does not have yet."""
    found = world_behaviours(world)
    if found:
        with db.transaction() as session:
            db_behaviours.register_missing(session, found)


def choose(session: Session, facts: RequestFacts) -> Applied | None:
    """The first registered behaviour whose criteria match the request, a sequence's step
    taken; a used-up sequence matches nothing. None: no behaviour applies."""
    for row in db_behaviours.all_in_order(session):
        applied = _applied(session, row, facts)
        if applied is not None:
            return applied
    return None


def _applied(
    session: Session, row: models.RegisteredBehaviour, facts: RequestFacts
) -> Applied | None:
    behaviour = spec.parse(row.body)
    if not behaviour.criteria.matches(facts):
        return None
    if not behaviour.is_sequence:
        step = behaviour.step
    else:
        index = db_behaviours.take_step(session, row.id, len(behaviour.steps), behaviour.cycle)
        if index is None:
            return None
        step = behaviour.steps[index]
    return Applied(row.id, step.name, dict(step.parameters))
