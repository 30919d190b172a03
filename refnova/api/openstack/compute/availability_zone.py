"""``os-availability-zone`` (every zone but the internal one, and whether it is available)
and ``os-availability-zone/detail`` (admins: each available zone's hosts and services),
Nova's ``AvailabilityZoneController`` on both contracts."""

from __future__ import annotations

from typing import Any

import webob

from refnova import availability_zones, tracing
from refnova.api.openstack import contracts
from refnova.api.openstack.common import Answer
from refnova.api.openstack.compute import around, resource_versions
from refnova.db import api as db_api

DETAIL_POLICY = "compute_extension:availability_zone:detail"
# From 2.102 both routes refuse any query parameter (Nova's query schemas).
QUERY = resource_versions.query_rules(("2.102", (), True))


def _zone(name: str, available: bool, hosts: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"zoneName": name, "zoneState": {"available": available}, "hosts": hosts}


class Controller:
    def __init__(self, db: db_api.Database) -> None:
        self.db = db

    @tracing.traced("availability_zone.Controller.index")
    def index(self, req: webob.Request) -> Answer:
        resource_versions.check_query(req, QUERY)
        zones = availability_zones.get_availability_zones(self.db)
        info = [
            _zone(name, available)
            for names, available in ((zones.available, True), (zones.not_available, False))
            for name in names
            if name != availability_zones.INTERNAL_ZONE
        ]
        return 200, {"availabilityZoneInfo": info}, {}

    @tracing.traced("availability_zone.Controller.detail")
    def detail(self, req: webob.Request) -> Answer:
        resource_versions.check_query(req, QUERY)
        if not req.environ["nova.context"].is_admin:
            raise around.policy_refused(contracts.contract_of(req).around, DETAIL_POLICY)
        zones = availability_zones.get_availability_zones(self.db)
        info = [_zone(name, True, _hosts(zones, name)) for name in zones.available]
        info += [_zone(name, False) for name in zones.not_available]
        return 200, {"availabilityZoneInfo": info}, {}


def _hosts(zones: availability_zones.Zones, zone: str) -> dict[str, Any]:
    """host -> binary -> state, for the enabled services of the zone (all up)."""
    hosts: dict[str, Any] = {}
    for service in zones.services:
        if service.availability_zone == zone:
            hosts.setdefault(service.host, {})[service.binary] = {
                "available": True,
                "active": True,
                "updated_at": None,
            }
    return hosts
