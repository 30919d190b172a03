"""``os-quota-sets/{project_id}`` and ``.../defaults`` (Nova's ``QuotaSetsController``
show and defaults): every quota resource of the contract, with the project's limits or
the defaults. A non-admin may read its own project's quota set only."""

from __future__ import annotations

from collections.abc import Mapping

import webob

from refnova import tracing
from refnova.api.openstack import contracts
from refnova.api.openstack.common import Answer
from refnova.api.openstack.compute import resource_versions
from refnova.api.openstack.compute.around import AroundCreate
from refnova.exception import ApiError
from refnova.quota_usage import QuotaReader

# The quotas Nova stops showing, by the microversion it stops at: 2.36 the network ones
# (Neutron's now), 2.57 the personality ones.
HIDDEN = resource_versions.rows(
    [
        ("2.36", ("fixed_ips", "floating_ips", "security_group_rules", "security_groups")),
        ("2.57", ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")),
    ]
)
SHOW_QUERY = resource_versions.query_rules(("2.75", ("user_id",), True))


def quota_set(
    req: webob.Request, around: AroundCreate, project_id: str, limits: Mapping[str, int]
) -> dict[str, object]:
    values = {**limits, **around.quota_overrides}
    hidden = {name for names in resource_versions.rows_at(req, HIDDEN) for name in names}
    body: dict[str, object] = {"id": str(project_id)}
    body.update(
        {
            resource: values[resource]
            for resource in around.quota_resources
            if resource not in hidden
        }
    )
    return {"quota_set": body}


class Controller:
    def __init__(self, quotas: QuotaReader) -> None:
        self.quotas = quotas

    @tracing.traced("quota_sets.Controller.show")
    def show(self, req: webob.Request, tenant_id: str) -> Answer:
        resource_versions.check_query(req, SHOW_QUERY)
        context = req.environ["nova.context"]
        around = contracts.contract_of(req).around
        if not context.is_admin and context.project_id != tenant_id:
            raise ApiError(403, around.quota_forbidden)
        return 200, quota_set(req, around, tenant_id, self.quotas.get_project_quotas(tenant_id)), {}

    @tracing.traced("quota_sets.Controller.defaults")
    def defaults(self, req: webob.Request, tenant_id: str) -> Answer:
        around = contracts.contract_of(req).around
        return 200, quota_set(req, around, tenant_id, self.quotas.get_defaults()), {}
