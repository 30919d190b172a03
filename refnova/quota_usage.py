"""The quota engine's read side (Nova's ``QUOTAS.get_defaults`` and ``get_project_quotas``):
the default limits, a project's own limits, and what the project uses.

The world's ``quotas`` set the defaults of the resources it names; the others keep
Icehouse's defaults (``nova/quota.py`` of 2014.1, with Juno's server group quotas).
"""

from __future__ import annotations

from collections.abc import Mapping

from refnova.db import api as db_api
from refnova.db import resources as db_resources

ICEHOUSE_DEFAULTS = {
    "instances": 10,
    "cores": 20,
    "ram": 51200,
    "floating_ips": 10,
    "fixed_ips": -1,
    "metadata_items": 128,
    "injected_files": 5,
    "injected_file_content_bytes": 10240,
    "injected_file_path_bytes": 255,
    "security_groups": 10,
    "security_group_rules": 20,
    "key_pairs": 100,
    "server_groups": 10,
    "server_group_members": 10,
}
# Usage the quota engine keeps rows for (the create path's reservations).
COUNTED = ("instances", "cores", "ram")


class QuotaReader:
    """Limits and usage, read from the database over the deployment's defaults."""

    def __init__(self, db: db_api.Database, world_quotas: Mapping[str, int]) -> None:
        self.db = db
        self.defaults = {**ICEHOUSE_DEFAULTS, **world_quotas}

    def get_defaults(self) -> dict[str, int]:
        return dict(self.defaults)

    def get_project_quotas(self, project_id: str) -> dict[str, int]:
        """The project's limits: its own where it has them, else the defaults."""
        with self.db.reading() as connection:
            return dict(db_api.quota_limits(connection, self.defaults, project_id))

    def get_project_usage(self, project_id: str, reserved: bool = False) -> dict[str, int]:
        """What the project uses of each resource (with its reservations if ``reserved``);
        resources that neither Nova's engine nor refnova counts are 0."""
        with self.db.transaction() as session:
            rows = db_resources.quota_usages(session, project_id)
            server_groups = db_resources.server_group_count(session, project_id)
        usage = {resource: 0 for resource in self.defaults}
        for resource, (in_use, held) in rows.items():
            usage[resource] = in_use + (held if reserved else 0)
        usage["server_groups"] = server_groups
        return usage
