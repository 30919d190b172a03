"""``GET /limits`` (Nova's ``LimitsController`` with the os-used-limits extension): the
project's absolute limits and what it uses of them; on /v2 also the rate limiter's state."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

import webob

from refnova import tracing
from refnova.api.openstack import contracts
from refnova.api.openstack.common import Answer
from refnova.api.openstack.compute import resource_versions
from refnova.api.openstack.compute.around import AroundCreate
from refnova.exception import ApiError
from refnova.quota_usage import QuotaReader

# The rate limits of a user, as Icehouse's limiter displays them (its ``Limit.display``).
RateLimits = Callable[[str], list[dict[str, Any]]]


# The limits Nova stops showing, by the microversion it stops at: 2.36 the network ones
# (Neutron's now), 2.39 the image metadata limit, 2.57 the personality ones.
HIDDEN = resource_versions.rows(
    [
        (
            "2.36",
            (
                "maxTotalFloatingIps",
                "maxSecurityGroups",
                "maxSecurityGroupRules",
                "totalFloatingIpsUsed",
                "totalSecurityGroupsUsed",
            ),
        ),
        ("2.39", ("maxImageMeta",)),
        ("2.57", ("maxPersonality", "maxPersonalitySize")),
    ]
)
QUERY = resource_versions.query_rules(("2.75", ("tenant_id",), True))
OTHER_PROJECT_POLICY = "os_compute_api:limits:other_project"


class Controller:
    def __init__(self, quotas: QuotaReader, rate_limits: RateLimits) -> None:
        self.quotas = quotas
        self.rate_limits = rate_limits

    @tracing.traced("limits.Controller.index")
    def index(self, req: webob.Request) -> Answer:
        resource_versions.check_query(req, QUERY)
        context = req.environ["nova.context"]
        around = contracts.contract_of(req).around
        project_id = _project(req)
        limits = {**self.quotas.get_project_quotas(project_id), **around.quota_overrides}
        reserved = req.GET.get("reserved") == "1"
        usage = self.quotas.get_project_usage(project_id, reserved=reserved)
        rate = self.rate_limits(context.user_id) if around.rate_limits else []
        absolute = {**absolute_limits(around, limits), **used_limits(around, usage)}
        for hidden in resource_versions.rows_at(req, HIDDEN):
            for name in hidden:
                absolute.pop(name, None)
        return 200, {"limits": {"rate": build_rate_limits(rate), "absolute": absolute}}, {}


def _project(req: webob.Request) -> str:
    """The caller's project, or on /v2.1 the ``tenant_id`` an admin asks about."""
    context = req.environ["nova.context"]
    asked = req.GET.get("tenant_id")
    if asked is None or resource_versions.version_of(req) is None:
        return str(context.project_id)
    if not context.is_admin:
        raise ApiError(403, "Policy doesn't allow %s to be performed." % OTHER_PROJECT_POLICY)
    return asked


def absolute_limits(around: AroundCreate, limits: Mapping[str, int]) -> dict[str, int]:
    return {name: limits[resource] for resource, name in around.absolute_limits}


def used_limits(around: AroundCreate, usage: Mapping[str, int]) -> dict[str, int]:
    return {name: usage.get(resource, 0) for name, resource in around.used_limits}


def build_rate_limits(rate_limits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Icehouse's view: the limits grouped by URI and regex."""
    grouped: list[dict[str, Any]] = []
    for limit in rate_limits:
        group = next(
            (g for g in grouped if (g["uri"], g["regex"]) == (limit["URI"], limit["regex"])),
            None,
        )
        if group is None:
            group = {"uri": limit["URI"], "regex": limit["regex"], "limit": []}
            grouped.append(group)
        group["limit"].append(
            {
                "verb": limit["verb"],
                "value": limit["value"],
                "remaining": int(limit["remaining"]),
                "unit": limit["unit"],
                "next-available": _isotime(limit["resetTime"]),
            }
        )
    return grouped


def _isotime(timestamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
