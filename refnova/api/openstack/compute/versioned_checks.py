"""The /v2.1 create checks that change with the microversion (Nova 34.0.0's
``ServersController.create``), each named in ``contracts.V21_STEPS`` with its range.

The schema of the request's version (``schemas/create_versions.py``) has settled the types;
these checks read what it let through, as Nova's controller does after its
``api_version_request.is_supported`` tests.
"""

from __future__ import annotations

from typing import Any

from refnova.api.openstack.compute.server_checks import Server, bad_request
from refnova.api.openstack.microversions import VersionRange

# Today's ranges, named once; the open ones end at the highest version refnova implements.
HIGHEST = "2.104"
BEFORE_2_19 = VersionRange("2.1", "2.18")
FROM_2_19 = VersionRange("2.19", HIGHEST)
FROM_2_52 = VersionRange("2.52", HIGHEST)
FROM_2_63 = VersionRange("2.63", HIGHEST)
FROM_2_74 = VersionRange("2.74", HIGHEST)
FROM_2_90 = VersionRange("2.90", HIGHEST)

MUTUALLY_EXCLUSIVE_HOSTS = (
    "One mechanism with host and/or hypervisor_hostname and another mechanism with "
    "zone:host:node are mutually exclusive."
)


def name_as_description(server: Server, body: Any, config: Any) -> str:
    """Before 2.19 a server's description is its name (normalized)."""
    return str(server["name"]).strip()


def description(server: Server, body: Any, config: Any) -> str | None:
    """2.19: the description given, or none (null is allowed)."""
    return server.get("description")


def tags(server: Server, body: Any, config: Any) -> list[str] | None:
    """2.52: the server's tags, or None."""
    return server.get("tags")


def trusted_certs(server: Server, body: Any, config: Any) -> list[str] | None:
    """2.63: the trusted image certificate ids; an empty or null list is none."""
    return server.get("trusted_image_certificates") or None


def hostname(server: Server, body: Any, config: Any) -> str | None:
    """2.90: the guest's hostname (2.94: a fully qualified one may be given)."""
    return server.get("hostname")


def requested_destination(server: Server, body: Any, config: Any) -> tuple[Any, Any]:
    """2.74: ``host`` and ``hypervisor_hostname``; not together with ``zone:host:node``
    (the compute API decides whether the caller may ask, and whether they exist)."""
    host, node = server.get("host"), server.get("hypervisor_hostname")
    zone = server.get("availability_zone")
    if (host or node) and isinstance(zone, str) and _forces_host(zone):
        raise bad_request(MUTUALLY_EXCLUSIVE_HOSTS)
    return host, node


def _forces_host(zone: str) -> bool:
    """Whether a legacy ``zone:host[:node]`` names a host or a node."""
    parts = zone.split(":")
    return len(parts) > 1 and any(parts[1:])
