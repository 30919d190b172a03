"""The behaviours that act at the conductor's hops: the cast, the scheduler and the compute.

A behaviour was chosen for an instance when the compute API created it (``refnova.behaviours``)
and stored with the instance, so any conductor process finds it. Here each kind acts where the
real failure happens, and marks the span of that hop (``behaviours.annotate``):

==================  ========================================================================
``lost-cast``       the cast is never published (``conductor.rpcapi``): no conductor ever
                    sees it, the server stays BUILD/scheduling
``duplicate-cast``  the same message published twice, as a broker redelivers one: two
                    CONSUMER spans, one build (a second delivery finds the instance past
                    scheduling and does nothing)
``no-valid-host``   the scheduler finds no host (``FilterScheduler._schedule``): Nova's
                    NoValidHost fault, recorded as the scheduler path records it
``error``           the hypervisor's spawn fails (``ComputeManager.run_instance``): the claim
                    is given back, the server ERROR with the fault Nova records
``build``           the spawn takes ``seconds``: BUILD/spawning, then ACTIVE
``active-then-error``  ACTIVE, then ERROR with a fault ``seconds`` later
==================  ========================================================================

The delayed transitions run on the conductor's timers (``refnova/conductor/timers.py``) in the
process whose conductor took the message, so no consumer thread waits for them. A conductor that
starts takes over those still to come (``unfinished``: a conductor stopped or killed before
their time dropped them), each at its time; when several do, the instance's row lock lets one
act and the others find nothing to do.
"""

from __future__ import annotations

import datetime
import traceback
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from refnova import behaviours, exception
from refnova.behaviours import Applied
from refnova.db import models

LOST_CAST = "lost-cast"
DUPLICATE_CAST = "duplicate-cast"
NO_VALID_HOST = "no-valid-host"
ERROR = "error"
BUILD = "build"
ACTIVE_THEN_ERROR = "active-then-error"
# How many copies of a cast the broker gets.
CAST_COPIES: Mapping[str, int] = {LOST_CAST: 0, DUPLICATE_CAST: 2}
COMPUTE_KINDS = (ERROR, BUILD, ACTIVE_THEN_ERROR)

annotate = behaviours.annotate


def acting(applied: Applied | None, *kinds: str) -> Applied | None:
    """The behaviour, if it is one of ``kinds`` (those that act at the caller's hop)."""
    return applied if applied is not None and applied.name in kinds else None


def cast_copies(applied: Applied | None) -> int:
    """How often the broker is to get the cast (1 unless a cast behaviour says otherwise)."""
    return CAST_COPIES.get(applied.name, 1) if applied is not None else 1


def seconds(applied: Applied) -> float:
    return float(applied.parameters.get("seconds", 0))


class BuildFailed(exception.NovaException):
    """The fake hypervisor's spawn failing, with the message and code the behaviour gives."""


def build_failure(applied: Applied) -> BuildFailed:
    """The exception the spawn raises for ``error`` (and the one ``active-then-error``'s
    later failure records)."""
    parameters = applied.parameters
    code = int(parameters.get("code") or 500)
    message = parameters.get("message") or BuildFailed.msg_fmt
    return BuildFailed(str(message), code=code)


def fault_from_exc(
    instance_uuid: str,
    error: exception.NovaException,
    now: datetime.datetime,
    details: str = "",
) -> models.InstanceFault:
    """Nova's ``compute_utils.add_instance_fault_from_exc``: the code of the exception (500
    if it names none), its message cut to 255 characters, and for a 500 the traceback as the
    details (Icehouse's ``_get_fault_details``) unless the behaviour gives details of its own."""
    code = int(error.kwargs.get("code", 500))
    if not details and code == 500 and error.__traceback__ is not None:
        details = "".join(traceback.format_tb(error.__traceback__))
    return models.InstanceFault(
        instance_uuid=instance_uuid,
        code=code,
        message=(error.format_message() or type(error).__name__)[:255],
        details=details,
        created_at=now,
    )


def details_of(applied: Applied | None) -> str:
    value: Any = applied.parameters.get("details") if applied is not None else ""
    return str(value)


# The state an instance waits in for its delayed transition, and the column its time runs from.
_WAITING = {
    BUILD: (("building", "spawning"), models.Instance.scheduled_at),
    ACTIVE_THEN_ERROR: (("active", None), models.Instance.launched_at),
}


def unfinished(session: Session) -> list[tuple[str, Applied, datetime.datetime]]:
    """The delayed transitions still to come: (instance uuid, behaviour, when it is due)."""
    found = []
    for kind, ((vm_state, task_state), since) in _WAITING.items():
        rows = session.execute(
            select(
                models.Instance.uuid,
                since,
                models.InstanceBehaviour.behaviour_id,
                models.InstanceBehaviour.parameters,
            )
            .join(
                models.InstanceBehaviour,
                models.InstanceBehaviour.instance_uuid == models.Instance.uuid,
            )
            .where(
                models.InstanceBehaviour.name == kind,
                models.Instance.deleted == 0,
                models.Instance.vm_state == vm_state,
                models.Instance.task_state.is_(None)
                if task_state is None
                else models.Instance.task_state == task_state,
            )
        ).all()
        for uuid, started, behaviour_id, parameters in rows:
            applied = Applied(behaviour_id, kind, dict(parameters))
            due = (started or models.utcnow()) + datetime.timedelta(seconds=seconds(applied))
            found.append((uuid, applied, due))
    return found
