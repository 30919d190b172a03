"""SQLAlchemy 2 models for the rows the create path reads and writes."""

import datetime
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    Row,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


def table_of(model: type[Base]) -> Table:
    """The model's Table, typed as one (DeclarativeBase types ``__table__`` as a FromClause)."""
    return Base.metadata.tables[model.__tablename__]


class Flavor(Base):
    __tablename__ = "instance_types"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flavorid: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    memory_mb: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(default=1.0)
    vcpu_weight: Mapped[int | None] = mapped_column(Integer, nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    extra_specs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)  # shown from 2.55


class FlavorRecord(Protocol):
    """A flavor as the create path reads it: a Flavor, or a Core row of its columns
    (``db.api.flavor_get_by_flavor_id``)."""

    @property
    def id(self) -> int: ...
    @property
    def flavorid(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def memory_mb(self) -> int: ...
    @property
    def vcpus(self) -> int: ...
    @property
    def root_gb(self) -> int: ...
    @property
    def ephemeral_gb(self) -> int: ...
    @property
    def swap(self) -> int: ...
    @property
    def rxtx_factor(self) -> float: ...
    @property
    def vcpu_weight(self) -> int | None: ...
    @property
    def disabled(self) -> bool: ...
    @property
    def is_public(self) -> bool: ...
    @property
    def extra_specs(self) -> dict[str, Any] | None: ...
    @property
    def deleted(self) -> int: ...


class FlavorProject(Base):
    __tablename__ = "instance_type_projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flavor_id: Mapped[int] = mapped_column(ForeignKey("instance_types.id"))
    project_id: Mapped[str] = mapped_column(String(255))


class KeyPair(Base):
    __tablename__ = "key_pairs"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(255), default="")
    public_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)
    type: Mapped[str] = mapped_column(String(16), default="ssh")  # shown from 2.2


class ComputeNode(Base):
    """A compute host of the world, with the resources the fake compute has claimed."""

    __tablename__ = "compute_nodes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    hypervisor_hostname: Mapped[str] = mapped_column(String(255))
    availability_zone: Mapped[str] = mapped_column(String(255))
    memory_mb: Mapped[int] = mapped_column(Integer)
    local_gb: Mapped[int] = mapped_column(Integer)
    memory_mb_used: Mapped[int] = mapped_column(Integer, default=0)
    local_gb_used: Mapped[int] = mapped_column(Integer, default=0)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class Instance(Base):
    __tablename__ = "instances"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    launched_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    scheduled_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    reservation_id: Mapped[str] = mapped_column(String(255))
    launch_index: Mapped[int] = mapped_column(Integer, default=0)
    user_id: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255))
    display_description: Mapped[str | None] = mapped_column(String(255), nullable=True)
    hostname: Mapped[str] = mapped_column(String(255))
    image_ref: Mapped[str] = mapped_column(String(255))
    kernel_id: Mapped[str] = mapped_column(String(255), default="")
    ramdisk_id: Mapped[str] = mapped_column(String(255), default="")
    instance_type_id: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer)
    ephemeral_gb: Mapped[int] = mapped_column(Integer)
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    vm_state: Mapped[str] = mapped_column(String(255))
    task_state: Mapped[str | None] = mapped_column(String(255), nullable=True)
    config_drive: Mapped[str] = mapped_column(String(255), default="")
    key_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    key_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    access_ip_v4: Mapped[str | None] = mapped_column(String(39), nullable=True)
    access_ip_v6: Mapped[str | None] = mapped_column(String(39), nullable=True)
    availability_zone: Mapped[str | None] = mapped_column(String(255), nullable=True)
    root_device_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    os_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    architecture: Mapped[str | None] = mapped_column(String(255), nullable=True)
    vm_mode: Mapped[str | None] = mapped_column(String(255), nullable=True)
    auto_disk_config: Mapped[bool] = mapped_column(Boolean, default=False)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    shutdown_terminate: Mapped[bool] = mapped_column(Boolean, default=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    node: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Refnova keeps what Neutron would report for the instance's ports and groups here.
    security_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    network_info: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    deleted: Mapped[int] = mapped_column(Integer, default=0)


# An instance as a view reads it: the entity (a list's), or a Core row of its columns, whose
# attributes have the same names (a show's: ``db.server_reads.instance``).
InstanceRecord = Instance | Row[Any]


class InstanceMetadata(Base):
    __tablename__ = "instance_metadata"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))


class InstanceSystemMetadata(Base):
    __tablename__ = "instance_system_metadata"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(Text, nullable=True)


class BlockDeviceMapping(Base):
    __tablename__ = "block_device_mapping"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), index=True
    )
    source_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    destination_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    guest_format: Mapped[str | None] = mapped_column(String(255), nullable=True)
    device_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    disk_bus: Mapped[str | None] = mapped_column(String(255), nullable=True)
    boot_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    device_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    snapshot_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    volume_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    volume_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    image_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    no_device: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    connection_info: Mapped[str | None] = mapped_column(Text, nullable=True)


class InstanceFault(Base):
    __tablename__ = "instance_faults"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), index=True
    )
    code: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(255))
    details: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)


class InstanceAction(Base):
    __tablename__ = "instance_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(255))
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), index=True
    )
    request_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255))
    start_time: Mapped[datetime.datetime] = mapped_column(DateTime)
    finish_time: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    message: Mapped[str | None] = mapped_column(String(255), nullable=True)


class InstanceGroup(Base):
    __tablename__ = "instance_groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255))
    policies: Mapped[list[str]] = mapped_column(JSON, default=list)


class InstanceGroupMember(Base):
    __tablename__ = "instance_group_member"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("instance_groups.id"))
    instance_id: Mapped[str] = mapped_column(String(36))


class Quota(Base):
    """A project's own hard limit for a resource (the defaults come from the world)."""

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("project_id", "resource"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(255))
    hard_limit: Mapped[int] = mapped_column(BigInteger)


class QuotaUsage(Base):
    __tablename__ = "quota_usages"
    __table_args__ = (UniqueConstraint("project_id", "resource"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(255))
    in_use: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)


class Reservation(Base):
    __tablename__ = "reservations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    usage_id: Mapped[int] = mapped_column(ForeignKey("quota_usages.id"))
    project_id: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(255))
    delta: Mapped[int] = mapped_column(BigInteger)
    expire: Mapped[datetime.datetime] = mapped_column(DateTime)


class Tag(Base):
    """A server's tag (given at create from 2.52): Nova's ``tags`` table."""

    __tablename__ = "tags"
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(80), primary_key=True)


class InstanceExtra(Base):
    """The part of Nova's ``instance_extra`` refnova keeps: the trusted image certificate
    ids a server was created with (2.63), and the scheduler hints it was created with (Nova's
    request spec's, shown from 2.100)."""

    __tablename__ = "instance_extra"
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), primary_key=True
    )
    trusted_certs: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    scheduler_hints: Mapped[dict[str, list[Any]] | None] = mapped_column(JSON, nullable=True)


class RegisteredBehaviour(Base):
    """A behaviour registered for tests to meet (``refnova.behaviours``): its JSON as given,
    its place in the order (first registered first), and a sequence's next step."""

    __tablename__ = "behaviours"
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    step: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)


class InstanceBehaviour(Base):
    """The behaviour a create chose for an instance, for the hops after the API (the
    conductor, the cast, the delete); ``acted`` counts what a bounded one has done."""

    __tablename__ = "instance_behaviours"
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), primary_key=True
    )
    behaviour_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    acted: Mapped[int] = mapped_column(Integer, default=0)
