"""The service catalog a token carries, laid out as devstack's.

One region, ``RegionOne``; each service has a public, an internal and an admin endpoint
with the same URL: ``<root>/identity``, ``<root>/v2.1`` (compute), ``<root>/image`` and
``<root>/networking``, where ``<root>`` is the URL the server was reached at or the
configured public URL. A service that refnova does not serve itself (``--glance-url``,
``--neutron-url``) is listed at its real URL. Service and endpoint ids are derived from
the service type and interface, so that every process (and every run) gives the same ones.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from typing import Any

REGION = "RegionOne"
INTERFACES = ("public", "internal", "admin")
_NAMESPACE = uuid.UUID("1b4e28ba-2fa1-11d2-883f-0016d3cca427")


@dataclasses.dataclass(frozen=True)
class Service:
    type: str
    name: str
    path: str  # under the root URL


SERVICES = (
    Service("identity", "keystone", "/identity"),
    Service("compute", "nova", "/v2.1"),
    Service("image", "glance", "/image"),
    Service("network", "neutron", "/networking"),
)


def service_urls(root: str, outside: Mapping[str, str | None]) -> dict[str, str]:
    """type -> endpoint URL: under ``root``, unless ``outside`` names a real service's URL."""
    base = root.rstrip("/")
    return {
        service.type: (outside.get(service.type) or base + service.path).rstrip("/")
        for service in SERVICES
    }


def build_catalog(urls: Mapping[str, str]) -> list[dict[str, Any]]:
    """Keystone's v3 catalog (``get_v3_catalog``) for these endpoint URLs."""
    return [
        {
            "endpoints": [
                _endpoint(service, interface, urls[service.type]) for interface in INTERFACES
            ],
            "id": _stable_id(service.type),
            "type": service.type,
            "name": service.name,
        }
        for service in SERVICES
        if service.type in urls
    ]


def _endpoint(service: Service, interface: str, url: str) -> dict[str, str]:
    return {
        "id": _stable_id("%s:%s" % (service.type, interface)),
        "interface": interface,
        "region_id": REGION,
        "url": url,
        "region": REGION,
    }


def _stable_id(name: str) -> str:
    return uuid.uuid5(_NAMESPACE, "refnova:" + name).hex
