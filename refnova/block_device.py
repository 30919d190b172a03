"""Block device mappings, in the spirit of Nova's ``nova/block_device.py``.

A mapping is a plain dict with every field of ``BDM_FIELDS`` (a ``BlockDeviceDict``).
Both API contracts build them here from the request (``from_api``, or the legacy syntax
checked by ``validate_device_name`` and ``validate_and_default_volume_size``), and the
compute API turns legacy mappings into the new format (``from_legacy_mapping``) and finds
the root device (``get_root_bdm``). Every rule raises a Nova exception
(``InvalidBDMFormat``, or ``MalformedInput`` where Icehouse answered a bare 400); the API
layer alone turns them into HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from refnova import exception, utils
from refnova.db.models import FlavorRecord

BlockDeviceDict = dict[str, Any]

BDM_FIELDS = frozenset(
    (
        "source_type",
        "destination_type",
        "guest_format",
        "device_type",
        "disk_bus",
        "boot_index",
        "device_name",
        "delete_on_termination",
        "snapshot_id",
        "volume_id",
        "volume_size",
        "image_id",
        "no_device",
        "connection_info",
    )
)
BDM_DB_ONLY_FIELDS = frozenset(
    ("id", "instance_uuid", "created_at", "updated_at", "deleted_at", "deleted")
)
SOURCE_TYPES = ("volume", "image", "snapshot", "blank")
# Fields today's BlockDeviceDict has that Icehouse's had not: a device's tag (2.32, 2.42)
# and a volume's type (2.67); the request's schema decides at which versions they come.
TODAY_ONLY_FIELDS = frozenset(("tag", "volume_type"))

# Fields a legacy mapping cannot tell: new_bdm does not default them to None.
_NON_COMPUTABLE_FIELDS = frozenset(("boot_index", "disk_bus", "guest_format", "device_type"))
_LEGACY_COPIED_FIELDS = (
    frozenset(
        (
            "device_name",
            "delete_on_termination",
            "snapshot_id",
            "volume_id",
            "volume_size",
            "no_device",
            "connection_info",
        )
    )
    | BDM_DB_ONLY_FIELDS
)
_EPHEMERAL = re.compile(r"^ephemeral(\d|[1-9]\d+)$")


# --- field checks -------------------------------------------------------------------------


def validate_device_name(value: Any) -> None:
    if not utils.check_string_length(value, 1, 255):
        raise exception.InvalidBDMFormat(details="Device name empty or too long.")
    if " " in value:
        raise exception.InvalidBDMFormat(details="Device name contains spaces.")


def validate_and_default_volume_size(bdm: dict[str, Any]) -> None:
    """A truthy volume_size becomes an integer >= 0, in place."""
    if bdm.get("volume_size"):
        try:
            bdm["volume_size"] = utils.validate_integer(
                bdm["volume_size"], "volume_size", min_value=0
            )
        except exception.InvalidInput:
            raise exception.InvalidBDMFormat(details="Invalid volume_size.")


def _boot_index(value: Any) -> int:
    if isinstance(value, (bool, int, float)):
        return int(value)
    if isinstance(value, str):
        try:
            return utils.py2_int(value)
        except ValueError:
            raise exception.InvalidBDMFormat(details="Boot index is invalid.")
    raise exception.MalformedInput()


# --- building mappings ----------------------------------------------------------------------


def new_bdm(
    values: dict[str, Any],
    do_not_default: Iterable[str] = frozenset(),
    also_known: frozenset[str] = frozenset(),
) -> BlockDeviceDict:
    """BlockDeviceDict: check the fields (``also_known``: today's extra ones), then every
    known field defaults to None."""
    if not set(values) <= BDM_FIELDS | BDM_DB_ONLY_FIELDS | also_known:
        raise exception.InvalidBDMFormat(details="Some fields are invalid.")
    for field, value in values.items():
        if isinstance(value, (list, dict)):  # a column holds none (Icehouse crashed: 500)
            if field == "boot_index":
                _boot_index(value)  # C18i: int()'s TypeError in Icehouse, the generic 400
            raise exception.InvalidBDMFormat(details="Invalid %s field." % field)
    if not values.get("no_device"):
        if "source_type" not in values:
            raise exception.InvalidBDMFormat(details="Some required fields are missing")
        if "delete_on_termination" in values:
            values["delete_on_termination"] = utils.bool_from_string(
                values["delete_on_termination"]
            )
        if values.get("device_name") is not None:
            validate_device_name(values["device_name"])
        validate_and_default_volume_size(values)
        if values.get("boot_index"):
            values["boot_index"] = _boot_index(values["boot_index"])
    bdm: BlockDeviceDict = {field: None for field in BDM_FIELDS - frozenset(do_not_default)}
    bdm.update(values)
    return bdm


def from_api(api_dict: dict[str, Any], image_uuid_specified: bool | None = None) -> BlockDeviceDict:
    """A ``block_device_mapping_v2`` entry of the request as a BlockDeviceDict.

    ``image_uuid_specified=None`` applies Icehouse's rules (the source type is checked
    here). Today's Nova passes whether the request names an image: its schema has already
    checked the source type, and it adds two rules (a blank source takes no uuid; an image
    goes to a local disk only as the root of a request that names that image).
    """
    api_dict = dict(api_dict)
    if not api_dict.get("no_device"):
        # The request's own JSON, of any type: where Nova crashed on a source type left out
        # (TypeError) or a uuid that is a list or an object, refnova answers 400.
        source_type: Any = api_dict.get("source_type")
        device_uuid = api_dict.get("uuid")
        if isinstance(device_uuid, (list, dict)):
            raise exception.InvalidBDMFormat(details="Invalid device UUID.")
        if image_uuid_specified is None:
            if source_type not in SOURCE_TYPES:
                raise exception.InvalidBDMFormat(details="Invalid source_type field.")
        elif not isinstance(source_type, str):
            raise exception.InvalidBDMFormat(details="Missing source_type field.")
        elif source_type == "blank" and device_uuid:
            raise exception.InvalidBDMFormat(details="Invalid device UUID.")
        if source_type != "blank":
            if not device_uuid:
                raise exception.InvalidBDMFormat(details="Missing device UUID.")
            api_dict[source_type + "_id"] = device_uuid
        if image_uuid_specified is not None:
            _check_image_to_local(api_dict, image_uuid_specified)
    api_dict.pop("uuid", None)
    return new_bdm(
        api_dict, also_known=TODAY_ONLY_FIELDS if image_uuid_specified is not None else frozenset()
    )


def _check_image_to_local(api_dict: Mapping[str, Any], image_uuid_specified: bool) -> None:
    if api_dict.get("source_type") == "image" and api_dict.get("destination_type") == "local":
        boot_index = api_dict.get("boot_index", -1)
        boot_index = -1 if boot_index is None else int(boot_index)
        if not (image_uuid_specified and boot_index == 0):
            raise exception.InvalidBDMFormat(details="Mapping image to local is not supported.")


def create_image_bdm(image_ref: str, boot_index: int = 0) -> BlockDeviceDict:
    return new_bdm(
        {
            "source_type": "image",
            "image_id": image_ref,
            "delete_on_termination": True,
            "boot_index": boot_index,
            "device_type": "disk",
            "destination_type": "local",
        }
    )


# --- the legacy syntax ---------------------------------------------------------------------------


def strip_dev(name: Any) -> Any:
    return re.sub(r"^/dev/", "", name) if isinstance(name, str) else name


def is_swap_or_ephemeral(name: Any) -> bool:
    return bool(name) and isinstance(name, str) and (name == "swap" or bool(_EPHEMERAL.match(name)))


def from_legacy(legacy: Mapping[str, Any]) -> BlockDeviceDict:
    bdm = {k: v for k, v in legacy.items() if k in _LEGACY_COPIED_FIELDS}
    virtual_name = legacy.get("virtual_name")
    if is_swap_or_ephemeral(virtual_name):
        bdm.update(
            source_type="blank",
            delete_on_termination=True,
            destination_type="local",
            guest_format="swap" if virtual_name == "swap" else None,
        )
    elif legacy.get("snapshot_id"):
        bdm.update(source_type="snapshot", destination_type="volume")
    elif legacy.get("volume_id"):
        bdm.update(source_type="volume", destination_type="volume")
    elif not legacy.get("no_device"):
        raise exception.InvalidBDMFormat(details="Unrecognized legacy format.")
    return new_bdm(bdm, _NON_COMPUTABLE_FIELDS)


def from_legacy_mapping(
    legacy_mappings: Iterable[Mapping[str, Any]],
    image_uuid: str | None = "",
    root_device_name: str | None = None,
    no_root: bool = False,
) -> list[BlockDeviceDict]:
    """Legacy mappings in the new format, with boot indexes and, where the image is the
    root, the image's own mapping first."""
    mappings = [from_legacy(legacy) for legacy in legacy_mappings]
    if no_root:
        for bdm in mappings:
            bdm["boot_index"] = -1
        return mappings
    if not root_device_name and not image_uuid:
        non_blank = [bdm for bdm in mappings if bdm.get("source_type") != "blank"]
        if non_blank:
            non_blank[0]["boot_index"] = 0
        return mappings
    volume_backed = False
    for bdm in mappings:
        if (
            bdm.get("source_type") in ("volume", "snapshot", "image")
            and root_device_name is not None
            and strip_dev(bdm.get("device_name")) == strip_dev(root_device_name)
        ):
            bdm["boot_index"] = 0
            volume_backed = True
        elif not bdm.get("no_device"):
            bdm["boot_index"] = -1
        else:
            bdm["boot_index"] = None
    if not volume_backed and image_uuid:
        return [create_image_bdm(image_uuid)] + mappings
    return mappings


# --- reading mappings ----------------------------------------------------------------------------


def get_root_bdm(mappings: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    return next((bdm for bdm in mappings if bdm.get("boot_index", -1) == 0), None)


def new_format_is_ephemeral(bdm: Mapping[str, Any]) -> bool:
    return (
        bdm.get("source_type") == "blank"
        and bdm.get("destination_type") == "local"
        and bdm.get("guest_format") != "swap"
    )


def new_format_is_swap(bdm: Mapping[str, Any]) -> bool:
    return (
        bdm.get("source_type") == "blank"
        and bdm.get("destination_type") == "local"
        and bdm.get("guest_format") == "swap"
    )


def volume_size(flavor: FlavorRecord, bdm: Mapping[str, Any]) -> int | None:
    """The mapping's size in GB; a blank one without a size takes the flavor's swap or
    ephemeral size."""
    size = bdm.get("volume_size")
    if size is None and bdm.get("source_type") == "blank":
        size = flavor.swap if bdm.get("guest_format") == "swap" else flavor.ephemeral_gb
    return size
