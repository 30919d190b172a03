"""compute.api.API: create and _create_instance, with the helpers Nova 2014.1 names.

Each helper is one of Nova's steps (§1.3 of the spec), raising Nova's exception where
Nova did. Provisioning writes every row of a request in one transaction, so a request
that fails anywhere leaves nothing behind.
"""

import dataclasses
import uuid

from refnova import block_device, exception, quota, tracing, utils
from refnova.compute import create_checks as checks
from refnova.compute import flavors
from refnova.compute import utils as compute_utils
from refnova.db import api as db_api
from refnova.db import models


@dataclasses.dataclass(frozen=True)
class ComputeConfig:
    """The Icehouse options that shape create (§0)."""

    quotas: dict
    default_schedule_zone: str | None = None
    max_local_block_devices: int = 3
    multi_instance_display_name_template: str = "%(name)s-%(uuid)s"
    password_length: int = 12
    enable_instance_password: bool = True
    null_kernel: str = "nokernel"


@dataclasses.dataclass
class CreateRequest:
    """What _create_instance works out before it writes any row."""

    context: object
    flavor: object
    image_id: str
    boot_meta: dict
    base_options: dict
    block_device_mapping: list
    min_count: int
    max_count: int
    security_groups: list
    scheduler_hints: dict
    forced_host: str | None
    forced_node: str | None
    group: object = None


class API:
    def __init__(self, db, image_service, network_api, volume_api, conductor_api, policy, config):
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
        context,
        instance_type,
        image_href,
        *,
        max_count=None,
        min_count=None,
        requested_networks=None,
        block_device_mapping=None,
        availability_zone=None,
        allow_duplicate_networks=False,
        reject_fixed_ip_with_max_count=False,
        **kwargs,
    ):
        """Icehouse's create. Two options give today's Nova behaviour, as today's Nova's
        controller passes its own microversion-dependent flags: ``allow_duplicate_networks``
        (a network may be requested twice) and ``reject_fixed_ip_with_max_count``."""
        self._check_create_policies(
            context, availability_zone, requested_networks, block_device_mapping
        )
        if requested_networks and max_count and max_count > 1:
            if reject_fixed_ip_with_max_count:
                checks.check_multiple_instances_with_specified_ip(requested_networks)
            checks.check_multiple_instances_neutron_ports(requested_networks)
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
            **kwargs,
        )

    def _check_create_policies(
        self, context, availability_zone, requested_networks, block_device_mapping
    ):
        self.policy.enforce(context, "compute:create")
        if requested_networks:
            self.policy.enforce(context, "compute:create:attach_network")
        if block_device_mapping:
            self.policy.enforce(context, "compute:create:attach_volume")

    @tracing.traced("compute.api.API._create_instance")
    def _create_instance(
        self,
        context,
        instance_type,
        image_href,
        *,
        display_name,
        display_description,
        key_name,
        metadata,
        access_ip_v4,
        access_ip_v6,
        injected_files,
        admin_password,
        min_count,
        max_count,
        requested_networks,
        security_group,
        user_data,
        availability_zone,
        config_drive,
        block_device_mapping,
        auto_disk_config,
        scheduler_hints,
        legacy_bdm,
        allow_duplicate_networks=False,
    ):
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
        availability_zone, forced_host, forced_node = self._handle_availability_zone(
            context, availability_zone
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
        if max_net_count == 0:
            raise exception.PortLimitExceeded()
        max_count = min(max_count, max_net_count)
        block_device_mapping = self._check_and_transform_bdm(
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
        )
        instances = self._provision_instances(request)
        if tracing.recording():
            tracing.annotate({"nova.instance_uuids": [instance["uuid"] for instance in instances]})
        filter_properties = self._build_filter_properties(request)
        try:
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
            )
        except exception.ServiceUnavailable as error:
            self._abandon_build(context, instances, instance_type, error)
            raise
        return instances, reservation_id

    def _abandon_build(self, context, instances, flavor, error):
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
                db_api.quota_release(
                    session, context.project_id, quota.deltas(flavor, len(abandoned))
                )
                db_api.mark_quota_released(session, abandoned)

    # --- index and delete ----------------------------------------------------------------

    def get_all(self, context):
        """The caller's project's servers that are not deleted, newest first."""
        self.policy.enforce(context, "compute:get_all")
        with self.db.transaction() as session:
            instances = db_api.instances_list(session, context.project_id)
            for instance in instances:
                session.expunge(instance)
            return instances

    @tracing.traced("compute.api.API.delete")
    def delete(self, context, instance_uuid):
        """Delete a server of the caller's project, at once and in one transaction.

        Icehouse cast the delete of an instance with a host to that host; refnova's compute
        is in-process, so it all happens here: the row soft-deleted, its quota released, its
        host's claim freed, a 'delete' action recorded. The row lock keeps a conductor that
        builds the same instance from claiming a host for it afterwards.
        """
        self.policy.enforce(context, "compute:delete")
        now = models.utcnow()
        with self.db.transaction() as session:
            instance = db_api.instance_get_for_update(session, instance_uuid, context.project_id)
            flavor = session.get(models.Flavor, instance.instance_type_id)
            vram = quota.video_ram(flavor) if flavor is not None else 0
            if not db_api.quota_already_released(session, instance.uuid):
                db_api.quota_release(
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

    def _get_image(self, context, image_href, block_device_mapping, legacy_bdm):
        """A6: the Glance image, or for boot from volume the root BDM's image properties."""
        if image_href:
            return image_href, self.image_service.show(context, image_href)
        return None, {
            "properties": self._get_bdm_image_metadata(context, block_device_mapping, legacy_bdm)
        }

    def _get_bdm_image_metadata(self, context, block_device_mapping, legacy_bdm):
        for bdm in block_device_mapping:
            if legacy_bdm and bdm.get("device_name") != "vda":
                continue
            if not legacy_bdm and bdm.get("boot_index") != 0:
                continue
            if bdm.get("image_id"):
                try:
                    return self.image_service.show(context, bdm["image_id"]).get("properties", {})
                except exception.NovaException:
                    raise exception.InvalidBDMImage(id=bdm["image_id"])
            if bdm.get("volume_id"):
                try:
                    volume = self.volume_api.get(context, bdm["volume_id"])
                except exception.NovaException:
                    raise exception.InvalidBDMVolume(id=bdm["volume_id"])
                return volume.get("volume_image_metadata", {})
        return {}

    # --- availability zone ------------------------------------------------------------------

    def _handle_availability_zone(self, context, availability_zone):
        """A8/A9: the legacy ``az:host:node`` form forces a host (admins only)."""
        forced_host = forced_node = None
        if availability_zone:
            if isinstance(availability_zone, (bool, int, float)):
                raise exception.MalformedInput()
            if isinstance(availability_zone, str) and ":" in availability_zone:
                availability_zone, forced_host, forced_node = checks.split_zone(availability_zone)
        if not availability_zone:
            availability_zone = self.config.default_schedule_zone
        if forced_host:
            self.policy.enforce(context, "compute:create:forced_host")
        if forced_node:
            self.policy.enforce(context, "compute:create:forced_host")
        return availability_zone, forced_host, forced_node

    # --- base options -----------------------------------------------------------------------

    @tracing.traced("compute.api.API._validate_and_build_base_options")
    def _validate_and_build_base_options(
        self,
        context,
        instance_type,
        boot_meta,
        image_id,
        *,
        kernel_id,
        ramdisk_id,
        display_name,
        display_description,
        key_name,
        user_data,
        security_groups,
        availability_zone,
        forced_host,
        metadata,
        access_ip_v4,
        access_ip_v6,
        requested_networks,
        config_drive,
        auto_disk_config,
        reservation_id,
        max_count,
        injected_files,
        allow_duplicate_networks=False,
    ):
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
        metadata = self._checks_for_create_and_rebuild(
            context, image_id, boot_meta, instance_type, metadata, injected_files
        )
        self._check_requested_secgroups(context, security_groups)
        max_network_count = self.network_api.validate_networks(
            context, requested_networks, max_count, allow_duplicates=allow_duplicate_networks
        )
        kernel_id, ramdisk_id = self._handle_kernel_and_ramdisk(
            context, kernel_id, ramdisk_id, boot_meta
        )
        config_drive = checks.check_config_drive(config_drive)
        key_data = self._key_data(context, key_name)
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
            "display_description": display_description or "",
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

    def _checks_for_create_and_rebuild(
        self, context, image_id, image, instance_type, metadata, files_to_inject
    ):
        metadata = checks.check_metadata_properties_quota(metadata, self.config.quotas)
        checks.check_injected_file_quota(files_to_inject, self.config.quotas)
        if image_id is not None:
            checks.check_requested_image(image_id, image, instance_type)
        return metadata

    def _check_requested_secgroups(self, context, security_groups):
        """A17: every group but the literal 'default' must exist (Neutron driver)."""
        for name in security_groups:
            if name != "default":
                self.network_api.get_security_group(context, utils.py2_str(name))

    def _handle_kernel_and_ramdisk(self, context, kernel_id, ramdisk_id, image):
        """A19: kernel and ramdisk named by the image must exist in Glance."""
        properties = image.get("properties", {})
        kernel_id = properties.get("kernel_id") if kernel_id is None else kernel_id
        ramdisk_id = properties.get("ramdisk_id") if ramdisk_id is None else ramdisk_id
        if kernel_id == self.config.null_kernel:
            return None, None
        for image_id in (kernel_id, ramdisk_id):
            if image_id is not None:
                self.image_service.show(context, utils.py2_str(image_id).split("/")[-1])
        return kernel_id, ramdisk_id

    def _key_data(self, context, key_name):
        """A21: a truthy key_name must name one of the user's key pairs."""
        if not key_name:
            return None
        if not isinstance(key_name, str):
            raise exception.KeypairNotFound(user_id=context.user_id, name=key_name)
        with self.db.transaction() as session:
            return db_api.key_pair_get(session, context.user_id, key_name).public_key

    # --- block device mappings ----------------------------------------------------------------

    def _check_and_transform_bdm(
        self, base_options, image_meta, min_count, max_count, block_device_mapping, legacy_bdm
    ):
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

    def _validate_bdm(self, context, instance, instance_type, all_mappings):
        """A25 (V1-V9): boot order, the devices behind each mapping, and local disk limits."""
        checks.check_boot_sequence(all_mappings)
        for bdm in all_mappings:
            self._validate_bdm_device(context, instance, bdm)
        checks.check_bdm_local_limits(
            instance_type, all_mappings, self.config.max_local_block_devices
        )

    def _validate_bdm_device(self, context, instance, bdm):
        image_id, volume_id, snapshot_id = (
            bdm.get("image_id"),
            bdm.get("volume_id"),
            bdm.get("snapshot_id"),
        )
        if image_id is not None and image_id != instance["image_ref"]:
            try:
                self.image_service.show(context, image_id)
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
                self.volume_api.check_attach(
                    context, self.volume_api.get(context, volume_id), instance["availability_zone"]
                )
            except exception.NovaException:
                raise exception.InvalidBDMVolume(id=volume_id)
        elif snapshot_id is not None:
            try:
                self.volume_api.get_snapshot(context, snapshot_id)
            except exception.NovaException:
                raise exception.InvalidBDMSnapshot(id=snapshot_id)

    # --- quota and rows --------------------------------------------------------------------------

    @tracing.traced("compute.api.API._check_num_instances_quota")
    def _check_num_instances_quota(self, session, context, flavor, min_count, max_count):
        """A24: reserve instances, cores and RAM; settle for fewer when min_count allows."""
        limits = db_api.quota_limits(session, self.config.quotas, context.project_id)
        vram = quota.video_ram(flavor)
        try:
            reservations = db_api.quota_reserve(
                session, context.project_id, quota.deltas(flavor, max_count), limits
            )
            return max_count, reservations
        except exception.OverQuota as over:
            allowed = quota.allowed_by_headroom(over.kwargs, flavor, vram)
            if 0 < allowed and min_count <= allowed <= max_count:
                return self._check_num_instances_quota(session, context, flavor, min_count, allowed)
            raise quota.too_many_instances(over.kwargs, flavor, vram, min_count, max_count)

    @tracing.traced("compute.api.API._provision_instances")
    def _provision_instances(self, request):
        """The rows of every instance, its quota and its action record, in one transaction."""
        context = request.context
        with self.db.transaction() as session:
            request.group = self._instance_group_for(session, context, request.scheduler_hints)
            num_instances, reservations = self._check_num_instances_quota(
                session, context, request.flavor, request.min_count, request.max_count
            )
            instances = [
                self._instance_values(request, index, num_instances)
                for index in range(num_instances)
            ]
            rows = compute_utils.InstanceRows()
            for instance in instances:
                self._validate_bdm(context, instance, request.flavor, request.block_device_mapping)
                rows.add(instance, request.flavor, request.block_device_mapping)
            rows.add_group_members(request.group, instances)
            db_api.instances_create(
                session,
                rows.instances,
                rows.metadata,
                rows.system_metadata,
                rows.bdms,
                rows.group_members,
            )
            db_api.reservation_commit(session, reservations)
            self._record_action_start(session, context, instances)
        if tracing.recording():
            tracing.annotate(
                {
                    "nova.instance_uuids": [instance["uuid"] for instance in instances],
                    "nova.reservation_id": request.base_options["reservation_id"],
                    "nova.num_instances": num_instances,
                }
            )
        # Nova sends the same BDM dicts to the conductor, with the last instance's uuid.
        for bdm in request.block_device_mapping:
            bdm["volume_size"] = block_device.volume_size(request.flavor, bdm)
            bdm["instance_uuid"] = instances[-1]["uuid"]
        return instances

    def _instance_group_for(self, session, context, hints):
        """A26, checked before any row is written (Icehouse checked it after, leaving rows)."""
        group_hint = hints.get("group") if isinstance(hints, dict) else None
        if not group_hint:
            return None
        return db_api.instance_group_get_by_hint(
            session, context.project_id, context.user_id, utils.py2_str(group_hint)
        )

    def _instance_values(self, request, index, num_instances):
        base = request.base_options
        instance_uuid = str(uuid.uuid4())
        name = base["display_name"]
        if num_instances > 1:
            name = self._apply_instance_name_template(name, instance_uuid, index)
        properties = request.boot_meta.get("properties", {})
        has_mappings = bool(
            request.block_device_mapping
            or properties.get("mappings")
            or properties.get("block_device_mapping")
        )
        return {
            **base,
            "uuid": instance_uuid,
            "launch_index": index,
            "display_name": name,
            "hostname": utils.sanitize_hostname(name),
            "task_state": "scheduling",
            "shutdown_terminate": not has_mappings,
            "security_groups": list(request.security_groups),
            "system_metadata": {
                **base["system_metadata"],
                **compute_utils.image_system_metadata(request.image_id, request.boot_meta),
            },
            "created_at": models.utcnow(),
        }

    def _apply_instance_name_template(self, name, instance_uuid, index):
        params = {"name": name, "uuid": instance_uuid, "count": index + 1}
        try:
            return self.config.multi_instance_display_name_template % params
        except (KeyError, TypeError):
            return name

    @tracing.traced("compute.api.API._record_action_start")
    def _record_action_start(self, session, context, instances):
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

    @staticmethod
    def _build_filter_properties(request):
        flavor = request.flavor
        properties = {
            "scheduler_hints": request.scheduler_hints,
            "instance_type": flavors.flavor_to_dict(flavor),
        }
        if request.forced_host:
            properties["force_hosts"] = [request.forced_host]
        if request.forced_node:
            properties["force_nodes"] = [request.forced_node]
        return properties
