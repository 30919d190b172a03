"""Helpers of the compute API that need none of its services (Nova's ``compute/utils.py``):
what an instance inherits from its image, and the rows of a request gathered for insert."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from refnova import block_device, utils
from refnova.db import models


def root_device_name(properties: Mapping[str, Any]) -> Any:
    """The image's root device: its own property, else the 'root' entry of its mappings."""
    root = None
    for mapping in properties.get("mappings", []) or []:
        if isinstance(mapping, dict) and mapping.get("virtual") == "root":
            root = mapping.get("device")
    return properties.get("root_device_name", root)


def inherit_properties_from_image(
    properties: Mapping[str, Any], auto_disk_config: Any
) -> dict[str, Any]:
    if auto_disk_config is None:
        auto_disk_config = utils.bool_from_string(properties.get("auto_disk_config"))
    return {
        "os_type": properties.get("os_type"),
        "architecture": properties.get("architecture"),
        "vm_mode": properties.get("vm_mode"),
        "auto_disk_config": auto_disk_config,
    }


def image_system_metadata(image_id: str | None, image: Mapping[str, Any]) -> dict[str, str]:
    """The ``image_*`` keys of an instance's system metadata."""
    values = {
        "image_" + key: utils.py2_str(value)[:255]
        for key, value in (image.get("properties") or {}).items()
        if value is not None
    }
    for key in ("min_ram", "min_disk", "disk_format", "container_format"):
        if image.get(key) is not None:
            values["image_" + key] = str(image[key])
    if image_id:
        values["image_base_image_ref"] = image_id
    return values


class InstanceRows:
    """The rows of a request's instances, gathered for one insert per table."""

    INSTANCE_COLUMNS = frozenset(c.name for c in models.Instance.__table__.columns) - {"id"}

    def __init__(self) -> None:
        self.instances: list[dict[str, Any]] = []
        self.metadata: list[dict[str, Any]] = []
        self.system_metadata: list[dict[str, Any]] = []
        self.bdms: list[dict[str, Any]] = []
        self.group_members: list[dict[str, Any]] = []
        self.tags: list[dict[str, Any]] = []  # 2.52
        self.extras: list[dict[str, Any]] = []  # 2.63's trusted certificates, the hints

    def add(
        self,
        instance: Mapping[str, Any],
        flavor: models.FlavorRecord,
        mappings: Sequence[block_device.BlockDeviceDict],
        scheduler_hints: Mapping[str, Any] | None = None,
    ) -> None:
        instance_uuid = instance["uuid"]
        # The hints as Nova's request spec keeps them: each value a list (shown from 2.100).
        hints = {k: v if isinstance(v, list) else [v] for k, v in (scheduler_hints or {}).items()}
        self.instances.append(
            {k: v for k, v in instance.items() if k in self.INSTANCE_COLUMNS}
            | {"auto_disk_config": bool(instance.get("auto_disk_config"))}
        )
        self.metadata.extend(
            {"instance_uuid": instance_uuid, "key": k, "value": v}
            for k, v in instance["metadata"].items()
        )
        self.system_metadata.extend(
            {"instance_uuid": instance_uuid, "key": k, "value": v}
            for k, v in instance["system_metadata"].items()
        )
        self.tags.extend(
            {"resource_id": instance_uuid, "tag": tag}
            for tag in dict.fromkeys(instance.get("tags") or ())
        )
        if instance.get("trusted_certs") or hints:
            self.extras.append(
                {
                    "instance_uuid": instance_uuid,
                    "trusted_certs": list(instance.get("trusted_certs") or ()) or None,
                    "scheduler_hints": hints or None,
                }
            )
        for bdm in mappings:
            size = block_device.volume_size(flavor, bdm)
            if size == 0:
                continue  # Nova skips mappings whose size comes out as 0.
            self.bdms.append(_bdm_row(bdm, instance_uuid, size))

    def add_group_members(
        self, group: models.InstanceGroup | None, instances: Sequence[Mapping[str, Any]]
    ) -> None:
        if group is not None:
            self.group_members.extend(
                {"group_id": group.id, "instance_id": i["uuid"]} for i in instances
            )


def _bdm_row(bdm: Mapping[str, Any], instance_uuid: str, size: int | None) -> dict[str, Any]:
    row = {field: bdm.get(field) for field in block_device.BDM_FIELDS}
    row.update(
        instance_uuid=instance_uuid,
        volume_size=size,
        delete_on_termination=bool(row["delete_on_termination"]),
        boot_index=row["boot_index"] if isinstance(row["boot_index"], int) else None,
        no_device=bool(row["no_device"]) if row["no_device"] is not None else None,
        connection_info=utils.py2_str(row["connection_info"])
        if row["connection_info"] is not None
        else None,
    )
    return row
