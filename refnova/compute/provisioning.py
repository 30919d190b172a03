"""The rows of a create: Nova's ``_provision_instances`` and the steps it takes (spec §1.3):
the server group (A26), the quota (A24), each instance's values, its block device mappings
checked (A25) and its rows, and the action records, in one database transaction, so that a
request that fails anywhere leaves nothing behind.

``Provisioning`` is a base class of ``compute.api.API``: its steps keep Nova's names and
spans, and use the API's database, image and volume services and options.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from refnova import behaviours, block_device, exception, quota, tracing, utils
from refnova.compute import behaviours as compute_behaviours
from refnova.compute import block_devices, create_request
from refnova.compute import utils as compute_utils
from refnova.compute.create_request import CreateRequest, InstanceValues
from refnova.context import RequestContext
from refnova.db import api as db_api
from refnova.db import instance_extras, models
from refnova.db import reservations as db_reservations
from refnova.image.glance import ImageService
from refnova.volume.cinder import WorldVolumes

if TYPE_CHECKING:
    from refnova.compute.api import ComputeConfig


class Provisioning:
    """The provisioning steps of ``compute.api.API``, over the API's services."""

    db: db_api.Database
    image_service: ImageService
    volume_api: WorldVolumes
    config: ComputeConfig

    @functools.cached_property
    def registered_behaviours(self) -> behaviours.Parsed:
        """This API's registered behaviours, each parsed once (``behaviours.Parsed``)."""
        return behaviours.Parsed()

    @tracing.traced("compute.api.API._check_num_instances_quota")
    def _check_num_instances_quota(
        self,
        session: Session,
        context: RequestContext,
        flavor: models.FlavorRecord,
        min_count: int,
        max_count: int,
    ) -> tuple[int, list[str]]:
        """A24: reserve instances, cores and RAM; settle for fewer when min_count allows."""
        limits = db_api.quota_limits(session, self.config.quotas, context.project_id)
        vram = quota.video_ram(flavor)
        try:
            reservations = db_reservations.quota_reserve(
                session, context.project_id, quota.deltas(flavor, max_count), limits
            )
            return max_count, reservations
        except exception.OverQuota as over:
            allowed = quota.allowed_by_headroom(over.kwargs, flavor, vram)
            if 0 < allowed and min_count <= allowed <= max_count:
                return self._check_num_instances_quota(session, context, flavor, min_count, allowed)
            raise quota.too_many_instances(over.kwargs, flavor, vram, min_count, max_count)

    @tracing.traced("compute.api.API._provision_instances")
    def _provision_instances(self, request: CreateRequest) -> list[InstanceValues]:
        """The rows of every instance, its quota and its action record, in one transaction."""
        with self.db.transaction() as session:
            # The behaviour the request meets (refnova.behaviours), its sequence step taken in
            # this transaction; one that refuses the create leaves only that step behind.
            refusal = compute_behaviours.choose(
                session, self.registered_behaviours, self.config.quotas, request
            )
            if refusal is None:
                instances = self._write_rows(session, request)
        if refusal is not None:
            raise refusal
        if tracing.recording():
            tracing.annotate(
                {
                    "nova.instance_uuids": [instance["uuid"] for instance in instances],
                    "nova.reservation_id": request.base_options["reservation_id"],
                    "nova.num_instances": len(instances),
                }
            )
        # Nova sends the same BDM dicts to the conductor, with the last instance's uuid.
        for bdm in request.block_device_mapping:
            bdm["volume_size"] = block_device.volume_size(request.flavor, bdm)
            bdm["instance_uuid"] = instances[-1]["uuid"]
        return instances

    def _write_rows(self, session: Session, request: CreateRequest) -> list[InstanceValues]:
        """The group, the quota, each instance's rows and its action record."""
        context = request.context
        request.group = self._instance_group_for(session, context, request.scheduler_hints)
        num_instances, reservations = self._check_num_instances_quota(
            session, context, request.flavor, request.min_count, request.max_count
        )
        template = self.config.multi_instance_display_name_template
        instances = [
            create_request.instance_values(request, index, num_instances, template)
            for index in range(num_instances)
        ]
        rows = compute_utils.InstanceRows()
        for instance in instances:
            block_devices.validate_bdm(
                self.image_service,
                self.volume_api,
                context,
                instance,
                request.flavor,
                request.block_device_mapping,
                self.config.max_local_block_devices,
            )
            rows.add(
                instance, request.flavor, request.block_device_mapping, request.scheduler_hints
            )
        rows.add_group_members(request.group, instances)
        db_api.instances_create(
            session,
            rows.instances,
            rows.metadata,
            rows.system_metadata,
            rows.bdms,
            rows.group_members,
        )
        instance_extras.create(session, rows.tags, rows.extras)
        compute_behaviours.store(
            session, request.behaviour, [instance["uuid"] for instance in instances]
        )
        db_reservations.reservation_commit(session, reservations)
        self._record_action_start(session, context, instances)
        return instances

    def _instance_group_for(
        self, session: Session, context: RequestContext, hints: Any
    ) -> models.InstanceGroup | None:
        """A26, checked before any row is written (Icehouse checked it after, leaving rows)."""
        group_hint = hints.get("group") if isinstance(hints, dict) else None
        if not group_hint:
            return None
        return db_api.instance_group_get_by_hint(
            session, context.project_id, context.user_id, utils.py2_str(group_hint)
        )

    @tracing.traced("compute.api.API._record_action_start")
    def _record_action_start(
        self, session: Session, context: RequestContext, instances: Sequence[Mapping[str, Any]]
    ) -> None:
        now = models.utcnow()
        db_api.actions_start(
            session,
            [
                {
                    "action": "create",
                    "instance_uuid": instance["uuid"],
                    "request_id": context.request_id,
                    "user_id": context.user_id,
                    "project_id": context.project_id,
                    "start_time": now,
                }
                for instance in instances
            ],
        )
