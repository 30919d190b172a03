"""Availability zones and the services in them (Nova's ``nova/availability_zones.py``).

refnova has no services table: its services are the world's compute hosts (``nova-compute``
in the host's zone, disabled with the host) and the control services that every deployment
runs in Nova's internal zone. Nova lists zones in the order of its service rows; here the
internal services come first, then the hosts in the world's order, as a Nova deployment
registers them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from refnova.db import api as db_api
from refnova.db import resources as db_resources

INTERNAL_ZONE = "internal"  # CONF.internal_service_availability_zone
# (host, binary) of the services in the internal zone, named as Nova's own test deployment
# names them (one host per service).
INTERNAL_SERVICES = (("conductor", "nova-conductor"), ("scheduler", "nova-scheduler"))


class Service(NamedTuple):
    host: str
    binary: str
    availability_zone: str
    disabled: bool


class Zones(NamedTuple):
    available: list[str]
    not_available: list[str]
    services: list[Service]  # the enabled ones, in order


def services(db: db_api.Database) -> list[Service]:
    with db.transaction() as session:
        nodes = db_resources.compute_nodes(session)
        computes = [
            Service(node.host, "nova-compute", node.availability_zone, node.disabled)
            for node in nodes
        ]
    internal = [Service(host, binary, INTERNAL_ZONE, False) for host, binary in INTERNAL_SERVICES]
    return internal + computes


def get_availability_zones(db: db_api.Database) -> Zones:
    """Zones with an enabled service, then the zones that have only disabled ones."""
    every = services(db)
    enabled = [service for service in every if not service.disabled]
    available = _unique(service.availability_zone for service in enabled)
    not_available = [
        zone
        for zone in _unique(service.availability_zone for service in every if service.disabled)
        if zone not in available
    ]
    return Zones(available, not_available, enabled)


def _unique(zones: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for zone in zones:
        if zone not in seen:
            seen.append(zone)
    return seen
