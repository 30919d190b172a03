"""What a server's view reads: the instance, its flavor's API id and its metadata, each with
a Core statement built once.

A client waiting for a build polls ``GET /servers/{id}``; its three reads, as an ORM entity
load, an ORM ``get`` and a statement built per call, were about three quarters of the show's
own CPU, and these about a quarter of theirs. The instance comes back as a Core row: its
columns as attributes, as on the entity (``models.InstanceRecord``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from refnova import exception
from refnova.db import models
from refnova.db.api import execute_core

_INSTANCES = models.table_of(models.Instance)
_FLAVORS = models.table_of(models.Flavor)
_METADATA = models.table_of(models.InstanceMetadata)

_LIVE_INSTANCE = select(_INSTANCES).where(
    _INSTANCES.c.uuid == bindparam("shown_uuid"), _INSTANCES.c.deleted == 0
)
_PROJECT_INSTANCE = _LIVE_INSTANCE.where(_INSTANCES.c.project_id == bindparam("shown_project"))
_FLAVORID = select(_FLAVORS.c.flavorid).where(_FLAVORS.c.id == bindparam("shown_flavor"))
_METADATA_OF = select(_METADATA.c.key, _METADATA.c.value).where(
    _METADATA.c.instance_uuid == bindparam("shown_uuid")
)


def instance(
    session: Session | Connection, instance_uuid: str, project_id: str | None = None
) -> Row[Any]:
    """The live instance (of the project, if one is given); InstanceNotFound otherwise."""
    if project_id is None:
        row = execute_core(session, _LIVE_INSTANCE, {"shown_uuid": instance_uuid}).first()
    else:
        params = {"shown_uuid": instance_uuid, "shown_project": project_id}
        row = execute_core(session, _PROJECT_INSTANCE, params).first()
    if row is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    return row


def flavorid(session: Session | Connection, instance_type_id: int) -> str:
    """The API id of an instance's flavor (its row is never removed: flavors are
    soft-deleted)."""
    found = execute_core(session, _FLAVORID, {"shown_flavor": instance_type_id}).scalar_one()
    return str(found)


def metadata(session: Session | Connection, instance_uuid: str) -> dict[str, str]:
    rows = execute_core(session, _METADATA_OF, {"shown_uuid": instance_uuid})
    return {key: value for key, value in rows}
