"""compute.api.API: create and _create_instance, index and delete, as Nova 2014.1 has them.

Each step is one of Nova's (§1.3 of the spec), under Nova's name, raising Nova's exception
where Nova did. The traced steps are the API's methods (those that write the rows in its base
class, ``provisioning.Provisioning``); the others live beside it: ``create_checks`` (the
checks that need no service), ``base_options`` (those that ask one), ``block_devices`` (A6,
A23, A25) and ``create_request`` (the request and each instance's values). Provisioning
writes every row of a request in one transaction, so a request that fails anywhere leaves
nothing behind.
"""

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from refnova import exception, quota, tracing, utils
from refnova.block_device import BlockDeviceDict
from refnova.compute import base_options as base_option_steps
from refnova.compute import behaviours as compute_behaviours
from refnova.compute import block_devices, create_request, flavors, provisioning
from refnova.compute import create_checks as checks
from refnova.compute import utils as compute_utils
from refnova.compute.create_request import CreateRequest, InstanceValues
from refnova.conductor.api import ComputeTaskAPI
from refnova.context import RequestContext
from refnova.db import api as db_api
from refnova.db import instance_queries, models
from refnova.db import reservations as db_reservations
from refnova.image.glance import ImageService
from refnova.network import neutron
from refnova.policy import Enforcer
from refnova.volume.cinder import WorldVolumes


@dataclasses.dataclass(frozen=True)
class ComputeConfig:
    """The Icehouse options that shape create (§0)."""

    quotas: dict[str, int]
    default_schedule_zone: str | None = None
    max_local_block_devices: int = 3
    multi_instance_display_name_template: str = "%(name)s-%(uuid)s"
    password_length: int = 12
    enable_instance_password: bool = True
    null_kernel: str = "nokernel"


class API(provisioning.Provisioning):
    """Nova's compute API: create (its rows written by ``Provisioning``), index, delete."""

    def __init__(
        self,
        db: db_api.Database,
        image_service: ImageService,
        network_api: neutron.API,
        volume_api: WorldVolumes,
        conductor_api: ComputeTaskAPI,
        policy: Enforcer,
        config: ComputeConfig,
    ) -> None:
        self.db = db
        self.image_service = image_service
        self.network_api = network_api
        self.volume_api = volume_api
        self.compute_task_api = conductor_api
        self.policy = policy
        self.config = config

    # --- create -------------------------------------------------------------------------

    @tracing.traced("compute.api.API.create")
    def create(
        self,
        context: RequestContext,
        instance_type: models.FlavorRecord,
        image_href: str | None,
        *,
        max_count: int | None = None,
        min_count: int | None = None,
        requested_networks: checks.RequestedNetworks | None = None,
        block_device_mapping: list[BlockDeviceDict] | None = None,
        availability_zone: Any = None,
        allow_duplicate_networks: bool = False,
        reject_fixed_ip_with_max_count: bool = False,
        hostname: str | None = None,
        tags: list[str] | None = None,
        trusted_certs: list[str] | None = None,
        requested_host: str | None = None,
        requested_hypervisor_hostname: str | None = None,
        placement_claims_forced_host: bool = False,
        **kwargs: Any,
    ) -> tuple[list[InstanceValues], str]:
        """Icehouse's create. Two options give today's Nova behaviour, as today's Nova's
        controller passes its own microversion-dependent flags: ``allow_duplicate_networks``
        (a network may be requested twice) and ``reject_fixed_ip_with_max_count``. Later
        microversions add a ``hostname`` (2.90), ``tags`` (2.52), ``trusted_certs`` (2.63)
        and a requested host or node (2.74)."""
        self._check_create_policies(
            context, availability_zone, requested_networks, block_device_mapping
        )
        if requested_host or requested_hypervisor_hostname:
            self._check_requested_destination(
                context, requested_host, requested_hypervisor_hostname
            )
        if requested_networks and max_count and max_count > 1:
            if reject_fixed_ip_with_max_count:
                checks.check_multiple_instances_with_specified_ip(requested_networks)
            checks.check_multiple_instances_neutron_ports(requested_networks)
        if hostname and max_count is not None and max_count > 1:
            raise exception.AmbiguousHostnameForMultipleInstances()
        return self._create_instance(
            context,
            instance_type,
            image_href,
            min_count=min_count,
            max_count=max_count,
            requested_networks=requested_networks,
            block_device_mapping=block_device_mapping,
            availability_zone=availability_zone,
            allow_duplicate_networks=allow_duplicate_networks,
            hostname=hostname,
            tags=tags,
            trusted_certs=trusted_certs,
            requested_destination=_destination(requested_host, requested_hypervisor_hostname),
            placement=placement_claims_forced_host,
            **kwargs,
        )

    def _check_requested_destination(
        self, context: RequestContext, host: str | None, node: str | None
    ) -> None:
        """2.74: admins only; the host (and node) must be a compute node of the world."""
        self.policy.enforce(context, "compute:servers:create:requested_destination")
        with self.db.transaction() as session:
            if not db_api.compute_node_exists(session, host, node):
                raise exception.ComputeHostNotFound(host=host or node)

    def _check_create_policies(
        self,
        context: RequestContext,
        availability_zone: Any,
        requested_networks: checks.RequestedNetworks | None,
        block_device_mapping: list[BlockDeviceDict] | None,
    ) -> None:
        self.policy.enforce(context, "compute:create")
        if requested_networks:
            self.policy.enforce(context, "compute:create:attach_network")
        if block_device_mapping:
            self.policy.enforce(context, "compute:create:attach_volume")

    @tracing.traced("compute.api.API._create_instance")
    def _create_instance(
        self,
        context: RequestContext,
        instance_type: models.FlavorRecord,
        image_href: str | None,
        *,
        display_name: str,
        display_description: str | None,
        key_name: Any,
        metadata: Any,
        access_ip_v4: Any,
        access_ip_v6: Any,
        injected_files: Sequence[tuple[Any, Any]],
        admin_password: str | None,
        min_count: int | None,
        max_count: int | None,
        requested_networks: checks.RequestedNetworks | None,
        security_group: list[str] | None,
        user_data: Any,
        availability_zone: Any,
        config_drive: Any,
        block_device_mapping: list[BlockDeviceDict] | None,
        auto_disk_config: Any,
        scheduler_hints: Any,
        legacy_bdm: bool,
        allow_duplicate_networks: bool = False,
        hostname: str | None = None,
        tags: list[str] | None = None,
        trusted_certs: list[str] | None = None,
        requested_destination: dict[str, str] | None = None,
        placement: bool = False,
    ) -> tuple[list[InstanceValues], str]:
        reservation_id = utils.generate_uid("r")
        if tracing.recording():
            tracing.annotate(
                {
                    "nova.reservation_id": reservation_id,
                    "nova.project_id": context.project_id,
                    "nova.request_id": context.request_id,
                }
            )
        security_groups = security_group or ["default"]
        min_count = min_count or 1
        max_count = max_count or min_count
        block_device_mapping = block_device_mapping or []

        image_id, boot_meta = self._get_image(context, image_href, block_device_mapping, legacy_bdm)
        checks.check_auto_disk_config(image_id, boot_meta, auto_disk_config)
        availability_zone, forced_host, forced_node = base_option_steps.handle_availability_zone(
            self.policy, self.config.default_schedule_zone, context, availability_zone
        )
        base_options, max_net_count = self._validate_and_build_base_options(
            context,
            instance_type,
            boot_meta,
            image_id,
            kernel_id=None,
            ramdisk_id=None,
            display_name=display_name,
            display_description=display_description,
            key_name=key_name,
            user_data=user_data,
            security_groups=security_groups,
            availability_zone=availability_zone,
            forced_host=forced_host,
            metadata=metadata,
            access_ip_v4=access_ip_v4,
            access_ip_v6=access_ip_v6,
            requested_networks=requested_networks,
            config_drive=config_drive,
            auto_disk_config=auto_disk_config,
            reservation_id=reservation_id,
            max_count=max_count,
            injected_files=injected_files,
            allow_duplicate_networks=allow_duplicate_networks,
        )
        # Later microversions' fields (2.90, 2.52, 2.63), kept with each instance's rows.
        base_options.update(
            {
                k: v
                for k, v in dict(hostname=hostname, tags=tags, trusted_certs=trusted_certs).items()
                if v
            }
        )
        if max_net_count == 0:
            raise exception.PortLimitExceeded()
        max_count = min(max_count, max_net_count)
        block_device_mapping = block_devices.check_and_transform_bdm(
            base_options, boot_meta, min_count, max_count, block_device_mapping, legacy_bdm
        )
        request = CreateRequest(
            context=context,
            flavor=instance_type,
            image_id=image_id,
            boot_meta=boot_meta,
            base_options=base_options,
            block_device_mapping=block_device_mapping,
            min_count=min_count,
            max_count=max_count,
            security_groups=security_groups,
            scheduler_hints=scheduler_hints or {},
            forced_host=forced_host,
            forced_node=forced_node,
            requested_destination=requested_destination,
            placement=placement,
        )
        instances = self._provision_instances(request)
        behaviour = request.behaviour  # chosen with the rows (refnova.behaviours)
        if tracing.recording():
            tracing.annotate({"nova.instance_uuids": [instance["uuid"] for instance in instances]})
        filter_properties = create_request.build_filter_properties(request)
        try:
            compute_behaviours.before_cast(behaviour)
            self.compute_task_api.build_instances(
                context,
                instances=instances,
                image=boot_meta,
                filter_properties=filter_properties,
                admin_password=admin_password,
                injected_files=injected_files,
                requested_networks=None
                if requested_networks is None
                else [list(n) for n in requested_networks],
                security_groups=security_groups,
                block_device_mapping=block_device_mapping,
                legacy_bdm=False,
                behaviour=behaviour,
            )
        except exception.ServiceUnavailable as error:
            self._abandon_build(context, instances, instance_type, error)
            raise
        compute_behaviours.after_cast(behaviour)
        return instances, reservation_id

    def _abandon_build(
        self,
        context: RequestContext,
        instances: Sequence[Mapping[str, Any]],
        flavor: models.FlavorRecord,
        error: exception.NovaException,
    ) -> None:
        """The cast never reached the broker: the instances go to ERROR with a fault and the
        quota they took is released, so that nothing waits for a build that will not come."""
        with self.db.transaction() as session:
            abandoned = db_api.instances_set_error(
                session,
                [instance["uuid"] for instance in instances],
                error.code,
                error.format_message(),
            )
            if abandoned:
                db_reservations.quota_release(
                    session, context.project_id, quota.deltas(flavor, len(abandoned))
                )
                db_api.mark_quota_released(session, abandoned)

    # --- index and delete ----------------------------------------------------------------

    @tracing.traced("compute.api.API.get_all")
    def get_all(
        self, context: RequestContext, filters: instance_queries.InstanceFilters | None = None
    ) -> Sequence[models.Instance]:
        """The servers that pass the filters (default: the project's live ones), newest
        first. Across projects only with compute:get_all_tenants, and for an admin: as in
        Icehouse, a user asking for every project still gets their own."""
        self.policy.enforce(context, "compute:get_all")
        filters = filters or instance_queries.InstanceFilters(project_id=context.project_id)
        if filters.project_id is None:
            self.policy.enforce(context, "compute:get_all_tenants")
            if not context.is_admin:
                filters = dataclasses.replace(filters, project_id=context.project_id)
        with self.db.snapshot() as session:
            instances = instance_queries.instances_by_filters(session, filters)
            for instance in instances:
                session.expunge(instance)
            return instances

    @tracing.traced("compute.api.API.delete")
    def delete(self, context: RequestContext, instance_uuid: str) -> None:
        """Delete a server of the caller's project, at once and in one transaction.

        Icehouse cast the delete of an instance with a host to that host; refnova's compute
        is in-process, so it all happens here: the row soft-deleted, its quota released, its
        host's claim freed, a 'delete' action recorded. The row lock keeps a conductor that
        builds the same instance from claiming a host for it afterwards.
        """
        self.policy.enforce(context, "compute:delete")
        with self.db.transaction() as session:
            instance = db_api.instance_get_for_update(session, instance_uuid, context.project_id)
            # A behaviour that refuses the delete leaves only its count behind (committed).
            refusal = compute_behaviours.delete_refusal(session, instance_uuid)
            if refusal is None:
                self._delete_rows(session, context, instance)
        if refusal is not None:
            raise refusal

    def _delete_rows(
        self, session: Session, context: RequestContext, instance: models.Instance
    ) -> None:
        """Soft-delete the locked row, give back its quota and its host's claim, record it."""
        now = models.utcnow()
        flavor = session.get(models.Flavor, instance.instance_type_id)
        vram = quota.video_ram(flavor) if flavor is not None else 0
        if not db_api.quota_already_released(session, instance.uuid):
            db_reservations.quota_release(
                session,
                instance.project_id,
                {"instances": 1, "cores": instance.vcpus, "ram": instance.memory_mb + vram},
            )
        if instance.host:
            db_api.compute_node_release(
                session,
                instance.host,
                instance.node,
                instance.memory_mb,
                instance.root_gb + instance.ephemeral_gb,
            )
        # What the compute leaves of a deleted instance: no power, no ports.
        instance.power_state, instance.network_info = 0, []
        db_api.instance_soft_delete(session, instance, now)
        db_api.actions_start(
            session,
            [
                {
                    "action": "delete",
                    "instance_uuid": instance.uuid,
                    "request_id": context.request_id,
                    "user_id": context.user_id,
                    "project_id": context.project_id,
                    "start_time": now,
                    "finish_time": now,
                }
            ],
        )

    # --- image ----------------------------------------------------------------------------

    def _get_image(
        self,
        context: RequestContext,
        image_href: str | None,
        block_device_mapping: list[BlockDeviceDict],
        legacy_bdm: bool,
    ) -> tuple[str | None, dict[str, Any]]:
        """A6: the Glance image, or for boot from volume the root BDM's image properties."""
        if image_href:
            return image_href, self.image_service.show(context, image_href)
        properties = block_devices.get_bdm_image_metadata(
            self.image_service, self.volume_api, context, block_device_mapping, legacy_bdm
        )
        return None, {"properties": properties}

    # --- base options -----------------------------------------------------------------------

    @tracing.traced("compute.api.API._validate_and_build_base_options")
    def _validate_and_build_base_options(
        self,
        context: RequestContext,
        instance_type: models.FlavorRecord,
        boot_meta: Mapping[str, Any],
        image_id: str | None,
        *,
        kernel_id: Any,
        ramdisk_id: Any,
        display_name: str,
        display_description: str | None,
        key_name: Any,
        user_data: Any,
        security_groups: list[str],
        availability_zone: Any,
        forced_host: str | None,
        metadata: Any,
        access_ip_v4: Any,
        access_ip_v6: Any,
        requested_networks: checks.RequestedNetworks | None,
        config_drive: Any,
        auto_disk_config: Any,
        reservation_id: str,
        max_count: int,
        injected_files: Sequence[tuple[Any, Any]],
        allow_duplicate_networks: bool = False,
    ) -> tuple[dict[str, Any], int]:
        if availability_zone and forced_host is None:
            with self.db.transaction() as session:
                if not checks.hashable(
                    availability_zone
                ) or availability_zone not in db_api.availability_zones(session):
                    raise exception.InvalidRequest(
                        "The requested availability zone is not available"
                    )
        if instance_type.disabled:
            raise exception.FlavorNotFound(flavor_id=instance_type.id)
        checks.check_user_data_size(user_data)
        metadata = checks.checks_for_create_and_rebuild(
            image_id, boot_meta, instance_type, metadata, injected_files, self.config.quotas
        )
        base_option_steps.check_requested_secgroups(self.network_api, context, security_groups)
        max_network_count = self.network_api.validate_networks(
            context, requested_networks, max_count, allow_duplicates=allow_duplicate_networks
        )
        kernel_id, ramdisk_id = base_option_steps.handle_kernel_and_ramdisk(
            self.image_service, self.config.null_kernel, context, kernel_id, ramdisk_id, boot_meta
        )
        config_drive = checks.check_config_drive(config_drive)
        key_data = base_option_steps.key_data(self.db, context, key_name)
        properties = boot_meta.get("properties", {})
        base_options = {
            "reservation_id": reservation_id,
            "image_ref": image_id or "",
            "kernel_id": kernel_id or "",
            "ramdisk_id": ramdisk_id or "",
            "power_state": 0,
            "vm_state": "building",
            "config_drive": config_drive,
            "user_id": context.user_id,
            "project_id": context.project_id,
            "instance_type_id": instance_type.id,
            "memory_mb": instance_type.memory_mb,
            "vcpus": instance_type.vcpus,
            "root_gb": instance_type.root_gb,
            "ephemeral_gb": instance_type.ephemeral_gb,
            "display_name": display_name,
            # Today's Nova keeps a 2.19 request's missing description as None.
            "display_description": display_description,
            "user_data": user_data,
            "key_name": key_name if key_data is not None else None,
            "key_data": key_data,
            "locked": False,
            "metadata": metadata,
            "access_ip_v4": access_ip_v4,
            "access_ip_v6": access_ip_v6,
            "availability_zone": availability_zone,
            "root_device_name": compute_utils.root_device_name(properties),
            "progress": 0,
            "system_metadata": flavors.system_metadata(instance_type),
            **compute_utils.inherit_properties_from_image(properties, auto_disk_config),
        }
        return base_options, max_network_count


def _destination(host: str | None, node: str | None) -> dict[str, str] | None:
    """2.74's requested host and/or node as the scheduler receives it (Nova's Destination)."""
    destination = {key: value for key, value in (("host", host), ("node", node)) if value}
    return destination or None
