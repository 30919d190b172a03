"""The floors: minimal hand-written equivalents of each measured path, doing the same work.

Each floor produces what its path produces (the same values, the same rows and columns with the
same number of statements per table, the same message body and properties, the same number of
spans) with nothing else: no step tables, no ORM, no connection pool, no retry wrapper. The
suites check that equivalence before they time anything, so a floor cannot quietly do less.
"""

import binascii
import datetime
import json
import random
import re
import socket
import urllib.parse
import uuid

import kombu
import sqlalchemy as sa

from refnova import block_device
from refnova.db import engine as db_engine
from refnova.db import models

# --- validation ------------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PASSWORD_GROUPS = ("23456789", "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz")
_PASSWORD_ALPHABET = "".join(_PASSWORD_GROUPS)
_RANDOM = random.SystemRandom()


class Invalid(Exception):
    pass


def validation(raw, password_length=12):
    """The JSON parse and the controller's checks, inline, for the typical body.

    Returns (flavor id, image uuid, the keyword arguments compute.api.API.create is given),
    as servers.Controller.create hands them on.
    """
    body = json.loads(raw.decode("utf-8"))
    server = body.get("server") if isinstance(body, dict) else None
    if not isinstance(server, dict):
        raise Invalid("body")
    hints = body.get("os:scheduler_hints", body.get("OS-SCH-HNT:scheduler_hints", {}))
    if not isinstance(hints, dict):
        raise Invalid("scheduler_hints")
    server["scheduler_hints"] = dict(hints)
    if "OS-DCF:diskConfig" in server:
        if server["OS-DCF:diskConfig"] not in ("AUTO", "MANUAL"):
            raise Invalid("OS-DCF:diskConfig")
        server["auto_disk_config"] = server["OS-DCF:diskConfig"] == "AUTO"

    password = server.get("adminPass")
    if "adminPass" in server and not isinstance(password, str):
        raise Invalid("adminPass")

    name = server.get("name")
    if not isinstance(name, str):
        raise Invalid("name")
    name = name.strip()
    if not 1 <= len(name) <= 255:
        raise Invalid("name")

    image_ref = server.get("imageRef")
    if not isinstance(image_ref, str) or not _UUID.fullmatch(image_ref.rsplit("/", 1)[-1]):
        raise Invalid("imageRef")
    image_uuid = image_ref.rsplit("/", 1)[-1]

    if server.get("personality"):
        raise Invalid("personality is not part of the typical body")

    names = []
    groups = server.get("security_groups")
    if groups is not None:
        if not isinstance(groups, list):
            raise Invalid("security_groups")
        for group in groups:
            if not isinstance(group, dict):
                raise Invalid("security_groups")
            if group.get("name"):
                names.append(group["name"])
    security_groups = list(dict.fromkeys(names)) or ["default"]

    requested_networks = None
    networks = server.get("networks")
    if networks is not None:
        if not isinstance(networks, list):
            raise Invalid("networks")
        requested_networks = []
        for network in networks:
            if not isinstance(network, dict) or network.get("port"):
                raise Invalid("networks")
            net_uuid = network.get("uuid")
            if not isinstance(net_uuid, str) or not _UUID.fullmatch(net_uuid):
                raise Invalid("networks")
            fixed_ip = network.get("fixed_ip")
            if fixed_ip is not None:
                raise Invalid("fixed_ip is not part of the typical body")
            requested_networks.append((net_uuid, None, None))

    access_ip_v4 = server.get("accessIPv4")
    if access_ip_v4 is not None:
        if not isinstance(access_ip_v4, str) or not access_ip_v4 or "\x00" in access_ip_v4:
            raise Invalid("accessIPv4")
        try:
            socket.inet_aton(access_ip_v4)
        except OSError:
            raise Invalid("accessIPv4")
    access_ip_v6 = server.get("accessIPv6")
    if access_ip_v6 is not None:
        raise Invalid("accessIPv6 is not part of the typical body")

    flavor_ref = server.get("flavorRef")
    if flavor_ref is None:
        raise Invalid("flavorRef")
    flavor_id = urllib.parse.urlsplit(str(flavor_ref)).path.split("/")[-1]

    user_data = server.get("user_data")
    if user_data:
        if not isinstance(user_data, str):
            raise Invalid("user_data")
        data = "".join(user_data.split())
        if len(data) % 4 or "=" in data[:-2]:
            raise Invalid("user_data")
        try:
            binascii.a2b_base64(data, strict_mode=True)
        except (binascii.Error, ValueError):
            raise Invalid("user_data")

    if server.get("block_device_mapping") or server.get("block_device_mapping_v2"):
        raise Invalid("block devices are not part of the typical body")
    min_count = server.get("min_count", 1)
    max_count = server.get("max_count", min_count)
    if type(min_count) is not int or type(max_count) is not int or not 1 <= min_count <= max_count:
        raise Invalid("counts")

    if password is None:
        # Drawn once every check has passed, as the path draws it: a rejection draws nothing.
        chars = [_RANDOM.choice(group) for group in _PASSWORD_GROUPS]
        chars += [_RANDOM.choice(_PASSWORD_ALPHABET) for _ in range(password_length - 3)]
        _RANDOM.shuffle(chars)
        password = "".join(chars)

    return (
        flavor_id,
        image_uuid,
        dict(
            display_name=name,
            display_description=name,
            key_name=server.get("key_name"),
            metadata=server.get("metadata", {}),
            access_ip_v4=access_ip_v4,
            access_ip_v6=access_ip_v6,
            injected_files=[],
            admin_password=password,
            min_count=min_count,
            max_count=max_count,
            requested_networks=requested_networks,
            security_group=security_groups,
            user_data=user_data,
            availability_zone=server.get("availability_zone"),
            config_drive=server.get("config_drive"),
            block_device_mapping=[],
            auto_disk_config=server.get("auto_disk_config"),
            scheduler_hints=server["scheduler_hints"],
            legacy_bdm=True,
        ),
    )


# --- provisioning ----------------------------------------------------------------------------

_INSTANCE_COLUMNS = tuple(c.name for c in models.Instance.__table__.columns if c.name != "id")
_BDM_FIELDS = tuple(sorted(block_device.BDM_FIELDS))  # the columns, not the work
_HOSTNAME_SPACES = re.compile(rb"[ _]")
_HOSTNAME_OTHERS = re.compile(rb"[^A-Za-z0-9_.-]+")


def _hostname(name):
    raw = _HOSTNAME_OTHERS.sub(b"", _HOSTNAME_SPACES.sub(b"-", name.encode("latin-1", "ignore")))
    return raw.lower().strip(b".-").decode("ascii")


class Provisioning:
    """The rows of a create, one Core statement per table and per quota step, one transaction.

    Reads the project's limits and usages, reserves (usages' reserved += delta, reservation
    rows), writes the instances with their metadata, system metadata and block device
    mappings, commits the reservation (reserved -= delta, in_use += delta, reservation rows
    deleted) and records the create action: what compute.api.API._provision_instances writes.
    """

    def __init__(self, url, project_id, default_quotas):
        self.engine = db_engine.make_engine(url)  # the same SQLite settings as refnova's
        models.Base.metadata.create_all(self.engine)
        self.tables = models.Base.metadata.tables
        self.default_quotas = dict(default_quotas)
        usages = self.tables["quota_usages"]
        with self.engine.begin() as conn:
            if not conn.execute(sa.select(sa.func.count()).select_from(usages)).scalar():
                conn.execute(
                    usages.insert(),
                    [
                        {"project_id": project_id, "resource": resource, "in_use": 0, "reserved": 0}
                        for resource in ("cores", "instances", "ram")
                    ],
                )
        t = self.tables
        self.select_limits = sa.select(t["quotas"].c.resource, t["quotas"].c.hard_limit).where(
            t["quotas"].c.project_id == sa.bindparam("project_id")
        )
        self.select_usages = sa.select(
            usages.c.id, usages.c.resource, usages.c.in_use, usages.c.reserved
        ).where(
            usages.c.project_id == sa.bindparam("project_id"),
            usages.c.resource.in_(("cores", "instances", "ram")),
        )
        self.reserve = (
            usages.update()
            .where(usages.c.id == sa.bindparam("usage_id"))
            .values(reserved=usages.c.reserved + sa.bindparam("delta"))
        )
        self.settle = (
            usages.update()
            .where(usages.c.id == sa.bindparam("usage_id"))
            .values(
                reserved=usages.c.reserved - sa.bindparam("delta"),
                in_use=usages.c.in_use + sa.bindparam("delta"),
            )
        )
        reservations = t["reservations"]
        self.insert_reservations = reservations.insert()
        self.delete_reservations = reservations.delete().where(
            reservations.c.uuid.in_(sa.bindparam("uuids", expanding=True))
        )
        self.inserts = {
            name: t[name].insert()
            for name in (
                "instances",
                "instance_metadata",
                "instance_system_metadata",
                "block_device_mapping",
                "instance_actions",
            )
        }

    def __call__(self, context, flavor, image_id, image, base, bdms, security_groups, count):
        """Provision ``count`` instances from what _create_instance worked out; their uuids."""
        vram = int(flavor.extra_specs.get("hw_video:ram_max_mb") or 0)
        deltas = {
            "instances": count,
            "cores": count * flavor.vcpus,
            "ram": count * (flavor.memory_mb + vram),
        }
        # The request-wide parts of every instance's rows.
        row_base = {column: base[column] for column in _INSTANCE_COLUMNS if column in base}
        row_base["auto_disk_config"] = bool(base.get("auto_disk_config"))
        row_base.update(
            task_state="scheduling",
            security_groups=list(security_groups),
            shutdown_terminate=not (
                bdms
                or image["properties"].get("mappings")
                or image["properties"].get("block_device_mapping")
            ),
        )
        system_metadata = dict(base["system_metadata"])
        system_metadata.update(
            ("image_" + key, str(value)[:255])
            for key, value in image["properties"].items()
            if value is not None
        )
        for key in ("min_ram", "min_disk", "disk_format", "container_format"):
            if image.get(key) is not None:
                system_metadata["image_" + key] = str(image[key])
        system_metadata["image_base_image_ref"] = image_id
        metadata = list(base["metadata"].items())
        system_metadata = list(system_metadata.items())
        bdm_rows = []
        for bdm in bdms:
            size = bdm.get("volume_size")
            if size is None and bdm.get("source_type") == "blank":
                size = flavor.swap if bdm.get("guest_format") == "swap" else flavor.ephemeral_gb
            if size == 0:
                continue
            row = {field: bdm.get(field) for field in _BDM_FIELDS}
            row.update(volume_size=size, delete_on_termination=bool(row["delete_on_termination"]))
            bdm_rows.append(row)
        boot = sorted(
            b["boot_index"]
            for b in bdms
            if isinstance(b.get("boot_index"), int) and b["boot_index"] >= 0
        )
        if not boot or boot[0] != 0 or boot != list(range(len(boot))):
            raise Invalid("boot sequence")

        project_id = context.project_id
        with self.engine.begin() as conn:
            limits = dict(self.default_quotas)
            limits.update(conn.execute(self.select_limits, {"project_id": project_id}).all())
            usages = {
                row.resource: row
                for row in conn.execute(self.select_usages, {"project_id": project_id})
            }
            for resource, delta in deltas.items():
                usage = usages[resource]
                limit = limits[resource]
                if delta > 0 and limit >= 0 and delta > limit - usage.in_use - usage.reserved:
                    raise Invalid("over quota")
            steps = [{"usage_id": usages[r].id, "delta": d} for r, d in deltas.items()]
            conn.execute(self.reserve, steps)
            expire = models.utcnow() + datetime.timedelta(days=1)
            reservations = [
                {
                    "uuid": str(uuid.uuid4()),
                    "usage_id": usages[r].id,
                    "project_id": project_id,
                    "resource": r,
                    "delta": d,
                    "expire": expire,
                }
                for r, d in deltas.items()
            ]
            conn.execute(self.insert_reservations, reservations)

            instances, metadata_rows, system_rows, bdm_out, actions = [], [], [], [], []
            name = base["display_name"]
            now = models.utcnow()
            for index in range(count):
                instance_uuid = str(uuid.uuid4())
                display_name = "%s-%s" % (name, instance_uuid) if count > 1 else name
                row = dict(row_base)
                row.update(
                    uuid=instance_uuid,
                    launch_index=index,
                    display_name=display_name,
                    hostname=_hostname(display_name),
                    created_at=now,
                )
                instances.append(row)
                metadata_rows += [
                    {"instance_uuid": instance_uuid, "key": k, "value": v} for k, v in metadata
                ]
                system_rows += [
                    {"instance_uuid": instance_uuid, "key": k, "value": v}
                    for k, v in system_metadata
                ]
                bdm_out += [dict(row, instance_uuid=instance_uuid) for row in bdm_rows]
                actions.append(
                    {
                        "action": "create",
                        "instance_uuid": instance_uuid,
                        "request_id": context.request_id,
                        "user_id": context.user_id,
                        "project_id": project_id,
                        "start_time": now,
                    }
                )
            conn.execute(self.inserts["instances"], instances)
            if metadata_rows:
                conn.execute(self.inserts["instance_metadata"], metadata_rows)
            conn.execute(self.inserts["instance_system_metadata"], system_rows)
            if bdm_out:
                conn.execute(self.inserts["block_device_mapping"], bdm_out)
            conn.execute(self.settle, steps)
            conn.execute(self.delete_reservations, {"uuids": [r["uuid"] for r in reservations]})
            conn.execute(self.inserts["instance_actions"], actions)
        return [row["uuid"] for row in instances]

    def close(self):
        self.engine.dispose()


# --- the cast --------------------------------------------------------------------------------


def _isotime(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(value, datetime.datetime) else value


def _json_default(value):
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    raise TypeError(type(value).__name__)


class Cast:
    """build_instances v1.5 as oslo.messaging puts it on the wire, published with bare kombu:
    one connection and one producer, no pool and no retry wrapper. As the path publishes
    (docs/rpc-and-tracing.md, 1.4 and 1.7; refnova/messaging/transport.py), each publish names
    the queue in ``declare`` (kombu's cached declaration: it is declared once per connection)
    and on RabbitMQ waits, up to a timeout, for the broker's confirm and is ``mandatory``."""

    def __init__(self, url, confirm=False, mandatory=False, confirm_timeout=10.0):
        options = {"transport_options": {"confirm_publish": True}} if confirm else {}
        self.connection = kombu.Connection(url, **options)
        self.options = {"mandatory": True} if mandatory else {}
        if confirm:
            self.options["confirm_timeout"] = confirm_timeout
        self.exchange = kombu.Exchange("nova", type="topic", durable=False, auto_delete=False)
        self.queue = kombu.Queue(
            "conductor", self.exchange, routing_key="conductor", durable=False, auto_delete=False
        )
        channel = self.connection.channel()
        self.bound_queue = self.queue(channel)
        self.producer = kombu.Producer(
            channel, exchange=self.exchange, serializer="json", auto_declare=False
        )

    def __call__(self, context, instances, **kwargs):
        data = [{key: _isotime(value) for key, value in instance.items()} for instance in instances]
        args = dict(
            kwargs,
            instances=[
                {
                    "nova_object.name": "Instance",
                    "nova_object.namespace": "nova",
                    "nova_object.version": "1.13",
                    "nova_object.data": item,
                    "nova_object.changes": sorted(item),
                }
                for item in data
            ],
        )
        message = {
            "method": "build_instances",
            "args": args,
            "namespace": "compute_task",
            "version": "1.5",
            "_unique_id": uuid.uuid4().hex,
            "_context_user_id": context.user_id,
            "_context_project_id": context.project_id,
            "_context_is_admin": context.is_admin,
            "_context_read_deleted": context.read_deleted,
            "_context_roles": list(context.roles),
            "_context_remote_address": context.remote_address,
            "_context_timestamp": context.timestamp.strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "_context_request_id": context.request_id,
            "_context_auth_token": context.auth_token,
            "_context_quota_class": None,
            "_context_user_name": context.user_name,
            "_context_service_catalog": [],
            "_context_project_name": context.project_name,
            "_context_instance_lock_checked": False,
            "_context_tenant": context.project_id,
            "_context_user": context.user_id,
        }
        envelope = {
            "oslo.version": "2.0",
            "oslo.message": json.dumps(message, default=_json_default),
        }
        self.producer.publish(
            envelope,
            routing_key="conductor",
            delivery_mode=2,
            headers={},
            declare=[self.bound_queue],
            **self.options,
        )
        return message["_unique_id"]

    def purge(self):
        self.queue(self.connection.default_channel).purge()

    def close(self):
        self.connection.release()


# --- spans -----------------------------------------------------------------------------------


def spans(tracer, tree):
    """One span per node of ``tree`` (name, kind, attributes, children), nested as in the traced
    create: a span with children is current while they run, a leaf is started and ended."""
    for name, kind, attributes, children in tree:
        if children:
            with tracer.start_as_current_span(name, kind=kind, attributes=attributes):
                spans(tracer, children)
        else:
            tracer.start_span(name, kind=kind, attributes=attributes).end()
