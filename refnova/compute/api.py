"""compute.api.API: create and _create_instance, with the helpers Nova 2014.1 names.

Each helper is one of Nova's steps (§1.3 of the spec), raising Nova's exception where
Nova did. Provisioning writes every row of a request in one transaction, so a request
that fails anywhere leaves nothing behind.
"""
import dataclasses
import datetime
import re
import uuid

from refnova import exception, tracing, utils
from refnova.api.openstack.compute import servers as servers_api
from refnova.db import api as db_api
from refnova.db import models

MAX_USERDATA_SIZE = 65535
VIDEO_RAM = "hw_video:ram_max_mb"
_EPHEMERAL = re.compile(r"^ephemeral(\d|[1-9]\d+)$")
_MULTIPLE_PORTS_REASON = ("Unable to launch multiple instances with a single configured port "
                          "ID. Please launch your instance one by one with different ports.")


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
    def create(self, context, instance_type, image_href, *, max_count=None, min_count=None,
               requested_networks=None, block_device_mapping=None, availability_zone=None,
               allow_duplicate_networks=False, reject_fixed_ip_with_max_count=False,
               **kwargs):
        """Icehouse's create. Two options give today's Nova behaviour, as today's Nova's
        controller passes its own microversion-dependent flags: ``allow_duplicate_networks``
        (a network may be requested twice) and ``reject_fixed_ip_with_max_count``."""
        self._check_create_policies(context, availability_zone, requested_networks,
                                    block_device_mapping)
        if requested_networks and max_count and max_count > 1:
            if reject_fixed_ip_with_max_count:
                self._check_multiple_instances_with_specified_ip(requested_networks)
            self._check_multiple_instances_neutron_ports(requested_networks)
        return self._create_instance(
            context, instance_type, image_href, min_count=min_count, max_count=max_count,
            requested_networks=requested_networks, block_device_mapping=block_device_mapping,
            availability_zone=availability_zone,
            allow_duplicate_networks=allow_duplicate_networks, **kwargs)

    def _check_create_policies(self, context, availability_zone, requested_networks,
                               block_device_mapping):
        self.policy.enforce(context, "compute:create")
        if requested_networks:
            self.policy.enforce(context, "compute:create:attach_network")
        if block_device_mapping:
            self.policy.enforce(context, "compute:create:attach_volume")

    @staticmethod
    def _check_multiple_instances_with_specified_ip(requested_networks):
        if any(net and ip for net, ip, _port in requested_networks):
            raise exception.InvalidFixedIpAndMaxCountRequest(
                reason="max_count cannot be greater than 1 if an fixed_ip is specified.")

    @staticmethod
    def _check_multiple_instances_neutron_ports(requested_networks):
        if any(port for _net, _ip, port in requested_networks):
            raise exception.MultiplePortsNotApplicable(reason=_MULTIPLE_PORTS_REASON)

    @tracing.traced("compute.api.API._create_instance")
    def _create_instance(self, context, instance_type, image_href, *, display_name,
                         display_description, key_name, metadata, access_ip_v4, access_ip_v6,
                         injected_files, admin_password, min_count, max_count,
                         requested_networks, security_group, user_data, availability_zone,
                         config_drive, block_device_mapping, auto_disk_config, scheduler_hints,
                         legacy_bdm, allow_duplicate_networks=False):
        reservation_id = utils.generate_uid("r")
        if tracing.recording():
            tracing.annotate({"nova.reservation_id": reservation_id,
                              "nova.project_id": context.project_id,
                              "nova.request_id": context.request_id})
        security_groups = security_group or ["default"]
        min_count = min_count or 1
        max_count = max_count or min_count
        block_device_mapping = block_device_mapping or []

        image_id, boot_meta = self._get_image(context, image_href, block_device_mapping, legacy_bdm)
        self._check_auto_disk_config(image_id, boot_meta, auto_disk_config)
        availability_zone, forced_host, forced_node = self._handle_availability_zone(
            context, availability_zone)
        base_options, max_net_count = self._validate_and_build_base_options(
            context, instance_type, boot_meta, image_id, kernel_id=None, ramdisk_id=None,
            display_name=display_name, display_description=display_description,
            key_name=key_name, user_data=user_data, security_groups=security_groups,
            availability_zone=availability_zone, forced_host=forced_host, metadata=metadata,
            access_ip_v4=access_ip_v4, access_ip_v6=access_ip_v6,
            requested_networks=requested_networks, config_drive=config_drive,
            auto_disk_config=auto_disk_config, reservation_id=reservation_id,
            max_count=max_count, injected_files=injected_files,
            allow_duplicate_networks=allow_duplicate_networks)
        if max_net_count == 0:
            raise exception.PortLimitExceeded()
        max_count = min(max_count, max_net_count)
        block_device_mapping = self._check_and_transform_bdm(
            base_options, boot_meta, min_count, max_count, block_device_mapping, legacy_bdm)
        request = CreateRequest(
            context=context, flavor=instance_type, image_id=image_id, boot_meta=boot_meta,
            base_options=base_options, block_device_mapping=block_device_mapping,
            min_count=min_count, max_count=max_count, security_groups=security_groups,
            scheduler_hints=scheduler_hints or {}, forced_host=forced_host, forced_node=forced_node)
        instances = self._provision_instances(request)
        if tracing.recording():
            tracing.annotate({"nova.instance_uuids": [instance["uuid"] for instance in instances]})
        filter_properties = self._build_filter_properties(request)
        try:
            self.compute_task_api.build_instances(
                context, instances=instances, image=boot_meta, filter_properties=filter_properties,
                admin_password=admin_password, injected_files=injected_files,
                requested_networks=None if requested_networks is None else [list(n) for n in requested_networks],
                security_groups=security_groups, block_device_mapping=block_device_mapping,
                legacy_bdm=False)
        except exception.ServiceUnavailable as error:
            self._abandon_build(context, instances, instance_type, error)
            raise
        return instances, reservation_id

    def _abandon_build(self, context, instances, flavor, error):
        """The cast never reached the broker: the instances go to ERROR with a fault and the
        quota they took is released, so that nothing waits for a build that will not come."""
        with self.db.transaction() as session:
            abandoned = db_api.instances_set_error(
                session, [instance["uuid"] for instance in instances], error.code,
                error.format_message())
            if abandoned:
                db_api.quota_release(session, context.project_id,
                                     _quota_deltas(flavor, len(abandoned)))
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

        Icehouse deleted an instance without a host in the API and cast the others to their
        compute host; refnova's compute is in-process, so both happen here: the row is
        soft-deleted, its quota usage released, what it claimed on its host freed, and a
        'delete' instance action recorded. The row lock keeps a conductor that is building
        the same instance from claiming a host for it afterwards (it builds only 'building'
        instances).
        """
        self.policy.enforce(context, "compute:delete")
        now = models.utcnow()
        with self.db.transaction() as session:
            instance = db_api.instance_get_for_update(session, instance_uuid, context.project_id)
            flavor = session.get(models.Flavor, instance.instance_type_id)
            vram = int(((flavor.extra_specs if flavor is not None else None) or {}).get(VIDEO_RAM) or 0)
            if not db_api.quota_already_released(session, instance.uuid):
                db_api.quota_release(session, instance.project_id, {
                    "instances": 1, "cores": instance.vcpus, "ram": instance.memory_mb + vram})
            if instance.host:
                db_api.compute_node_release(session, instance.host, instance.node,
                                            instance.memory_mb,
                                            instance.root_gb + instance.ephemeral_gb)
            db_api.instance_soft_delete(session, instance, now)
            db_api.actions_start(session, [{
                "action": "delete", "instance_uuid": instance.uuid,
                "request_id": context.request_id, "user_id": context.user_id,
                "project_id": context.project_id, "start_time": now, "finish_time": now}])

    # --- image ----------------------------------------------------------------------------

    def _get_image(self, context, image_href, block_device_mapping, legacy_bdm):
        """A6: the Glance image, or for boot from volume the root BDM's image properties."""
        if image_href:
            return image_href, self.image_service.show(context, image_href)
        return None, {"properties": self._get_bdm_image_metadata(
            context, block_device_mapping, legacy_bdm)}

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

    @staticmethod
    def _check_auto_disk_config(image_id, boot_meta, auto_disk_config):
        """A7: an image can forbid automatic disk resizing."""
        if auto_disk_config is None or not auto_disk_config:
            return
        value = boot_meta.get("properties", {}).get("auto_disk_config")
        if isinstance(value, str) and value.strip().lower() == "disabled":
            raise exception.AutoDiskConfigDisabledByImage(image=image_id)

    # --- availability zone ------------------------------------------------------------------

    def _handle_availability_zone(self, context, availability_zone):
        """A8/A9: the legacy ``az:host:node`` form forces a host (admins only)."""
        forced_host = forced_node = None
        if availability_zone:
            if isinstance(availability_zone, (bool, int, float)):
                raise exception.ApiError(400)
            if isinstance(availability_zone, str) and ":" in availability_zone:
                availability_zone, forced_host, forced_node = _split_zone(availability_zone)
        if not availability_zone:
            availability_zone = self.config.default_schedule_zone
        if forced_host:
            self.policy.enforce(context, "compute:create:forced_host")
        if forced_node:
            self.policy.enforce(context, "compute:create:forced_host")
        return availability_zone, forced_host, forced_node

    # --- base options -----------------------------------------------------------------------

    @tracing.traced("compute.api.API._validate_and_build_base_options")
    def _validate_and_build_base_options(self, context, instance_type, boot_meta, image_id, *,
                                         kernel_id, ramdisk_id, display_name, display_description,
                                         key_name, user_data, security_groups, availability_zone,
                                         forced_host, metadata, access_ip_v4, access_ip_v6,
                                         requested_networks, config_drive, auto_disk_config,
                                         reservation_id, max_count, injected_files,
                                         allow_duplicate_networks=False):
        if availability_zone and forced_host is None:
            with self.db.transaction() as session:
                if not _hashable(availability_zone) or \
                        availability_zone not in db_api.availability_zones(session):
                    raise exception.InvalidRequest("The requested availability zone is not available")
        if instance_type.disabled:
            raise exception.FlavorNotFound(flavor_id=instance_type.id)
        if user_data and len(user_data) > MAX_USERDATA_SIZE:
            raise exception.InstanceUserDataTooLarge(maxsize=MAX_USERDATA_SIZE, length=len(user_data))
        metadata = self._checks_for_create_and_rebuild(
            context, image_id, boot_meta, instance_type, metadata, injected_files)
        self._check_requested_secgroups(context, security_groups)
        max_network_count = self.network_api.validate_networks(
            context, requested_networks, max_count, allow_duplicates=allow_duplicate_networks)
        kernel_id, ramdisk_id = self._handle_kernel_and_ramdisk(context, kernel_id, ramdisk_id, boot_meta)
        config_drive = self._check_config_drive(config_drive)
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
            "root_device_name": _root_device_name(properties),
            "progress": 0,
            "system_metadata": _flavor_system_metadata(instance_type),
            **_inherit_properties_from_image(properties, auto_disk_config),
        }
        return base_options, max_network_count

    def _checks_for_create_and_rebuild(self, context, image_id, image, instance_type, metadata,
                                       files_to_inject):
        metadata = self._check_metadata_properties_quota(metadata)
        self._check_injected_file_quota(files_to_inject)
        if image_id is not None:
            self._check_requested_image(image_id, image, instance_type)
        return metadata

    def _check_metadata_properties_quota(self, metadata):
        """A14: a dict of at most metadata_items string pairs, keys and values <= 255."""
        if not metadata:
            return {}
        if not isinstance(metadata, dict):
            raise exception.InvalidMetadata(reason="Metadata type should be dict.")
        limit = self.config.quotas["metadata_items"]
        if 0 <= limit < len(metadata):
            raise exception.MetadataLimitExceeded(allowed=limit)
        for key, value in metadata.items():
            if not isinstance(value, str):
                raise exception.InvalidMetadata(
                    reason="Metadata property value '%s' for key '%s' is not a string."
                    % (utils.py2_str(value), key))
            if len(key) == 0:
                raise exception.InvalidMetadata(reason="Metadata property key blank")
            if len(key) > 255:
                raise exception.InvalidMetadataSize(
                    reason="Metadata property key greater than 255 characters")
            if len(value) > 255:
                raise exception.InvalidMetadataSize(
                    reason="Metadata property value greater than 255 characters")
        return metadata

    def _check_injected_file_quota(self, injected_files):
        """A15: how many files, and the longest path and content (path reported first)."""
        if not injected_files:
            return
        quotas = self.config.quotas
        if 0 <= quotas["injected_files"] < len(injected_files):
            raise exception.OnsetFileLimitExceeded()
        if any(isinstance(path, (bool, int, float)) or path is None for path, _ in injected_files):
            raise exception.ApiError(400)
        max_path = max(len(path) for path, _ in injected_files)
        max_content = max(len(contents) for _, contents in injected_files)
        if 0 <= quotas["injected_file_path_bytes"] < max_path:
            raise exception.OnsetFilePathLimitExceeded(allowed=quotas["injected_file_path_bytes"])
        if 0 <= quotas["injected_file_content_bytes"] < max_content:
            raise exception.OnsetFileContentLimitExceeded(
                allowed=quotas["injected_file_content_bytes"])

    @staticmethod
    def _check_requested_image(image_id, image, instance_type):
        """A16: the image is active and fits the flavor."""
        if not image:
            return
        if image.get("status") != "active":
            raise exception.ImageNotActive(image_id=image_id)
        if instance_type.memory_mb < int(image.get("min_ram") or 0):
            raise exception.FlavorMemoryTooSmall()
        root_gb = instance_type.root_gb
        if root_gb:
            # The sizes in bytes go with the error for the contracts that report them (/v2.1).
            flavor_size = root_gb * 1024 ** 3
            if int(image.get("size") or 0) > flavor_size:
                raise exception.FlavorDiskTooSmall(flavor_size=flavor_size,
                                                   image_size=int(image["size"]))
            if int(image.get("min_disk") or 0) > root_gb:
                raise exception.FlavorDiskTooSmall(flavor_size=flavor_size,
                                                   image_min_disk=int(image["min_disk"]) * 1024 ** 3)

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

    @staticmethod
    def _check_config_drive(config_drive):
        """A20: a truthy config_drive must be a recognised boolean string."""
        if not config_drive:
            return ""
        try:
            value = utils.bool_from_string(config_drive, strict=True)
        except ValueError:
            raise exception.ConfigDriveInvalidValue(option=utils.py2_str(config_drive))
        return True if value else ""

    def _key_data(self, context, key_name):
        """A21: a truthy key_name must name one of the user's key pairs."""
        if not key_name:
            return None
        if not isinstance(key_name, str):
            raise exception.KeypairNotFound(user_id=context.user_id, name=key_name)
        with self.db.transaction() as session:
            return db_api.key_pair_get(session, context.user_id, key_name).public_key

    # --- block device mappings ----------------------------------------------------------------

    def _check_and_transform_bdm(self, base_options, image_meta, min_count, max_count,
                                 block_device_mapping, legacy_bdm):
        """A23: legacy BDMs to the new format, the image's own BDMs merged in."""
        root_device_name = base_options.get("root_device_name") or "vda"
        image_ref = base_options.get("image_ref", "")
        properties = image_meta.get("properties", {})
        image_bdms = list(properties.get("block_device_mapping", []))
        legacy_image_bdms = not properties.get("bdm_v2", False)
        if not legacy_image_bdms:
            image_bdms = [servers_api.new_bdm(dict(bdm)) for bdm in image_bdms]
        if legacy_bdm:
            if legacy_image_bdms:
                mappings = from_legacy_mapping(list(block_device_mapping) + image_bdms,
                                               image_ref, root_device_name)
            else:
                root_in_image = _root_bdm(image_bdms) is not None
                mappings = from_legacy_mapping(block_device_mapping, image_ref, root_device_name,
                                               no_root=root_in_image) + image_bdms
        else:
            if legacy_image_bdms:
                image_bdms = from_legacy_mapping(image_bdms, None, root_device_name)
            mappings = list(block_device_mapping)
            if image_ref and _root_bdm(image_bdms) is not None:
                mappings = [bdm for bdm in mappings
                            if not (bdm.get("source_type") == "image" and bdm.get("boot_index") == 0)]
            mappings += image_bdms
        if (min_count > 1 or max_count > 1) and any(
                bdm.get("source_type") == "volume" for bdm in mappings):
            raise exception.InvalidRequest("Cannot attach one or more volumes to multiple instances")
        return mappings

    def _validate_bdm(self, context, instance, instance_type, all_mappings):
        """A25 (V1-V9): boot order, the devices behind each mapping, and local disk limits."""
        boot_indexes = sorted(bdm["boot_index"] for bdm in all_mappings
                              if isinstance(bdm.get("boot_index"), int) and bdm["boot_index"] >= 0)
        if 0 not in boot_indexes or any(b + 1 != n for b, n in zip(boot_indexes, boot_indexes[1:])):
            raise exception.InvalidBDMBootSequence()
        for bdm in all_mappings:
            self._validate_bdm_device(context, instance, bdm)
        ephemeral = sum(bdm.get("volume_size") or 0 for bdm in all_mappings if _is_ephemeral(bdm))
        if ephemeral > instance_type.ephemeral_gb:
            raise exception.InvalidBDMEphemeralSize()
        swaps = [bdm for bdm in all_mappings if _is_swap(bdm)]
        if len(swaps) > 1:
            raise exception.InvalidBDMFormat(details="More than one swap drive requested.")
        if swaps and (swaps[0].get("volume_size") or 0) > instance_type.swap:
            raise exception.InvalidBDMSwapSize()
        max_local = self.config.max_local_block_devices
        if max_local >= 0 and max_local < sum(
                1 for bdm in all_mappings if bdm.get("destination_type") == "local"):
            raise exception.InvalidBDMLocalsLimit()

    def _validate_bdm_device(self, context, instance, bdm):
        image_id, volume_id, snapshot_id = bdm.get("image_id"), bdm.get("volume_id"), bdm.get("snapshot_id")
        if image_id is not None and image_id != instance["image_ref"]:
            try:
                self.image_service.show(context, image_id)
            except exception.NovaException:
                raise exception.InvalidBDMImage(id=image_id)
            if (bdm.get("source_type") == "image" and bdm.get("destination_type") == "volume"
                    and not bdm.get("volume_size")):
                raise exception.InvalidBDM("Images with destination_type 'volume' need to have "
                                           "a non-zero size specified")
        elif volume_id is not None:
            try:
                self.volume_api.check_attach(context, self.volume_api.get(context, volume_id),
                                             instance["availability_zone"])
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
        vram = int(flavor.extra_specs.get(VIDEO_RAM) or 0)
        try:
            reservations = db_api.quota_reserve(session, context.project_id,
                                                _quota_deltas(flavor, max_count), limits)
            return max_count, reservations
        except exception.OverQuota as over:
            allowed = _allowed_by_headroom(over.kwargs, flavor, vram)
            if 0 < allowed and min_count <= allowed <= max_count:
                return self._check_num_instances_quota(session, context, flavor, min_count, allowed)
            raise _too_many_instances(over.kwargs, flavor, vram, min_count, max_count)

    @tracing.traced("compute.api.API._provision_instances")
    def _provision_instances(self, request):
        """The rows of every instance, its quota and its action record, in one transaction."""
        context = request.context
        with self.db.transaction() as session:
            request.group = self._instance_group_for(session, context, request.scheduler_hints)
            num_instances, reservations = self._check_num_instances_quota(
                session, context, request.flavor, request.min_count, request.max_count)
            instances = [self._instance_values(request, index, num_instances)
                         for index in range(num_instances)]
            rows = _RowSet()
            for instance in instances:
                self._validate_bdm(context, instance, request.flavor, request.block_device_mapping)
                rows.add(instance, request)
            rows.add_group_members(session, request, instances)
            db_api.instances_create(session, rows.instances, rows.metadata, rows.system_metadata,
                                    rows.bdms, rows.group_members)
            db_api.reservation_commit(session, reservations)
            self._record_action_start(session, context, instances)
        if tracing.recording():
            tracing.annotate({"nova.instance_uuids": [instance["uuid"] for instance in instances],
                              "nova.reservation_id": request.base_options["reservation_id"],
                              "nova.num_instances": num_instances})
        # Nova sends the same BDM dicts to the conductor, with the last instance's uuid.
        for bdm in request.block_device_mapping:
            bdm["volume_size"] = _volume_size(request.flavor, bdm)
            bdm["instance_uuid"] = instances[-1]["uuid"]
        return instances

    def _instance_group_for(self, session, context, hints):
        """A26, checked before any row is written (Icehouse checked it after, leaving rows)."""
        group_hint = hints.get("group") if isinstance(hints, dict) else None
        if not group_hint:
            return None
        group_hint = utils.py2_str(group_hint)
        if utils.is_uuid_like(group_hint):
            return db_api.instance_group_get(session, group_hint)
        existing = session.query(models.InstanceGroup).filter_by(
            project_id=context.project_id, name=group_hint).first()
        if existing is not None:
            return existing
        group = models.InstanceGroup(uuid=str(uuid.uuid4()), name=group_hint, user_id=context.user_id,
                                     project_id=context.project_id, policies=["legacy"])
        session.add(group)
        session.flush()
        return group

    def _instance_values(self, request, index, num_instances):
        base = request.base_options
        instance_uuid = str(uuid.uuid4())
        name = base["display_name"]
        if num_instances > 1:
            name = self._apply_instance_name_template(name, instance_uuid, index)
        properties = request.boot_meta.get("properties", {})
        has_mappings = bool(request.block_device_mapping or properties.get("mappings")
                            or properties.get("block_device_mapping"))
        return {
            **base,
            "uuid": instance_uuid,
            "launch_index": index,
            "display_name": name,
            "hostname": utils.sanitize_hostname(name),
            "task_state": "scheduling",
            "shutdown_terminate": not has_mappings,
            "security_groups": list(request.security_groups),
            "system_metadata": {**base["system_metadata"],
                                **_image_system_metadata(request.image_id, request.boot_meta)},
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
        db_api.actions_start(session, [
            {"action": "create", "instance_uuid": instance["uuid"], "request_id": context.request_id,
             "user_id": context.user_id, "project_id": context.project_id, "start_time": now}
            for instance in instances])

    @staticmethod
    def _build_filter_properties(request):
        flavor = request.flavor
        properties = {"scheduler_hints": request.scheduler_hints,
                      "instance_type": flavor_to_dict(flavor)}
        if request.forced_host:
            properties["force_hosts"] = [request.forced_host]
        if request.forced_node:
            properties["force_nodes"] = [request.forced_node]
        return properties


class _RowSet:
    """The rows of a request's instances, gathered for one insert per table."""

    INSTANCE_COLUMNS = frozenset(c.name for c in models.Instance.__table__.columns) - {"id"}

    def __init__(self):
        self.instances, self.metadata, self.system_metadata = [], [], []
        self.bdms, self.group_members = [], []

    def add(self, instance, request):
        instance_uuid = instance["uuid"]
        self.instances.append({k: v for k, v in instance.items() if k in self.INSTANCE_COLUMNS}
                              | {"auto_disk_config": bool(instance.get("auto_disk_config"))})
        self.metadata.extend({"instance_uuid": instance_uuid, "key": k, "value": v}
                             for k, v in instance["metadata"].items())
        self.system_metadata.extend({"instance_uuid": instance_uuid, "key": k, "value": v}
                                    for k, v in instance["system_metadata"].items())
        for bdm in request.block_device_mapping:
            size = _volume_size(request.flavor, bdm)
            if size == 0:
                continue  # Nova skips mappings whose size comes out as 0.
            row = {field: bdm.get(field) for field in servers_api.BDM_FIELDS}
            row.update(instance_uuid=instance_uuid, volume_size=size,
                       delete_on_termination=bool(row["delete_on_termination"]),
                       boot_index=row["boot_index"] if isinstance(row["boot_index"], int) else None,
                       no_device=bool(row["no_device"]) if row["no_device"] is not None else None,
                       connection_info=utils.py2_str(row["connection_info"])
                       if row["connection_info"] is not None else None)
            self.bdms.append(row)

    def add_group_members(self, session, request, instances):
        if request.group is not None:
            self.group_members.extend({"group_id": request.group.id, "instance_id": i["uuid"]}
                                      for i in instances)


# --- module helpers ------------------------------------------------------------------------------

def _hashable(value):
    return not isinstance(value, (list, dict))


def _split_zone(value):
    colons = value.count(":")
    if colons == 1:
        zone, host = value.split(":")
        return zone, host, None
    if colons == 2:
        if "::" in value:
            zone, node = value.split("::")
            return zone, None, node
        return tuple(value.split(":"))
    raise exception.InvalidInput(reason="Unable to parse availability_zone")


def _root_device_name(properties):
    root = None
    for mapping in properties.get("mappings", []) or []:
        if isinstance(mapping, dict) and mapping.get("virtual") == "root":
            root = mapping.get("device")
    return properties.get("root_device_name", root)


def _inherit_properties_from_image(properties, auto_disk_config):
    if auto_disk_config is None:
        auto_disk_config = utils.bool_from_string(properties.get("auto_disk_config"))
    return {"os_type": properties.get("os_type"), "architecture": properties.get("architecture"),
            "vm_mode": properties.get("vm_mode"), "auto_disk_config": auto_disk_config}


def flavor_to_dict(flavor):
    return {"id": flavor.id, "flavorid": flavor.flavorid, "name": flavor.name,
            "memory_mb": flavor.memory_mb, "vcpus": flavor.vcpus, "root_gb": flavor.root_gb,
            "ephemeral_gb": flavor.ephemeral_gb, "swap": flavor.swap,
            "rxtx_factor": flavor.rxtx_factor, "vcpu_weight": flavor.vcpu_weight,
            "disabled": flavor.disabled, "is_public": flavor.is_public,
            "extra_specs": dict(flavor.extra_specs or {}), "deleted": bool(flavor.deleted)}


def _flavor_system_metadata(flavor):
    return {"instance_type_" + key: (None if value is None else str(value))
            for key, value in (("id", flavor.id), ("name", flavor.name),
                               ("memory_mb", flavor.memory_mb), ("vcpus", flavor.vcpus),
                               ("root_gb", flavor.root_gb), ("ephemeral_gb", flavor.ephemeral_gb),
                               ("flavorid", flavor.flavorid), ("swap", flavor.swap),
                               ("rxtx_factor", flavor.rxtx_factor),
                               ("vcpu_weight", flavor.vcpu_weight))}


def _image_system_metadata(image_id, image):
    values = {"image_" + key: utils.py2_str(value)[:255]
              for key, value in (image.get("properties") or {}).items() if value is not None}
    for key in ("min_ram", "min_disk", "disk_format", "container_format"):
        if image.get(key) is not None:
            values["image_" + key] = str(image[key])
    if image_id:
        values["image_base_image_ref"] = image_id
    return values


def _quota_deltas(flavor, count):
    """What ``count`` instances of the flavor take from the quota."""
    vram = int((flavor.extra_specs or {}).get(VIDEO_RAM) or 0)
    return {"instances": count, "cores": count * flavor.vcpus,
            "ram": count * (flavor.memory_mb + vram)}


def _allowed_by_headroom(over, flavor, vram):
    quotas, headroom = over["quotas"], dict(over["headroom"])
    for resource, per_instance in (("cores", flavor.vcpus), ("ram", flavor.memory_mb + vram)):
        if quotas.get(resource) == -1:
            headroom[resource] = headroom["instances"] * per_instance
    allowed = headroom["instances"]
    if flavor.vcpus:
        allowed = min(allowed, headroom["cores"] // flavor.vcpus)
    if flavor.memory_mb:
        allowed = min(allowed, headroom["ram"] // (flavor.memory_mb + vram))
    return allowed


def _too_many_instances(over, flavor, vram, min_count, max_count):
    resource = over["overs"][0]
    used = over["quotas"][resource] - over["headroom"][resource]
    requested = {
        "instances": str(max_count) if min_count == max_count else "%d-%d" % (min_count, max_count),
        "cores": max_count * flavor.vcpus,
        "ram": max_count * (flavor.memory_mb + vram),
    }
    # Every resource over quota, for the contracts whose text lists them all (/v2.1).
    over_details = [(name, requested[name], over["quotas"][name] - over["headroom"][name],
                     over["quotas"][name]) for name in over["overs"]]
    return exception.TooManyInstances(overs=",".join(over["overs"]), req=requested[resource],
                                      used=used, allowed=over["quotas"][resource], resource=resource,
                                      over_details=over_details)


def _root_bdm(mappings):
    return next((bdm for bdm in mappings if bdm.get("boot_index", -1) == 0), None)


def _strip_dev(name):
    return re.sub(r"^/dev/", "", name) if isinstance(name, str) else name


def _is_swap_or_ephemeral(name):
    return bool(name) and isinstance(name, str) and (name == "swap" or bool(_EPHEMERAL.match(name)))


_LEGACY_COPIED_FIELDS = frozenset(("device_name", "delete_on_termination", "snapshot_id",
                                   "volume_id", "volume_size", "no_device", "connection_info")) \
    | servers_api.BDM_DB_ONLY_FIELDS
_NON_COMPUTABLE_FIELDS = frozenset(("boot_index", "disk_bus", "guest_format", "device_type"))


def from_legacy(legacy):
    bdm = {k: v for k, v in legacy.items() if k in _LEGACY_COPIED_FIELDS}
    virtual_name = legacy.get("virtual_name")
    if _is_swap_or_ephemeral(virtual_name):
        bdm.update(source_type="blank", delete_on_termination=True, destination_type="local",
                   guest_format="swap" if virtual_name == "swap" else None)
    elif legacy.get("snapshot_id"):
        bdm.update(source_type="snapshot", destination_type="volume")
    elif legacy.get("volume_id"):
        bdm.update(source_type="volume", destination_type="volume")
    elif not legacy.get("no_device"):
        raise exception.InvalidBDMFormat(details="Unrecognized legacy format.")
    return servers_api.new_bdm(bdm, _NON_COMPUTABLE_FIELDS)


def create_image_bdm(image_ref, boot_index=0):
    return servers_api.new_bdm({"source_type": "image", "image_id": image_ref,
                                "delete_on_termination": True, "boot_index": boot_index,
                                "device_type": "disk", "destination_type": "local"})


def from_legacy_mapping(legacy_mappings, image_uuid="", root_device_name=None, no_root=False):
    mappings = [from_legacy(legacy) for legacy in legacy_mappings]
    if no_root:
        for bdm in mappings:
            bdm["boot_index"] = -1
        return mappings
    volume_backed = False
    if not root_device_name and not image_uuid:
        non_blank = [bdm for bdm in mappings if bdm.get("source_type") != "blank"]
        if non_blank:
            non_blank[0]["boot_index"] = 0
        return mappings
    for bdm in mappings:
        if (bdm.get("source_type") in ("volume", "snapshot", "image") and root_device_name is not None
                and _strip_dev(bdm.get("device_name")) == _strip_dev(root_device_name)):
            bdm["boot_index"] = 0
            volume_backed = True
        elif not bdm.get("no_device"):
            bdm["boot_index"] = -1
        else:
            bdm["boot_index"] = None
    if not volume_backed and image_uuid:
        return [create_image_bdm(image_uuid)] + mappings
    return mappings


def _is_ephemeral(bdm):
    return (bdm.get("source_type") == "blank" and bdm.get("destination_type") == "local"
            and bdm.get("guest_format") != "swap")


def _is_swap(bdm):
    return (bdm.get("source_type") == "blank" and bdm.get("destination_type") == "local"
            and bdm.get("guest_format") == "swap")


def _volume_size(flavor, bdm):
    size = bdm.get("volume_size")
    if size is None and bdm.get("source_type") == "blank":
        size = flavor.swap if bdm.get("guest_format") == "swap" else flavor.ephemeral_gb
    return size


def utcnow_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
