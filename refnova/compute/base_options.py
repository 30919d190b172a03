"""The steps of a create's base options that ask a service or the database (spec §1.3, the
rows named below): Nova's ``_handle_availability_zone``, ``_check_requested_secgroups``,
``_handle_kernel_and_ramdisk`` and the key pair read of ``_validate_and_build_base_options``.

Each takes the service it asks; the checks that need none are in ``create_checks``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from refnova import exception, utils
from refnova.compute import create_checks as checks
from refnova.context import RequestContext
from refnova.db import api as db_api
from refnova.image.glance import ImageService
from refnova.network import neutron
from refnova.policy import Enforcer


def handle_availability_zone(
    policy: Enforcer, default_zone: str | None, context: RequestContext, availability_zone: Any
) -> tuple[Any, str | None, str | None]:
    """A8/A9: the legacy ``az:host:node`` form forces a host (admins only)."""
    forced_host = forced_node = None
    if availability_zone:
        if isinstance(availability_zone, (bool, int, float)):
            raise exception.MalformedInput()
        if isinstance(availability_zone, str) and ":" in availability_zone:
            availability_zone, forced_host, forced_node = checks.split_zone(availability_zone)
    if not availability_zone:
        availability_zone = default_zone
    if forced_host:
        policy.enforce(context, "compute:create:forced_host")
    if forced_node:
        policy.enforce(context, "compute:create:forced_host")
    return availability_zone, forced_host, forced_node


def check_requested_secgroups(
    network_api: neutron.API, context: RequestContext, security_groups: Sequence[str]
) -> None:
    """A17: every group but the literal 'default' must exist (Neutron driver)."""
    for name in security_groups:
        if name != "default":
            network_api.get_security_group(context, utils.py2_str(name))


def handle_kernel_and_ramdisk(
    image_service: ImageService,
    null_kernel: str,
    context: RequestContext,
    kernel_id: Any,
    ramdisk_id: Any,
    image: Mapping[str, Any],
) -> tuple[Any, Any]:
    """A19: kernel and ramdisk named by the image must exist in Glance."""
    properties = image.get("properties", {})
    kernel_id = properties.get("kernel_id") if kernel_id is None else kernel_id
    ramdisk_id = properties.get("ramdisk_id") if ramdisk_id is None else ramdisk_id
    if kernel_id == null_kernel:
        return None, None
    for image_id in (kernel_id, ramdisk_id):
        if image_id is not None:
            image_service.show(context, utils.py2_str(image_id).split("/")[-1])
    return kernel_id, ramdisk_id


def key_data(db: db_api.Database, context: RequestContext, key_name: Any) -> str | None:
    """A21: a truthy key_name must name one of the user's key pairs."""
    if not key_name:
        return None
    if not isinstance(key_name, str):
        raise exception.KeypairNotFound(user_id=context.user_id, name=key_name)
    with db.transaction() as session:
        return db_api.key_pair_get(session, context.user_id, key_name).public_key
