"""Behaviours at the compute API (``refnova.behaviours``): the one a create meets, chosen in
the transaction that writes its rows (``Provisioning._provision_instances``), and the kinds that
act at this hop.

- ``fail``: the error, no server made; ``quota``: Nova's own quota error for the resource,
  as if its usage were full (the contract answers it as any quota overrun: /v2 413 with
  ``Retry-After: 0``, /v2.1 403); ``database-down``: the database error a create meets when
  its database is away, taking the path a real one takes.
- ``broker-down``: the cast fails as when the broker cannot be reached (the instances are
  made, then ERROR with a fault and their quota given back: the existing 503 path).
- ``false-negative``: the server is built, the answer is the error.
- ``delete-failure``: the server's first ``times`` deletes answer ``code``.

Each marks the compute API's span where it acts (``behaviours.annotate``). The kinds of the
later hops (conductor, cast) are stored with the instance rows for those hops to act on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.orm import Session

from refnova import behaviours, exception, quota, tracing
from refnova.behaviours import Applied, InjectedFault, presets, spec
from refnova.compute.create_request import CreateRequest
from refnova.db import api as db_api
from refnova.db import behaviours as db_behaviours

Limits = Mapping[str, int]
# The reason the cast gives when the broker cannot be reached (refnova/messaging/client.py).
BROKER_DOWN = "the message broker could not be reached"
# The driver's error under SQLAlchemy's, as a real outage raises it (the log says it is one).
DATABASE_DOWN = "could not connect to the database: Connection refused (behaviour database-down)"


class DatabaseDown(sqlalchemy_exc.OperationalError):
    """The error SQLAlchemy raises when the database cannot be reached."""

    def __init__(self) -> None:
        super().__init__("SELECT 1", None, ConnectionRefusedError(DATABASE_DOWN))


def create_facts(request: CreateRequest) -> behaviours.RequestFacts:
    """What a create tells its behaviour's criteria (metadata values not texts: unmatched)."""
    metadata = request.base_options.get("metadata") or {}
    return behaviours.RequestFacts(
        server_name=str(request.base_options.get("display_name") or ""),
        metadata={key: value for key, value in metadata.items() if isinstance(value, str)},
        flavor=str(request.flavor.flavorid),
        image=request.image_id or "",
        project=request.context.project_id or "",
        user=request.context.user_id or "",
    )


def choose(
    session: Session,
    parsed: behaviours.Parsed,
    quotas: Mapping[str, int],
    request: CreateRequest,
) -> Exception | None:
    """The behaviour the create meets, kept on the request (its sequence step taken in the
    create's transaction); for a kind that refuses the create here, the error to answer,
    raised by the caller once the transaction has kept the step. ``parsed``: the compute
    API's, so that each registered behaviour is parsed once."""
    found = behaviours.registered(session, parsed)
    if not found:
        return None
    request.behaviour = applied = behaviours.choose(session, create_facts(request), found)
    if applied is None or applied.name not in BEFORE_CREATE:
        return None
    behaviours.annotate(tracing.current_span(), applied)
    limits = db_api.quota_limits(session, dict(quotas), request.context.project_id)
    return BEFORE_CREATE[applied.name](applied, request, limits)


def _fail(applied: Applied, _create: CreateRequest, _limits: Limits) -> Exception:
    return InjectedFault(applied.parameters)


def _quota(applied: Applied, create: CreateRequest, limits: Limits) -> Exception:
    """Nova's TooManyInstances for the request, the resource's usage at its limit (an
    unlimited one, -1, is stated as Nova states a quota of 0)."""
    resource = applied.parameters["resource"]
    quotas = {name: max(limits.get(name, 0), 0) for name in spec.QUOTA_RESOURCES}
    headroom = dict(quotas, **{resource: 0})
    over = {"overs": [resource], "quotas": quotas, "headroom": headroom}
    flavor = create.flavor
    return quota.too_many_instances(
        over, flavor, quota.video_ram(flavor), create.min_count, create.max_count
    )


def _database_down(_applied: Applied, _create: CreateRequest, _limits: Limits) -> Exception:
    return DatabaseDown()


BEFORE_CREATE: Mapping[str, Callable[[Applied, CreateRequest, Limits], Exception]] = {
    "fail": _fail,
    "quota": _quota,
    "database-down": _database_down,
}
# Kinds whose act comes after the rows are written: they are stored with the instances.
STORED_HOPS = (spec.HOP_CONDUCTOR, spec.HOP_CAST, spec.HOP_DELETE)


def store(session: Session, applied: Applied | None, instance_uuids: list[str]) -> None:
    """Keep the behaviour of a later hop with the instances (in the create's transaction)."""
    if applied is not None and behaviours.KINDS[applied.name].hop in STORED_HOPS:
        db_behaviours.store_for_instances(
            session, instance_uuids, applied.id, applied.name, applied.parameters
        )


def before_cast(applied: Applied | None) -> None:
    """``broker-down``: the cast fails as a broker out of reach fails it."""
    if applied is not None and applied.name == "broker-down":
        behaviours.annotate(tracing.current_span(), applied)
        raise exception.ServiceUnavailable(reason=BROKER_DOWN)


def after_cast(applied: Applied | None) -> None:
    """``false-negative``: the build is on its way; the answer is the error."""
    if applied is not None and applied.name == "false-negative":
        behaviours.annotate(tracing.current_span(), applied)
        raise InjectedFault(applied.parameters)


def delete_refusal(session: Session, instance_uuid: str) -> Exception | None:
    """``delete-failure``: the server's first ``times`` deletes answer ``code``. Asked in the
    delete's transaction once its row is locked; the caller commits the count, then raises."""
    applied = behaviours.for_instance(session, instance_uuid)
    if applied is None or applied.name != "delete-failure":
        return None
    if not db_behaviours.act_within(session, instance_uuid, applied.parameters["times"]):
        return None
    behaviours.annotate(tracing.current_span(), applied)
    code = applied.parameters["code"]
    return InjectedFault(
        {
            "code": code,
            "fault": exception.fault_key_for(code),
            "message": presets.default_message("delete-failure", code),
        }
    )
