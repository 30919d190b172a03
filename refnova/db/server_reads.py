"""What a server's view reads: the instance, its flavor's API id and its metadata, each with
a Core statement built once.

A client waiting for a build polls ``GET /servers/{id}``; its three reads, as an ORM entity
load, an ORM ``get`` and a statement built per call, were about three quarters of the show's
own CPU, and these about a quarter of theirs. The instance comes back as a Core row: its
columns as attributes, as on the entity (``models.InstanceRecord``). Each takes a Session or
a Connection (a show reads on a Core connection, a list on its session).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from refnova import exception
from refnova.db import models
from refnova.db.api import execute_core

# What a view reads with: a show's Core connection, or a list's session.
Reader = Session | Connection

_INSTANCES = models.table_of(models.Instance)
_FLAVORS = models.table_of(models.Flavor)
_METADATA = models.table_of(models.InstanceMetadata)
_FAULTS = models.table_of(models.InstanceFault)

# The instance with its flavor's API id (``flavorid``): one statement, not two.
_LIVE_INSTANCE = (
    select(_INSTANCES, _FLAVORS.c.flavorid)
    .select_from(_INSTANCES.outerjoin(_FLAVORS, _FLAVORS.c.id == _INSTANCES.c.instance_type_id))
    .where(_INSTANCES.c.uuid == bindparam("shown_uuid"), _INSTANCES.c.deleted == 0)
)
_PROJECT_INSTANCE = _LIVE_INSTANCE.where(_INSTANCES.c.project_id == bindparam("shown_project"))
_FLAVOR = select(_FLAVORS).where(_FLAVORS.c.id == bindparam("shown_flavor"))
_FLAVORID = select(_FLAVORS.c.flavorid).where(_FLAVORS.c.id == bindparam("shown_flavor"))
_METADATA_OF = select(_METADATA.c.key, _METADATA.c.value).where(
    _METADATA.c.instance_uuid == bindparam("shown_uuid")
)
_LATEST_FAULT = (
    select(_FAULTS)
    .where(_FAULTS.c.instance_uuid == bindparam("shown_uuid"))
    .order_by(_FAULTS.c.id.desc())
    .limit(1)
)


def instance(session: Reader, instance_uuid: str, project_id: str | None = None) -> Row[Any]:
    """The live instance (of the project, if one is given), its flavor's ``flavorid`` with
    it; InstanceNotFound otherwise."""
    if project_id is None:
        row = execute_core(session, _LIVE_INSTANCE, {"shown_uuid": instance_uuid}).first()
    else:
        params = {"shown_uuid": instance_uuid, "shown_project": project_id}
        row = execute_core(session, _PROJECT_INSTANCE, params).first()
    if row is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    return row


def flavorid(session: Reader, instance: models.InstanceRecord) -> str:
    """The API id of an instance's flavor: the row ``instance`` read carries it, a list's
    entity has it read (the flavor's row is never removed: flavors are soft-deleted)."""
    carried = getattr(instance, "flavorid", None)
    if carried is not None:
        return str(carried)
    params = {"shown_flavor": instance.instance_type_id}
    return str(execute_core(session, _FLAVORID, params).scalar_one())


def flavor(session: Reader, instance_type_id: int) -> Row[Any]:
    """An instance's flavor, its columns as attributes (2.47 shows it embedded)."""
    return execute_core(session, _FLAVOR, {"shown_flavor": instance_type_id}).one()


def metadata(session: Reader, instance_uuid: str) -> dict[str, str]:
    rows = execute_core(session, _METADATA_OF, {"shown_uuid": instance_uuid})
    return {key: value for key, value in rows}


def latest_fault(session: Reader, instance_uuid: str) -> Row[Any] | None:
    """The instance's latest fault (its columns as attributes), if it has one."""
    return execute_core(session, _LATEST_FAULT, {"shown_uuid": instance_uuid}).first()
