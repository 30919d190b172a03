"""What the two contracts do differently on the resources around create (flavors, limits,
key pairs, availability zones, images, quota sets), as data held by each ``Contract``
(its ``around`` field). The controllers (``flavors.py``, ``limits.py``, ``keypairs.py``,
``availability_zone.py``, ``images.py``, ``quota_sets.py``) read it and never ask which
contract they serve.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from refnova.api.openstack import common
from refnova.api.openstack.compute.schemas import around as schemas
from refnova.api.openstack.microversions import APIVersion
from refnova.api.validation import SchemaValidator
from refnova.exception import ApiError

# A 404 text per resource: a template over the lookup's keys (None: WebOb's generic text,
# Icehouse's bare HTTPNotFound).
NotFoundTexts = Mapping[str, str | None]


@dataclasses.dataclass(frozen=True)
class AroundCreate:
    not_found: NotFoundTexts
    paging: common.Paging  # how ``limit`` is read and a list's next link written
    max_limit: int | None  # a page of images, key pairs, flavors: /v2.1 caps it, /v2 not
    quota_resources: tuple[str, ...]  # the keys of a quota set, as Nova lists them
    quota_overrides: Mapping[str, int]  # defaults the contract's Nova reports differently
    absolute_limits: tuple[tuple[str, str], ...]  # (resource, name in GET /limits)
    used_limits: tuple[tuple[str, str], ...]  # (name in GET /limits, resource)
    rate_limits: bool  # GET /limits shows the rate limiter's state
    # (body, microversion) -> the "keypair" object, or ApiError
    keypair_body: Callable[[Any, APIVersion | None], Mapping[str, Any]]
    keypair_quota_status: int  # a key pair over quota
    keypair_quota_retry_after: bool
    policy_names: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # The quota set of another project, for a non-admin: its 403 text.
    quota_forbidden: str | None = None
    image_alternate_has_project: bool = True
    # The media type of a bodiless 202 (a key pair deleted): Icehouse's webob.Response
    # default, or today's JSON type.
    empty_accepted_type: str = "text/html; charset=UTF-8"
    # A key pair's ``deleted`` in show: Icehouse's soft-delete column (an integer), today's
    # object field (a boolean).
    keypair_deleted: int | bool = 0
    # A flavor's extra specs: Icehouse read them by flavor id without looking the flavor up
    # (an unknown one has none); today's Nova looks it up first (404).
    extra_specs_find_flavor: bool = False
    # Key pairs: Icehouse's API checked a new name's characters itself and listed them as
    # stored; today the schema checks names and the list is sorted by name.
    keypair_name_checked: bool = True
    keypairs_by_name: bool = False


def icehouse_keypair_body(body: Any, version: APIVersion | None = None) -> Mapping[str, Any]:
    """Icehouse's ``body['keypair']['name']`` in a try: any KeyError is one 400."""
    try:
        keypair = body["keypair"]
        keypair["name"]
    except (KeyError, TypeError):
        raise ApiError(400, "Invalid request body")
    return dict(keypair)


# Nova's create schemas by the microversion they start at (the last one reached applies).
_KEYPAIR_CREATE = tuple(
    (APIVersion.parse(since), SchemaValidator(schema))
    for since, schema in (
        ("2.1", schemas.KEYPAIR_CREATE),
        ("2.2", schemas.KEYPAIR_CREATE_V22),
        ("2.10", schemas.KEYPAIR_CREATE_V210),
        ("2.92", schemas.KEYPAIR_CREATE_V292),
    )
)


def today_keypair_body(body: Any, version: APIVersion | None = None) -> Mapping[str, Any]:
    reached = [check for since, check in _KEYPAIR_CREATE if version is None or since <= version]
    reached[-1].validate(body)
    return dict(body["keypair"])


ICEHOUSE_QUOTA_RESOURCES = (
    "instances",
    "cores",
    "ram",
    "floating_ips",
    "fixed_ips",
    "metadata_items",
    "injected_files",
    "injected_file_content_bytes",
    "injected_file_path_bytes",
    "security_groups",
    "security_group_rules",
    "key_pairs",
)
ICEHOUSE_ABSOLUTE_LIMITS = (
    ("ram", "maxTotalRAMSize"),
    ("instances", "maxTotalInstances"),
    ("cores", "maxTotalCores"),
    ("key_pairs", "maxTotalKeypairs"),
    ("floating_ips", "maxTotalFloatingIps"),
    ("metadata_items", "maxServerMeta"),
    ("metadata_items", "maxImageMeta"),
    ("injected_files", "maxPersonality"),
    ("injected_file_content_bytes", "maxPersonalitySize"),
    ("security_groups", "maxSecurityGroups"),
    ("security_group_rules", "maxSecurityGroupRules"),
)
ICEHOUSE_USED_LIMITS = (
    ("totalRAMUsed", "ram"),
    ("totalCoresUsed", "cores"),
    ("totalInstancesUsed", "instances"),
    ("totalFloatingIpsUsed", "floating_ips"),
    ("totalSecurityGroupsUsed", "security_groups"),
)

ICEHOUSE = AroundCreate(
    not_found={"flavor": None, "keypair": None, "image": "Image not found."},
    paging=common.ICEHOUSE_PAGING,
    max_limit=None,
    quota_resources=ICEHOUSE_QUOTA_RESOURCES,
    quota_overrides={},
    absolute_limits=ICEHOUSE_ABSOLUTE_LIMITS,
    used_limits=ICEHOUSE_USED_LIMITS,
    rate_limits=True,
    keypair_body=icehouse_keypair_body,
    keypair_quota_status=413,
    keypair_quota_retry_after=True,
)

TODAY = AroundCreate(
    not_found={
        "flavor": "Flavor %(id)s could not be found.",
        "keypair": "Keypair %(name)s not found for user %(user_id)s",
        "image": "Image not found.",
    },
    paging=common.TODAY_PAGING,
    max_limit=common.MAX_LIMIT,
    # Juno's server group quotas; with Neutron, Nova reports no network quotas of its own.
    quota_resources=(*ICEHOUSE_QUOTA_RESOURCES, "server_groups", "server_group_members"),
    quota_overrides={"floating_ips": -1, "security_groups": -1, "security_group_rules": -1},
    absolute_limits=(
        *ICEHOUSE_ABSOLUTE_LIMITS,
        ("server_groups", "maxServerGroups"),
        ("server_group_members", "maxServerGroupMembers"),
    ),
    used_limits=(*ICEHOUSE_USED_LIMITS, ("totalServerGroupsUsed", "server_groups")),
    rate_limits=False,
    keypair_body=today_keypair_body,
    keypair_quota_status=403,
    keypair_quota_retry_after=False,
    policy_names={
        "compute_extension:availability_zone:detail": "os_compute_api:os-availability-zone:detail",
        "compute_extension:quotas:show": "os_compute_api:os-quota-sets:show",
    },
    quota_forbidden="Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.",
    image_alternate_has_project=False,
    empty_accepted_type="application/json",
    keypair_deleted=False,
    extra_specs_find_flavor=True,
    keypair_name_checked=False,
    keypairs_by_name=True,
)


def policy_refused(around: AroundCreate, action: str) -> ApiError:
    """The 403 of a policy the caller does not pass, named as the contract names it."""
    name = around.policy_names.get(action, action)
    return ApiError(403, "Policy doesn't allow %s to be performed." % name)


def not_found(around: AroundCreate, resource: str, **keys: Any) -> ApiError:
    text = around.not_found.get(resource)
    return ApiError(404, None if text is None else text % keys)
