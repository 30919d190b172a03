"""Instance quota: what a request takes, and how much of it fits (Nova's ``nova/quota.py``).

The counting itself is the database's (``db.reservations.quota_reserve`` raises
``OverQuota`` with the limits and the headroom); here is what the compute API asks of it and
the ``TooManyInstances`` it answers when nothing fits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from refnova import exception
from refnova.db.models import FlavorRecord

# A flavor's extra spec that reserves video RAM on top of the instance's memory.
VIDEO_RAM = "hw_video:ram_max_mb"


def video_ram(flavor: FlavorRecord) -> int:
    return int((flavor.extra_specs or {}).get(VIDEO_RAM) or 0)


def deltas(flavor: FlavorRecord, count: int) -> dict[str, int]:
    """What ``count`` instances of the flavor take from the quota."""
    return {
        "instances": count,
        "cores": count * flavor.vcpus,
        "ram": count * (flavor.memory_mb + video_ram(flavor)),
    }


def allowed_by_headroom(over: Mapping[str, Any], flavor: FlavorRecord, vram: int) -> int:
    """How many instances of the flavor the headroom of an OverQuota still admits."""
    quotas, headroom = over["quotas"], dict(over["headroom"])
    for resource, per_instance in (("cores", flavor.vcpus), ("ram", flavor.memory_mb + vram)):
        if quotas.get(resource) == -1:
            headroom[resource] = headroom["instances"] * per_instance
    allowed = headroom["instances"]
    if flavor.vcpus:
        allowed = min(allowed, headroom["cores"] // flavor.vcpus)
    if flavor.memory_mb:
        allowed = min(allowed, headroom["ram"] // (flavor.memory_mb + vram))
    return allowed


def too_many_instances(
    over: Mapping[str, Any], flavor: FlavorRecord, vram: int, min_count: int, max_count: int
) -> exception.NovaException:
    resource = over["overs"][0]
    used = over["quotas"][resource] - over["headroom"][resource]
    requested = {
        "instances": str(max_count) if min_count == max_count else "%d-%d" % (min_count, max_count),
        "cores": max_count * flavor.vcpus,
        "ram": max_count * (flavor.memory_mb + vram),
    }
    # Every resource over quota, for the contracts whose text lists them all (/v2.1).
    over_details = [
        (name, requested[name], over["quotas"][name] - over["headroom"][name], over["quotas"][name])
        for name in over["overs"]
    ]
    return exception.TooManyInstances(
        overs=",".join(over["overs"]),
        req=requested[resource],
        used=used,
        allowed=over["quotas"][resource],
        resource=resource,
        over_details=over_details,
    )
