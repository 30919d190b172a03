"""Real Nova errors by name, to inject with ``{"parameters": {"preset": "<name>"}}``.

Each preset is the status, fault key and message Nova itself gives (on /v2, as Icehouse did),
and where the text comes from: a row of the Icehouse spec (``docs/icehouse-create-path.md``)
that a golden fixture pins, or Nova 2014.1's own source. A preset fills the parameters its
kind has (``code``, ``fault`` and ``message`` for ``fail`` and ``false-negative``; ``code`` and
``message`` for the server faults of ``error`` and ``active-then-error``); the parameters
given beside it win. The ids in the texts are the reference world's (``fixtures/world.json``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from refnova.exception import GENERIC_TEXT

# Nova's generic texts (WebOb 1.3's explanations, which FaultWrapper answers with).
COMPUTE_FAULT = GENERIC_TEXT[500]
SERVICE_UNAVAILABLE = GENERIC_TEXT[503]


@dataclasses.dataclass(frozen=True)
class Preset:
    code: int
    fault: str
    message: str
    source: str


def _quota(resource: str, requested: int, limit: int) -> str:
    return "Quota exceeded for %s: Requested %d, but already used %d of %d %s" % (
        resource,
        requested,
        limit,
        limit,
        resource,
    )


PRESETS: Mapping[str, Preset] = {
    "ComputeFault": Preset(
        500,
        "computeFault",
        COMPUTE_FAULT,
        "Nova 2014.1 source: nova/api/openstack/__init__.py FaultWrapper._error",
    ),
    "ServiceUnavailable": Preset(
        503,
        "serviceUnavailable",
        SERVICE_UNAVAILABLE,
        "Nova 2014.1 source: nova/api/openstack/wsgi.py Fault (webob HTTPServiceUnavailable)",
    ),
    "NoValidHost": Preset(
        500,
        "computeFault",
        "No valid host was found. ",
        "Nova 2014.1 source: nova/scheduler/filter_scheduler.py schedule_run_instance "
        "(NoValidHost(reason=''), nova/exception.py)",
    ),
    "QuotaInstances": Preset(
        413,
        "overLimit",
        _quota("instances", 1, 10),
        "docs/icehouse-create-path.md §2.4 A24 (fixtures/v2/A24-quota-instances.json)",
    ),
    "QuotaCores": Preset(
        413,
        "overLimit",
        _quota("cores", 1, 20),
        "docs/icehouse-create-path.md §2.4 A24 (fixtures/v2/A24-quota-cores.json)",
    ),
    "QuotaRam": Preset(
        413,
        "overLimit",
        _quota("ram", 512, 51200),
        "docs/icehouse-create-path.md §2.4 A24 (fixtures/v2/A24-quota-ram.json)",
    ),
    "QuotaMetadataItems": Preset(
        413,
        "overLimit",
        "Maximum number of metadata items exceeds 128",
        "docs/icehouse-create-path.md §2.4 A14b (fixtures/v2/A14b-metadata-too-many-items.json)",
    ),
    "QuotaPorts": Preset(
        413,
        "overLimit",
        "Maximum number of ports exceeded",
        "docs/icehouse-create-path.md §2.4 A22 (fixtures/v2/A22-port-quota.json)",
    ),
    "PortInUse": Preset(
        409,
        "conflictingRequest",
        "Port 88c6e0f6-5a79-4d4e-9a55-2a1c1d0e7b3a is still in use.",
        "docs/icehouse-create-path.md §2.4 A18 (fixtures/v2/A18-port-in-use.json)",
    ),
    "ImageNotActive": Preset(
        400,
        "badRequest",
        "Image a2459075-d96c-40d5-893e-577ff92e721c is not active.",
        "docs/icehouse-create-path.md §2.4 A16a (fixtures/v2/A16a-image-not-active.json)",
    ),
    "BuildTimeout": Preset(
        500,
        "computeFault",
        "Instance build timed out. Set to error state.",
        "Nova 2014.1 source: nova/compute/manager.py ComputeManager._check_instance_build_time "
        "(its log line: Icehouse sets the server ERROR and records no fault)",
    ),
    "InstanceSpawnFailed": Preset(
        500,
        "computeFault",
        "Instance failed to spawn",
        "Nova 2014.1 source: nova/compute/manager.py ComputeManager._spawn (its log line)",
    ),
}


def default_message(kind: str, code: int) -> str:
    """A server fault's default is Nova's spawn failure; an API error's is Nova's generic
    text for its status (the 500's for a status WebOb gives none)."""
    if kind in ("error", "active-then-error"):
        return PRESETS["InstanceSpawnFailed"].message
    return GENERIC_TEXT.get(code, COMPUTE_FAULT)


def fields(name: str, table: Mapping[str, Any]) -> dict[str, Any]:
    """The preset's values for the parameters the kind's table has."""
    preset = PRESETS[name]
    values = {"code": preset.code, "fault": preset.fault, "message": preset.message}
    return {key: value for key, value in values.items() if key in table}
