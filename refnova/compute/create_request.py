"""A create request as ``_create_instance`` works it out before it writes any row, and what
each of its instances is made of: the helpers of Nova's compute API that need no service
(``_apply_instance_name_template``, the instance values, ``_build_filter_properties``)."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from refnova import utils
from refnova.behaviours import Applied
from refnova.block_device import BlockDeviceDict
from refnova.compute import flavors
from refnova.compute import utils as compute_utils
from refnova.context import RequestContext
from refnova.db import models

# What the compute API gives back of each instance it made: the values of its row and more.
InstanceValues = dict[str, Any]


@dataclasses.dataclass
class CreateRequest:
    """What _create_instance works out before it writes any row."""

    context: RequestContext
    flavor: models.FlavorRecord
    image_id: str | None
    boot_meta: dict[str, Any]
    base_options: dict[str, Any]
    block_device_mapping: list[BlockDeviceDict]
    min_count: int
    max_count: int
    security_groups: list[str]
    scheduler_hints: Any  # the request's JSON as given (a dict unless /v2.1 passed it through)
    forced_host: str | None
    forced_node: str | None
    # 2.74's host and/or node: a destination the scheduler's filters still check.
    requested_destination: dict[str, str] | None = None
    # Today's Nova: placement claims every build's resources, a forced host's too.
    placement: bool = False
    group: models.InstanceGroup | None = None
    behaviour: Applied | None = None  # for the hops after the API (refnova.behaviours)


def instance_values(
    request: CreateRequest, index: int, num_instances: int, name_template: str
) -> InstanceValues:
    """The values of the request's instance number ``index``: its row and the rest."""
    base = request.base_options
    instance_uuid = str(uuid.uuid4())
    name = base["display_name"]
    if num_instances > 1:
        name = apply_instance_name_template(name_template, name, instance_uuid, index)
    properties = request.boot_meta.get("properties", {})
    has_mappings = bool(
        request.block_device_mapping
        or properties.get("mappings")
        or properties.get("block_device_mapping")
    )
    return {
        **base,
        "uuid": instance_uuid,
        "launch_index": index,
        "display_name": name,
        # 2.90: the hostname asked for (one instance only), else the name's.
        "hostname": base.get("hostname") or utils.sanitize_hostname(name),
        "task_state": "scheduling",
        "shutdown_terminate": not has_mappings,
        "security_groups": list(request.security_groups),
        "system_metadata": {
            **base["system_metadata"],
            **compute_utils.image_system_metadata(request.image_id, request.boot_meta),
        },
        "created_at": models.utcnow(),
    }


def apply_instance_name_template(template: str, name: str, instance_uuid: str, index: int) -> str:
    params = {"name": name, "uuid": instance_uuid, "count": index + 1}
    try:
        return template % params
    except (KeyError, TypeError):
        return name


def build_filter_properties(request: CreateRequest) -> dict[str, Any]:
    flavor = request.flavor
    properties = {
        "scheduler_hints": request.scheduler_hints,
        "instance_type": flavors.flavor_to_dict(flavor),
    }
    if request.forced_host:
        properties["force_hosts"] = [request.forced_host]
    if request.forced_node:
        properties["force_nodes"] = [request.forced_node]
    if request.requested_destination:
        properties["requested_destination"] = request.requested_destination
    if request.placement and (request.forced_host or request.forced_node):
        properties["placement"] = True
    return properties
