"""Flavors as the compute API hands them on (Nova's ``nova/compute/flavors.py``)."""

from __future__ import annotations

from typing import Any

from refnova.db.models import FlavorRecord


def flavor_to_dict(flavor: FlavorRecord) -> dict[str, Any]:
    """The ``instance_type`` of the filter properties sent to the conductor."""
    return {
        "id": flavor.id,
        "flavorid": flavor.flavorid,
        "name": flavor.name,
        "memory_mb": flavor.memory_mb,
        "vcpus": flavor.vcpus,
        "root_gb": flavor.root_gb,
        "ephemeral_gb": flavor.ephemeral_gb,
        "swap": flavor.swap,
        "rxtx_factor": flavor.rxtx_factor,
        "vcpu_weight": flavor.vcpu_weight,
        "disabled": flavor.disabled,
        "is_public": flavor.is_public,
        "extra_specs": dict(flavor.extra_specs or {}),
        "deleted": bool(flavor.deleted),
    }


def system_metadata(flavor: FlavorRecord) -> dict[str, str | None]:
    """The ``instance_type_*`` keys Icehouse saved in each instance's system metadata."""
    return {
        "instance_type_" + key: (None if value is None else str(value))
        for key, value in (
            ("id", flavor.id),
            ("name", flavor.name),
            ("memory_mb", flavor.memory_mb),
            ("vcpus", flavor.vcpus),
            ("root_gb", flavor.root_gb),
            ("ephemeral_gb", flavor.ephemeral_gb),
            ("flavorid", flavor.flavorid),
            ("swap", flavor.swap),
            ("rxtx_factor", flavor.rxtx_factor),
            ("vcpu_weight", flavor.vcpu_weight),
        )
    }
