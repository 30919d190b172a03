"""A server as today's Nova shows it at each microversion (show and detail).

The 2.1 body is ``views.today_show``'s; the controller hands it to ``apply``. Every later
microversion that changes it is one row of ``ROWS``: the version it starts at, and what it
adds or changes. A request's body is the 2.1 body with the rows its version reaches applied
in order, so a key's whole story is one line of the table. The index view (id, name,
links) does not change with the version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import webob
from sqlalchemy import select

from refnova.api.openstack.compute import image_properties, resource_versions
from refnova.api.openstack.microversions import APIVersion
from refnova.context import RequestContext
from refnova.db import instance_extras, models, server_reads
from refnova.db.models import InstanceRecord

Body = dict[str, Any]
_IMAGE_PREFIX = "image_"


@dataclass(frozen=True)
class Shown:
    """What a row may read: the request, its database session and the instance."""

    req: webob.Request
    session: server_reads.Reader
    instance: InstanceRecord
    context: RequestContext
    detail: bool  # GET /servers/detail rather than GET /servers/{id}

    def system_metadata(self) -> dict[str, str | None]:
        rows = self.session.execute(
            select(models.InstanceSystemMetadata.key, models.InstanceSystemMetadata.value).where(
                models.InstanceSystemMetadata.instance_uuid == self.instance.uuid
            )
        )
        return dict(rows.tuples().all())


Change = Callable[[Shown, Body], None]
Row = resource_versions.Row[Change]


def _extended_attributes(shown: Shown, server: Body) -> None:
    """2.3: the rest of the instance's attributes, for admins (the ec2 API's needs)."""
    if not shown.context.is_admin:
        return
    instance = shown.instance
    for name in ("hostname", "kernel_id", "launch_index", "ramdisk_id", "reservation_id"):
        server["OS-EXT-SRV-ATTR:" + name] = getattr(instance, name)
    server["OS-EXT-SRV-ATTR:root_device_name"] = instance.root_device_name
    server["OS-EXT-SRV-ATTR:user_data"] = instance.user_data


def _locked(shown: Shown, server: Body) -> None:
    server["locked"] = bool(shown.instance.locked)


def _host_status(shown: Shown, server: Body) -> None:
    """2.16: the state of the server's host, shown to admins only (Nova's default policy)."""
    if shown.context.is_admin:
        server["host_status"] = _status_of_host(shown.session, shown.instance.host)


def _status_of_host(session: server_reads.Reader, host: str | None) -> str:
    if not host:
        return ""
    found = session.execute(
        select(models.ComputeNode.disabled).where(models.ComputeNode.host == host)
    ).first()
    if found is None:
        return "UNKNOWN"
    return "MAINTENANCE" if found.disabled else "UP"


def _description(shown: Shown, server: Body) -> None:
    server["description"] = shown.instance.display_description


def _tags(shown: Shown, server: Body) -> None:
    server["tags"] = instance_extras.tags_of(shown.session, shown.instance.uuid)


def _embedded_flavor(shown: Shown, server: Body) -> None:
    """2.47: the flavor the server was built with instead of a link to it (its extra specs
    too: Nova's default policy lets the project's readers see them)."""
    flavor = server_reads.flavor(shown.session, shown.instance.instance_type_id)
    server["flavor"] = {
        "vcpus": flavor.vcpus,
        "ram": flavor.memory_mb,
        "disk": flavor.root_gb,
        "ephemeral": flavor.ephemeral_gb,
        "swap": flavor.swap,
        "original_name": flavor.name,
        "extra_specs": dict(flavor.extra_specs or {}),
    }


def _trusted_certs(shown: Shown, server: Body) -> None:
    certs = instance_extras.trusted_certs_of(shown.session, shown.instance.uuid)
    server["trusted_image_certificates"] = certs or None


def _server_groups(shown: Shown, server: Body) -> None:
    """2.71: the server's group, on show only (detail leaves it out to spare a query)."""
    if shown.detail:
        return
    groups = shown.session.scalars(
        select(models.InstanceGroup.uuid)
        .join(
            models.InstanceGroupMember,
            models.InstanceGroupMember.group_id == models.InstanceGroup.id,
        )
        .where(models.InstanceGroupMember.instance_id == shown.instance.uuid)
    )
    server["server_groups"] = list(groups)[:1]


def _locked_reason(shown: Shown, server: Body) -> None:
    server["locked_reason"] = shown.system_metadata().get("locked_reason")


def _hostname_for_users(shown: Shown, server: Body) -> None:
    """2.90: every user sees the hostname (admins have it from 2.3 already)."""
    if not shown.context.is_admin:
        server["OS-EXT-SRV-ATTR:hostname"] = shown.instance.hostname


def _pinned_availability_zone(shown: Shown, server: Body) -> None:
    """2.96: the zone the request asked for (None: the scheduler chose)."""
    server["pinned_availability_zone"] = shown.instance.availability_zone


def _image_properties(shown: Shown, server: Body) -> None:
    """2.98: the standard image properties the server was built with."""
    if not isinstance(server.get("image"), dict):
        return  # booted from a volume: the image is ""
    server["image"]["properties"] = {
        key[len(_IMAGE_PREFIX) :]: value
        for key, value in shown.system_metadata().items()
        if key.startswith(_IMAGE_PREFIX)
        and key[len(_IMAGE_PREFIX) :] in image_properties.STANDARD
        and value is not None
    }


def _scheduler_hints(shown: Shown, server: Body) -> None:
    """2.100: the hints the server was created with, each value a list ({}: none)."""
    server["scheduler_hints"] = instance_extras.scheduler_hints_of(
        shown.session, shown.instance.uuid
    )


ROWS: tuple[Row, ...] = resource_versions.rows(
    [
        ("2.3", _extended_attributes),
        ("2.9", _locked),
        ("2.16", _host_status),
        ("2.19", _description),
        ("2.26", _tags),
        ("2.47", _embedded_flavor),
        ("2.63", _trusted_certs),
        ("2.71", _server_groups),
        ("2.73", _locked_reason),
        ("2.90", _hostname_for_users),
        ("2.96", _pinned_availability_zone),
        ("2.98", _image_properties),
        ("2.100", _scheduler_hints),
    ]
)


def rows_at(version: APIVersion | None) -> tuple[Row, ...]:
    """The rows a request at ``version`` gets (None: 2.1, none of them)."""
    if version is None:
        return ()
    return tuple(row for row in ROWS if row.since <= version)


def apply(version: APIVersion | None, shown: Shown, server: Body) -> None:
    """Change a server's 2.1 body (``server``, in place) into its body at ``version``."""
    for row in rows_at(version):
        row.change(shown, server)
