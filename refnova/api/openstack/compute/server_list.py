"""GET /servers and GET /servers/detail: the query string as each contract reads it, and
the page it answers with.

Nova's ``_get_servers`` (2014.1 and today's at 2.1): a user's filters other than
``reservation_id``, ``name``, ``status``, ``image``, ``flavor``, ``ip``, ``changes-since``
and ``all_tenants`` are dropped without a word (an admin may use them all); ``status`` is
read back into vm states (an unknown one lists nothing, ``DELETED`` is for admins only);
``changes-since`` also lists deleted servers; ``all_tenants`` lists every project's; a
page is ``limit`` servers after ``marker``, with a ``next`` link when it is full. What the
two contracts read differently (the texts of a bad ``limit`` or ``changes-since``, who may
ask for ``all_tenants``, how ``deleted`` is read, the next link's query) is a
``ListRules`` held by each contract.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import webob

from refnova.api.openstack import common
from refnova.api.openstack.compute import resource_versions, views
from refnova.context import RequestContext
from refnova.db.instance_queries import InstanceFilters
from refnova.db.models import Instance
from refnova.exception import ApiError

USER_OPTIONS = frozenset(
    ("reservation_id", "name", "status", "image", "flavor", "ip", "changes-since", "all_tenants")
)
# The vm states behind each status (Nova's common._STATE_MAP read backwards).
STATUS_VM_STATES = {
    "ACTIVE": ("active",),
    "BUILD": ("building",),
    "ERROR": ("error",),
    "SHUTOFF": ("stopped",),
    "DELETED": ("deleted",),
    "SOFT_DELETED": ("soft-delete",),
    "PAUSED": ("paused",),
    "SUSPENDED": ("suspended",),
    "RESCUE": ("rescued",),
    "SHELVED": ("shelved",),
    "SHELVED_OFFLOADED": ("shelved_offloaded",),
}
# Statuses that stand for a task under way (REBOOT is active and rebooting...): refnova's
# servers never have one, so they list nothing, as a status Nova does not know.
TASK_STATUSES = frozenset(
    ("REBOOT", "HARD_REBOOT", "PASSWORD", "REBUILD", "MIGRATING", "RESIZE", "VERIFY_RESIZE")
    + ("REVERT_RESIZE", "UNKNOWN")
)
FALSE_TEXTS = frozenset(("0", "f", "false", "n", "no", "off"))
TRUE_TEXTS = frozenset(("1", "t", "true", "y", "yes", "on"))


@dataclasses.dataclass(frozen=True)
class ListRules:
    """What a contract reads differently in GET /servers' query string."""

    paging: common.Paging  # how ``limit`` is read and the next link written
    read_changes_since: Callable[[str], datetime.datetime]  # naive UTC, or ApiError(400)
    read_deleted: Callable[[str], bool]
    # None: the compute API's compute:get_all_tenants decides (and a user sees their own);
    # else the policy (its %(action)s: index or detail) that only an admin passes.
    all_tenants_policy: str | None


# Nova's index query schemas: 2.1's parameters (the joined tables' and the page's too), 2.26's
# tags, 2.66's changes-before, 2.73's locked. Below 2.75 Nova strips any other parameter (the
# next link leaves it out); from 2.75 it is a 400. Either way a name starting with "_" passes.
_INDEX_PARAMETERS = (
    *"user_id project_id tenant_id launch_index image_ref image kernel_id ramdisk_id".split(),
    *"hostname key_name power_state vm_state task_state host node flavor".split(),
    *"reservation_id launched_at terminated_at availability_zone name display_name".split(),
    *"description display_description locked_by uuid root_device_name config_drive".split(),
    *"access_ip_v4 access_ip_v6 auto_disk_config progress sort_key sort_dir".split(),
    *"all_tenants soft_deleted deleted status changes-since ip ip6 created_at".split(),
    *"block_device_mapping services metadata system_metadata info_cache".split(),
    *"security_groups pci_devices limit marker".split(),
)
_TAGS = ("tags", "tags-any", "not-tags", "not-tags-any")
_AT_2_73 = (*_INDEX_PARAMETERS, *_TAGS, "changes-before", "locked")
INDEX_QUERY = resource_versions.query_rules(
    ("2.1", _INDEX_PARAMETERS, False),
    ("2.26", (*_INDEX_PARAMETERS, *_TAGS), False),
    ("2.66", (*_INDEX_PARAMETERS, *_TAGS, "changes-before"), False),
    ("2.73", _AT_2_73, False),
    ("2.75", _AT_2_73, True),
    allowed_prefix="_",
)


def filters_from_query(
    req: webob.Request, context: RequestContext, rules: ListRules, detail: bool
) -> InstanceFilters | None:
    """The filters a request asks for; None when its status can match nothing."""
    query = {key: req.GET.getall(key) for key in req.GET}
    _check_name_pattern(query)
    limit = _limit(req, rules)  # Nova's query schema checks its properties before unknown names
    resource_versions.check_query(req, INDEX_QUERY)
    if not context.is_admin:
        query = {key: values for key, values in query.items() if key in USER_OPTIONS}
    vm_states = _vm_states(query.pop("status", None))
    if vm_states == ():
        return None
    changes_since = _last(query, "changes-since")
    since = None if changes_since is None else rules.read_changes_since(changes_since)
    deleted = _deleted(query, rules, vm_states, context, changes_since)
    return InstanceFilters(
        project_id=_project(query, rules, context, detail),
        name=_last(query, "name"),
        vm_states=vm_states,
        image_ref=_last(query, "image"),
        flavorid=_last(query, "flavor"),
        changes_since=since,
        deleted=deleted,
        limit=limit,
        marker=req.GET.get("marker"),
    )


def _check_name_pattern(query: Mapping[str, list[str]]) -> None:
    """``name`` must compile: today's Nova checks it with its query schema (format regex),
    before anything else; Icehouse crashed on it (a 500) once any server existed."""
    for name in query.get("name", ()):
        try:
            re.compile(name)
        except re.error:
            raise ApiError(
                400,
                "Invalid input for query parameters name. Value: %s. '%s' is not a 'regex'"
                % (name, name),
            )


def _last(query: Mapping[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[-1] if values else None


def _vm_states(statuses: list[str] | None) -> tuple[str, ...] | None:
    """None: no status asked; () when none of the statuses is one a server can have."""
    if statuses is None:
        return None
    found: list[str] = []
    for status in statuses:
        for vm_state in STATUS_VM_STATES.get(status.strip().upper(), ()):
            if vm_state not in found:
                found.append(vm_state)
    return tuple(found)


def _deleted(
    query: Mapping[str, list[str]],
    rules: ListRules,
    vm_states: tuple[str, ...] | None,
    context: RequestContext,
    changes_since: str | None,
) -> bool | None:
    """Live servers only, deleted ones only, or both (changes-since without ``deleted``)."""
    if vm_states == ("deleted",):
        if not context.is_admin:
            raise ApiError(403, "Only administrators may list deleted instances")
        return True
    if "deleted" in query:
        return rules.read_deleted(query["deleted"][-1])
    return None if changes_since is not None else False


def _project(
    query: Mapping[str, list[str]], rules: ListRules, context: RequestContext, detail: bool
) -> str | None:
    """None (every project) when all_tenants is asked for and allowed."""
    value = _last(query, "all_tenants")
    if value is None or value.strip().lower() in FALSE_TEXTS:
        return context.project_id
    if rules.all_tenants_policy is not None and not context.is_admin:
        action = rules.all_tenants_policy % {"action": "detail" if detail else "index"}
        raise ApiError(403, "Policy doesn't allow %s to be performed." % action)
    return None


def _limit(req: webob.Request, rules: ListRules) -> int:
    limit, _ = common.limit_and_marker(req, rules.paging, common.MAX_LIMIT)
    return common.MAX_LIMIT if limit is None else limit


# --------------------------------------------------------------------------- the page


def page(
    req: webob.Request,
    context: RequestContext,
    rules: ListRules,
    instances: Sequence[Instance],
    detail: Callable[[Instance], dict[str, Any]] | None,
) -> dict[str, Any]:
    """``{"servers": [...]}`` (the index entries, or ``detail`` of each), and a next link
    when the page is as long as the limit asked for (or the max limit when none was)."""
    if detail is None:
        servers = [_index_entry(req, instance) for instance in instances]
    else:
        servers = [_terminated(detail(instance), instance) for instance in instances]
    body: dict[str, Any] = {"servers": servers}
    links = _next_links(req, context, rules, instances)
    if links:
        body["servers_links"] = links
    return body


def _terminated(server: dict[str, Any], instance: Instance) -> dict[str, Any]:
    """A deleted server (listed with changes-since or deleted) as Nova shows it: the time
    it was terminated, and no security groups any more."""
    if instance.vm_state == "deleted":
        server.pop("security_groups", None)
        terminated = instance.updated_at or instance.created_at
        server["OS-SRV-USG:terminated_at"] = terminated.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return server


def _index_entry(req: webob.Request, instance: Instance) -> dict[str, Any]:
    return {
        "id": instance.uuid,
        "links": views.resource_links(req, instance.project_id, "servers", instance.uuid),
        "name": instance.display_name,
    }


def _next_links(
    req: webob.Request, context: RequestContext, rules: ListRules, instances: Sequence[Instance]
) -> list[dict[str, str]]:
    collection = req.path_info.rstrip("/").rsplit("/servers", 1)[1]  # "" or "/detail"
    last = instances[-1].uuid if instances else ""
    kept = resource_versions.kept_params(req, INDEX_QUERY)
    return common.next_links(
        req, context.project_id, "servers" + collection, list(instances), last, rules.paging, kept
    )


# --------------------------------------------------------------------------- the two readings


def icehouse_changes_since(raw: str) -> datetime.datetime:
    """``timeutils.parse_isotime``: any ISO 8601 date or time."""
    try:
        return _naive_utc(datetime.datetime.fromisoformat(raw.replace("Z", "+00:00")))
    except ValueError:
        raise ApiError(400, "Invalid changes-since value")


DATE_TIME_RE = re.compile(
    r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)", re.ASCII
)


def today_changes_since(raw: str) -> datetime.datetime:
    """Today's query schema: an RFC 3339 ``date-time``."""
    if not DATE_TIME_RE.fullmatch(raw):
        raise ApiError(
            400,
            "Invalid input for query parameters changes-since. Value: %s. '%s' is not a "
            "'date-time'" % (raw, raw),
        )
    return icehouse_changes_since(raw.upper())


def _naive_utc(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def icehouse_deleted(raw: str) -> bool:
    """Icehouse passed the text on: any non-empty value lists deleted servers."""
    return bool(raw)


def today_deleted(raw: str) -> bool:
    """``strutils.bool_from_string(value, default=False)``."""
    return raw.strip().lower() in TRUE_TEXTS


ICEHOUSE = ListRules(
    paging=common.ICEHOUSE_PAGING,
    read_changes_since=icehouse_changes_since,
    read_deleted=icehouse_deleted,
    all_tenants_policy=None,
)
TODAY = ListRules(
    paging=common.TODAY_PAGING,
    read_changes_since=today_changes_since,
    read_deleted=today_deleted,
    all_tenants_policy="os_compute_api:servers:%(action)s:get_all_tenants",
)
