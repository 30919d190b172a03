"""What later microversions add to a server's rows: its tags (2.52), its trusted image
certificates (2.63) and its scheduler hints (2.100), written with the instance and read for
the views."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from refnova.db import models
from refnova.db.api import execute_core

_INSERT_TAGS = models.table_of(models.Tag).insert()
_INSERT_EXTRAS = models.table_of(models.InstanceExtra).insert()


def create(
    session: Session, tags: Sequence[Mapping[str, Any]], extras: Sequence[Mapping[str, Any]]
) -> None:
    """Insert new instances' tag rows and extra rows (one statement per table)."""
    if tags:
        execute_core(session, _INSERT_TAGS, tags)
    if extras:
        execute_core(session, _INSERT_EXTRAS, extras)


def tags_of(session: Session | Connection, instance_uuid: str) -> list[str]:
    """A server's tags, sorted as Nova's tag list answers them."""
    found = session.scalars(select(models.Tag.tag).where(models.Tag.resource_id == instance_uuid))
    return sorted(found)


def scheduler_hints_of(session: Session | Connection, instance_uuid: str) -> dict[str, list[Any]]:
    """The scheduler hints a server was created with (each value a list), or {}."""
    found = session.scalars(
        select(models.InstanceExtra.scheduler_hints).where(
            models.InstanceExtra.instance_uuid == instance_uuid
        )
    ).first()
    return dict(found or {})


def trusted_certs_of(session: Session | Connection, instance_uuid: str) -> list[str] | None:
    """The trusted image certificate ids a server was created with, or None."""
    return session.scalars(
        select(models.InstanceExtra.trusted_certs).where(
            models.InstanceExtra.instance_uuid == instance_uuid
        )
    ).first()
