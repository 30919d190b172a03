"""The block device steps of a create, as Nova's compute API takes them (spec §1.3).

A6 for a boot without an image (``get_bdm_image_metadata``: the root mapping's image, or its
volume's image metadata), A23 (``check_and_transform_bdm``: the request's and the image's
mappings merged, in the new format) and A25 (``validate_bdm``: the boot order, each mapping's
device asked of the image and volume services, the local disk limits). The mapping format
itself and its legacy conversion are ``refnova.block_device``'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from refnova import block_device, exception
from refnova.block_device import BlockDeviceDict
from refnova.compute import create_checks as checks
from refnova.context import RequestContext
from refnova.db.models import FlavorRecord
from refnova.image.glance import ImageService
from refnova.volume.cinder import WorldVolumes


def get_bdm_image_metadata(
    image_service: ImageService,
    volume_api: WorldVolumes,
    context: RequestContext,
    block_device_mapping: Sequence[Mapping[str, Any]],
    legacy_bdm: bool,
) -> dict[str, Any]:
    """Nova's ``_get_bdm_image_metadata``: the image properties of the root mapping."""
    for bdm in block_device_mapping:
        if legacy_bdm and bdm.get("device_name") != "vda":
            continue
        if not legacy_bdm and bdm.get("boot_index") != 0:
            continue
        if bdm.get("image_id"):
            try:
                return image_service.show(context, bdm["image_id"]).get("properties", {})
            except exception.NovaException:
                raise exception.InvalidBDMImage(id=bdm["image_id"])
        if bdm.get("volume_id"):
            try:
                volume = volume_api.get(context, bdm["volume_id"])
            except exception.NovaException:
                raise exception.InvalidBDMVolume(id=bdm["volume_id"])
            return volume.get("volume_image_metadata", {})
    return {}


def check_and_transform_bdm(
    base_options: Mapping[str, Any],
    image_meta: Mapping[str, Any],
    min_count: int,
    max_count: int,
    block_device_mapping: Sequence[BlockDeviceDict],
    legacy_bdm: bool,
) -> list[BlockDeviceDict]:
    """A23: legacy BDMs to the new format, the image's own BDMs merged in."""
    root_device_name = base_options.get("root_device_name") or "vda"
    image_ref = base_options.get("image_ref", "")
    properties = image_meta.get("properties", {})
    image_bdms = list(properties.get("block_device_mapping", []))
    legacy_image_bdms = not properties.get("bdm_v2", False)
    if not legacy_image_bdms:
        image_bdms = [block_device.new_bdm(dict(bdm)) for bdm in image_bdms]
    if legacy_bdm:
        if legacy_image_bdms:
            mappings = block_device.from_legacy_mapping(
                list(block_device_mapping) + image_bdms, image_ref, root_device_name
            )
        else:
            root_in_image = block_device.get_root_bdm(image_bdms) is not None
            mappings = (
                block_device.from_legacy_mapping(
                    block_device_mapping, image_ref, root_device_name, no_root=root_in_image
                )
                + image_bdms
            )
    else:
        if legacy_image_bdms:
            image_bdms = block_device.from_legacy_mapping(image_bdms, None, root_device_name)
        mappings = list(block_device_mapping)
        if image_ref and block_device.get_root_bdm(image_bdms) is not None:
            mappings = [
                bdm
                for bdm in mappings
                if not (bdm.get("source_type") == "image" and bdm.get("boot_index") == 0)
            ]
        mappings += image_bdms
    checks.check_volumes_for_multiple_instances(mappings, min_count, max_count)
    return mappings


def validate_bdm(
    image_service: ImageService,
    volume_api: WorldVolumes,
    context: RequestContext,
    instance: Mapping[str, Any],
    instance_type: FlavorRecord,
    all_mappings: Sequence[BlockDeviceDict],
    max_local_block_devices: int,
) -> None:
    """A25 (V1-V9): boot order, the devices behind each mapping, and local disk limits."""
    checks.check_boot_sequence(all_mappings)
    for bdm in all_mappings:
        _validate_bdm_device(image_service, volume_api, context, instance, bdm)
    checks.check_bdm_local_limits(instance_type, all_mappings, max_local_block_devices)


def _validate_bdm_device(
    image_service: ImageService,
    volume_api: WorldVolumes,
    context: RequestContext,
    instance: Mapping[str, Any],
    bdm: BlockDeviceDict,
) -> None:
    image_id, volume_id, snapshot_id = (
        bdm.get("image_id"),
        bdm.get("volume_id"),
        bdm.get("snapshot_id"),
    )
    if image_id is not None and image_id != instance["image_ref"]:
        try:
            image_service.show(context, image_id)
        except exception.NovaException:
            raise exception.InvalidBDMImage(id=image_id)
        if (
            bdm.get("source_type") == "image"
            and bdm.get("destination_type") == "volume"
            and not bdm.get("volume_size")
        ):
            raise exception.InvalidBDM(
                "Images with destination_type 'volume' need to have a non-zero size specified"
            )
    elif volume_id is not None:
        try:
            volume_api.check_attach(
                context, volume_api.get(context, volume_id), instance["availability_zone"]
            )
        except exception.NovaException:
            raise exception.InvalidBDMVolume(id=volume_id)
    elif snapshot_id is not None:
        try:
            volume_api.get_snapshot(context, snapshot_id)
        except exception.NovaException:
            raise exception.InvalidBDMSnapshot(id=snapshot_id)
