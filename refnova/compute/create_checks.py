"""The checks of a create that need no service of the compute API: each takes what it
checks and raises the Nova exception Nova raised (spec §1.3, the rows named below)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from refnova import block_device, exception, utils
from refnova.db.models import FlavorRecord

MAX_USERDATA_SIZE = 65535
_MULTIPLE_PORTS_REASON = (
    "Unable to launch multiple instances with a single configured port "
    "ID. Please launch your instance one by one with different ports."
)

RequestedNetworks = Sequence[tuple[Any, Any, Any]]


def check_multiple_instances_with_specified_ip(requested_networks: RequestedNetworks) -> None:
    if any(net and ip for net, ip, _port in requested_networks):
        raise exception.InvalidFixedIpAndMaxCountRequest(
            reason="max_count cannot be greater than 1 if an fixed_ip is specified."
        )


def check_multiple_instances_neutron_ports(requested_networks: RequestedNetworks) -> None:
    if any(port for _net, _ip, port in requested_networks):
        raise exception.MultiplePortsNotApplicable(reason=_MULTIPLE_PORTS_REASON)


def check_auto_disk_config(
    image_id: str | None, boot_meta: Mapping[str, Any], auto_disk_config: Any
) -> None:
    """A7: an image can forbid automatic disk resizing."""
    if auto_disk_config is None or not auto_disk_config:
        return
    value = boot_meta.get("properties", {}).get("auto_disk_config")
    if isinstance(value, str) and value.strip().lower() == "disabled":
        raise exception.AutoDiskConfigDisabledByImage(image=image_id)


def hashable(value: Any) -> bool:
    return not isinstance(value, (list, dict))


def split_zone(value: str) -> tuple[str, str | None, str | None]:
    """A8: ``az:host``, ``az::node`` or ``az:host:node``."""
    colons = value.count(":")
    if colons == 1:
        zone, host = value.split(":")
        return zone, host, None
    if colons == 2:
        if "::" in value:
            zone, node = value.split("::")
            return zone, None, node
        zone, host, node = value.split(":")
        return zone, host, node
    raise exception.InvalidInput(reason="Unable to parse availability_zone")


def check_user_data_size(user_data: Any) -> None:
    if user_data and len(user_data) > MAX_USERDATA_SIZE:
        raise exception.InstanceUserDataTooLarge(maxsize=MAX_USERDATA_SIZE, length=len(user_data))


def check_metadata_properties_quota(metadata: Any, quotas: Mapping[str, int]) -> dict[str, str]:
    """A14: a dict of at most metadata_items string pairs, keys and values <= 255."""
    if not metadata:
        return {}
    if not isinstance(metadata, dict):
        raise exception.InvalidMetadata(reason="Metadata type should be dict.")
    limit = quotas["metadata_items"]
    if 0 <= limit < len(metadata):
        raise exception.MetadataLimitExceeded(allowed=limit)
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise exception.InvalidMetadata(
                reason="Metadata property value '%s' for key '%s' is not a string."
                % (utils.py2_str(value), key)
            )
        if len(key) == 0:
            raise exception.InvalidMetadata(reason="Metadata property key blank")
        if len(key) > 255:
            raise exception.InvalidMetadataSize(
                reason="Metadata property key greater than 255 characters"
            )
        if len(value) > 255:
            raise exception.InvalidMetadataSize(
                reason="Metadata property value greater than 255 characters"
            )
    return metadata


def check_injected_file_quota(
    injected_files: Sequence[tuple[Any, Any]], quotas: Mapping[str, int]
) -> None:
    """A15: how many files, and the longest path and content (path reported first)."""
    if not injected_files:
        return
    if 0 <= quotas["injected_files"] < len(injected_files):
        raise exception.OnsetFileLimitExceeded()
    if any(isinstance(path, (bool, int, float)) or path is None for path, _ in injected_files):
        raise exception.MalformedInput()
    max_path = max(len(path) for path, _ in injected_files)
    max_content = max(len(contents) for _, contents in injected_files)
    if 0 <= quotas["injected_file_path_bytes"] < max_path:
        raise exception.OnsetFilePathLimitExceeded(allowed=quotas["injected_file_path_bytes"])
    if 0 <= quotas["injected_file_content_bytes"] < max_content:
        raise exception.OnsetFileContentLimitExceeded(allowed=quotas["injected_file_content_bytes"])


def check_requested_image(
    image_id: str | None, image: Mapping[str, Any] | None, instance_type: FlavorRecord
) -> None:
    """A16: the image is active and fits the flavor."""
    if not image:
        return
    if image.get("status") != "active":
        raise exception.ImageNotActive(image_id=image_id)
    if instance_type.memory_mb < int(image.get("min_ram") or 0):
        raise exception.FlavorMemoryTooSmall()
    root_gb = instance_type.root_gb
    if root_gb:
        # The sizes in bytes go with the error for the contracts that report them (/v2.1).
        flavor_size = root_gb * 1024**3
        if int(image.get("size") or 0) > flavor_size:
            raise exception.FlavorDiskTooSmall(
                flavor_size=flavor_size, image_size=int(image["size"])
            )
        if int(image.get("min_disk") or 0) > root_gb:
            raise exception.FlavorDiskTooSmall(
                flavor_size=flavor_size, image_min_disk=int(image["min_disk"]) * 1024**3
            )


def check_config_drive(config_drive: Any) -> bool | str:
    """A20: a truthy config_drive must be a recognised boolean string."""
    if not config_drive:
        return ""
    try:
        value = utils.bool_from_string(config_drive, strict=True)
    except ValueError:
        raise exception.ConfigDriveInvalidValue(option=utils.py2_str(config_drive))
    return True if value else ""


def check_volumes_for_multiple_instances(
    mappings: Iterable[Mapping[str, Any]], min_count: int, max_count: int
) -> None:
    if (min_count > 1 or max_count > 1) and any(
        bdm.get("source_type") == "volume" for bdm in mappings
    ):
        raise exception.InvalidRequest("Cannot attach one or more volumes to multiple instances")


def check_boot_sequence(mappings: Iterable[Mapping[str, Any]]) -> None:
    """A25 (V1): boot indexes start at 0 and have no gaps."""
    boot_indexes = sorted(
        bdm["boot_index"]
        for bdm in mappings
        if isinstance(bdm.get("boot_index"), int) and bdm["boot_index"] >= 0
    )
    if 0 not in boot_indexes or any(
        b + 1 != n for b, n in zip(boot_indexes, boot_indexes[1:], strict=False)
    ):
        raise exception.InvalidBDMBootSequence()


def check_bdm_local_limits(
    flavor: FlavorRecord, mappings: Sequence[Mapping[str, Any]], max_local_block_devices: int
) -> None:
    """A25 (V7-V9): ephemeral and swap sizes, and the number of local disks."""
    ephemeral = sum(
        bdm.get("volume_size") or 0 for bdm in mappings if block_device.new_format_is_ephemeral(bdm)
    )
    if ephemeral > flavor.ephemeral_gb:
        raise exception.InvalidBDMEphemeralSize()
    swaps = [bdm for bdm in mappings if block_device.new_format_is_swap(bdm)]
    if len(swaps) > 1:
        raise exception.InvalidBDMFormat(details="More than one swap drive requested.")
    if swaps and (swaps[0].get("volume_size") or 0) > flavor.swap:
        raise exception.InvalidBDMSwapSize()
    if (
        0
        <= max_local_block_devices
        < sum(1 for bdm in mappings if bdm.get("destination_type") == "local")
    ):
        raise exception.InvalidBDMLocalsLimit()


def checks_for_create_and_rebuild(
    image_id: str | None,
    image: Mapping[str, Any],
    instance_type: FlavorRecord,
    metadata: Any,
    files_to_inject: Sequence[tuple[Any, Any]],
    quotas: Mapping[str, int],
) -> dict[str, str]:
    """Nova's ``_checks_for_create_and_rebuild``: A14, A15 and, with an image, A16."""
    metadata = check_metadata_properties_quota(metadata, quotas)
    check_injected_file_quota(files_to_inject, quotas)
    if image_id is not None:
        check_requested_image(image_id, image, instance_type)
    return metadata
