"""The registered behaviours: registering one (checked first), the world's, and choosing the
one a request meets (first registered first; a sequence takes its next step)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from refnova.behaviours import spec
from refnova.behaviours.applied import Applied
from refnova.behaviours.criteria import RequestFacts
from refnova.db import api as db_api
from refnova.db import behaviours as db_behaviours


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


class Parsed:
    """The registered behaviours, each JSON text parsed once: kept by its owner (the compute
    API) from one create to the next, as (id, text) -> Behaviour. Every create reads the
    texts again (another process may have registered or removed one); only a text not seen
    before is parsed, and one no longer registered is dropped."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], spec.Behaviour] = {}

    def of(self, rows: Iterable[tuple[str, str]]) -> list[tuple[str, spec.Behaviour]]:
        """(id, Behaviour) for each (id, JSON text), in their order."""
        known = self._known
        current = {key: known.get(key) or spec.parse(json.loads(key[1])) for key in rows}
        self._known = current  # one assignment: a concurrent create parses at worst again
        return [(behaviour_id, behaviour) for (behaviour_id, _), behaviour in current.items()]


def registered(session: Session, parsed: Parsed | None = None) -> list[tuple[str, spec.Behaviour]]:
    """The registered behaviours in order, as (id, Behaviour), through ``parsed`` if given."""
    return (parsed or Parsed()).of(db_behaviours.texts_in_order(session))


def choose(
    session: Session,
    facts: RequestFacts,
    found: list[tuple[str, spec.Behaviour]] | None = None,
) -> Applied | None:
    """The first registered behaviour whose criteria match the request, a sequence's step
    taken; a used-up sequence matches nothing. None: no behaviour applies. ``found``: the
    registered behaviours, already read (``registered``)."""
    for behaviour_id, behaviour in registered(session) if found is None else found:
        applied = _applied(session, behaviour_id, behaviour, facts)
        if applied is not None:
            return applied
    return None


def _applied(
    session: Session, behaviour_id: str, behaviour: spec.Behaviour, facts: RequestFacts
) -> Applied | None:
    if not behaviour.criteria.matches(facts):
        return None
    if not behaviour.is_sequence:
        step = behaviour.step
    else:
        index = db_behaviours.take_step(
            session, behaviour_id, len(behaviour.steps), behaviour.cycle
        )
        if index is None:
            return None
        step = behaviour.steps[index]
    return Applied(behaviour_id, step.name, dict(step.parameters))
