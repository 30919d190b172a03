"""A behaviour as it acts on one request: ``Applied``, the one a create chose for an
instance (``for_instance``), and its mark on the span of the hop where it acts
(``annotate``), and ``InjectedFault``, the error an API-hop behaviour answers."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from opentelemetry.trace import Span
from sqlalchemy.orm import Session

from refnova import exception
from refnova.db import behaviours as db_behaviours

# The span event and attributes of a behaviour that acted.
EVENT = "refnova.behaviour"
EVENT_ID = "refnova.behaviour.id"
EVENT_NAME = "refnova.behaviour.name"
NOVA_BEHAVIOUR = "nova.behaviour"


@dataclasses.dataclass(frozen=True)
class Applied:
    """The behaviour acting on a request: its registered ``id``, the kind that acts
    (``name``; for a sequence, the kind of the step it took) and that kind's parameters,
    complete with their defaults."""

    id: str
    name: str
    parameters: Mapping[str, Any]


class InjectedFault(exception.NovaException):
    """An API-hop behaviour's error: its own status (``code``), fault key and message."""

    safe = True

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        super().__init__(parameters["message"])
        self.code = parameters["code"]
        self.kwargs["code"] = self.code
        self.fault = str(parameters["fault"])


def for_instance(session: Session, instance_uuid: str) -> Applied | None:
    """The behaviour the create of the instance chose for the later hops, if any."""
    row = db_behaviours.for_instance(session, instance_uuid)
    if row is None:
        return None
    return Applied(row.behaviour_id, row.name, dict(row.parameters))


def annotate(span: Span, applied: Applied) -> None:
    """Show on the span where the behaviour acted: the event ``refnova.behaviour`` with its
    id and name, and the attribute ``nova.behaviour``."""
    if not span.is_recording():
        return
    span.add_event(EVENT, {EVENT_ID: applied.id, EVENT_NAME: applied.name})
    span.set_attribute(NOVA_BEHAVIOUR, applied.name)
