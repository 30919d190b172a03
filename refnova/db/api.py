"""The database: engine set-up, seeding from the world, and the queries the path needs."""

import contextlib
import datetime
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from refnova import exception, tracing, utils
from refnova.context import RequestContext
from refnova.db import memory, models
from refnova.db.engine import POOL_SIZE, make_engine, read_only_options

# The parameters of one statement, or of one statement run for each row.
Params = Mapping[str, Any] | Sequence[Mapping[str, Any]]

QUOTA_RESOURCES = ("instances", "cores", "ram")
# PostgreSQL advisory lock that serializes schema creation and seeding between the processes
# (API and conductors) that may start at once on an empty database.
SCHEMA_LOCK_KEY = 0x7265666E6F7661
# What a database that is away (or busy) raises, rather than a request it refuses: worth trying
# the same work again later.
TRANSIENT_ERRORS = (sqlalchemy_exc.OperationalError, sqlalchemy_exc.InterfaceError)


class Database:
    """One engine and the transactions over it."""

    def __init__(
        self,
        url: str,
        schema_from: "Database | None" = None,
        pool_size: int = POOL_SIZE,  # connections kept open: as many as threads use
    ) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size)
        self._read_engine = self.engine.execution_options(**read_only_options(self.engine))
        # A single shared in-memory SQLite connection cannot hold two transactions at
        # once, so its users take turns.
        in_memory = self.engine.dialect.name == "sqlite" and self.engine.url.database in (
            None,
            "",
            ":memory:",
        )
        self._turns: AbstractContextManager[Any] = (
            threading.RLock() if in_memory else contextlib.nullcontext()
        )
        if schema_from is not None:  # in-memory: its schema copied (refnova.db.memory)
            memory.copy(schema_from, self)
        else:
            with self.engine.begin() as connection:
                _lock_schema(connection)
                models.Base.metadata.create_all(connection)
        # Database spans (only when tracing is on: otherwise nothing is hooked).
        self._instrumentor = tracing.SQLAlchemyInstrumentor()
        self._instrumentor.instrument(self.engine)

    @property
    def system_name(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._turns, Session(self.engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

    @contextlib.contextmanager
    def writing(self) -> Iterator[Connection]:
        """A Core connection in a write transaction (BEGIN IMMEDIATE on SQLite), for work
        that needs no ORM session: a build's reads and writes, a third less than a session's."""
        with self._turns, self.engine.begin() as connection:
            yield connection

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A session for reads only. On SQLite (WAL) it takes no write lock: it neither waits
        for a writer (a build committing) nor makes one wait, and sees the last commit."""
        with self._turns, Session(self._read_engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        """A Core connection in a transaction, for lookups that need no ORM session (no
        Session to build, flush and close: a third of the cost of a one-row read); as
        ``snapshot``, it takes no write lock."""
        with self._turns, self._read_engine.begin() as connection:
            yield connection

    def close(self) -> None:
        self._instrumentor.uninstrument(self.engine)
        self.engine.dispose()


def _lock_schema(connection: Connection) -> None:
    """PostgreSQL: one process at a time creates or seeds (SQLite: BEGIN IMMEDIATE does it)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})


# --- the world ------------------------------------------------------------------------


def seed_world(db: Database, world: Mapping[str, Any]) -> None:
    """Fill an empty database with the world's flavors, key pairs, hosts and quotas."""
    with db.transaction() as session:
        _lock_schema(session.connection())
        if session.scalar(select(func.count()).select_from(models.Flavor)):
            return
        for spec in world.get("flavors", []):
            flavor = models.Flavor(
                flavorid=spec["flavorid"],
                name=spec["name"],
                memory_mb=spec["memory_mb"],
                vcpus=spec["vcpus"],
                root_gb=spec["root_gb"],
                ephemeral_gb=spec.get("ephemeral_gb", 0),
                swap=spec.get("swap", 0),
                disabled=spec.get("disabled", False),
                is_public=spec.get("is_public", True),
                extra_specs=spec.get("extra_specs", {}),
                description=spec.get("description"),
            )
            session.add(flavor)
            session.flush()
            for project_id in spec.get("projects", []):
                session.add(models.FlavorProject(flavor_id=flavor.id, project_id=project_id))
        for spec in world.get("keypairs", []):
            session.add(models.KeyPair(**spec))
        for spec in world.get("hosts", []):
            session.add(
                models.ComputeNode(
                    host=spec["host"],
                    hypervisor_hostname=spec.get("node", spec["host"]),
                    availability_zone=spec.get("availability_zone", "nova"),
                    memory_mb=spec["memory_mb"],
                    local_gb=spec["disk_gb"],
                    disabled=not spec.get("enabled", True),
                )
            )
        for project_id, limits in world.get("project_quotas", {}).items():
            for resource, limit in limits.items():
                session.add(
                    models.Quota(project_id=project_id, resource=resource, hard_limit=limit)
                )
        for spec in world.get("server_groups", []):
            session.add(
                models.InstanceGroup(
                    uuid=spec["uuid"],
                    name=spec["name"],
                    user_id=spec.get("user_id", ""),
                    project_id=spec["project_id"],
                    policies=spec.get("policies", []),
                )
            )


_FLAVORS = models.table_of(models.Flavor)
_FLAVOR_BY_ID = select(_FLAVORS).where(
    _FLAVORS.c.flavorid == bindparam("flavorid"), _FLAVORS.c.deleted == 0
)
_VISIBLE_FLAVOR_BY_ID = _FLAVOR_BY_ID.where(
    _FLAVORS.c.is_public.is_(True)
    | _FLAVORS.c.id.in_(
        select(models.FlavorProject.__table__.c.flavor_id).where(
            models.FlavorProject.__table__.c.project_id == bindparam("project_id")
        )
    )
)


def flavor_get_by_flavor_id(
    session: Session | Connection, flavorid: str, context: RequestContext
) -> models.FlavorRecord:
    """The non-deleted flavor with this flavorid that the caller may see.

    ``session`` may also be a Connection (``Database.reading``). The flavor comes back as a
    read-only record with the flavor's columns as attributes (a Core row), read with one
    prebuilt statement: every create reads it, and loading it as an ORM object cost several
    times as much.
    """
    if context.is_admin:
        row = execute_core(session, _FLAVOR_BY_ID, {"flavorid": flavorid}).first()
    else:
        row = execute_core(
            session, _VISIBLE_FLAVOR_BY_ID, {"flavorid": flavorid, "project_id": context.project_id}
        ).first()
    if row is None:
        raise exception.FlavorNotFound(flavor_id=flavorid)
    return row


def key_pair_get(session: Session, user_id: str, name: str) -> models.KeyPair:
    keypair = session.scalar(
        select(models.KeyPair).where(models.KeyPair.user_id == user_id, models.KeyPair.name == name)
    )
    if keypair is None:
        raise exception.KeypairNotFound(user_id=user_id, name=name)
    return keypair


def compute_node_exists(session: Session, host: str | None, node: str | None) -> bool:
    """Whether a compute node has this host and node (either may be left out)."""
    query = select(models.ComputeNode.id)
    if host:
        query = query.where(models.ComputeNode.host == host)
    if node:
        query = query.where(models.ComputeNode.hypervisor_hostname == node)
    return session.scalars(query.limit(1)).first() is not None


def availability_zones(session: Session) -> set[str]:
    zones = session.scalars(
        select(models.ComputeNode.availability_zone)
        .where(models.ComputeNode.disabled.is_(False))
        .distinct()
    )
    return set(zones) | {"internal"}


def instance_group_get(session: Session, group_uuid: str) -> models.InstanceGroup:
    group = session.scalar(
        select(models.InstanceGroup).where(models.InstanceGroup.uuid == group_uuid)
    )
    if group is None:
        raise exception.InstanceGroupNotFound(group_uuid=group_uuid)
    return group


# --- quotas ---------------------------------------------------------------------------
# A project's limits; reserving, settling and releasing usage are refnova.db.reservations'.
# The create path's statements are Core statements built once: the ORM's per-statement
# construction, bulk-persistence and session-synchronisation work cost several times the
# statements themselves (benchmarks/README.md has the profile).

_QUOTAS = models.table_of(models.Quota)
_SELECT_LIMITS = select(_QUOTAS.c.resource, _QUOTAS.c.hard_limit).where(
    _QUOTAS.c.project_id == bindparam("project_id")
)
_INSERTS = {
    model: models.table_of(model).insert()
    for model in (
        models.Instance,
        models.InstanceMetadata,
        models.InstanceSystemMetadata,
        models.BlockDeviceMapping,
        models.InstanceGroupMember,
        models.InstanceAction,
    )
}


def execute_core(
    session: Session | Connection, statement: Executable, params: Params
) -> CursorResult[Any]:
    """A Core statement on the session's connection (no ORM execution or autoflush around it),
    or on a Connection given instead of a session."""
    connection = session if isinstance(session, Connection) else session.connection()
    return connection.execute(statement, params)


def quota_limits(
    session: Session | Connection, defaults: Mapping[str, int], project_id: str
) -> dict[str, int]:
    limits = dict(defaults)
    rows = execute_core(session, _SELECT_LIMITS, {"project_id": project_id}).all()
    limits.update(rows)  # type: ignore[arg-type]  # each row is a (resource, limit) pair
    return limits


# --- instances ------------------------------------------------------------------------


def instances_create(
    session: Session,
    instances: Sequence[Mapping[str, Any]],
    metadata: Sequence[Mapping[str, Any]],
    system_metadata: Sequence[Mapping[str, Any]],
    bdms: Sequence[Mapping[str, Any]],
    group_members: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Insert the rows of new instances, one Core statement per table.

    Core, not the ORM's bulk insert: that one splits a table's rows into one statement per
    distinct set of non-None keys (a system metadata row with a None value broke the batch in
    three) and processes each row through the mapper. Every row of a table has the same keys,
    and no value the create path gives is None where a column has a default.
    """
    for model, rows in (
        (models.Instance, instances),
        (models.InstanceMetadata, metadata),
        (models.InstanceSystemMetadata, system_metadata),
        (models.BlockDeviceMapping, bdms),
        (models.InstanceGroupMember, group_members),
    ):
        if rows:
            execute_core(session, _INSERTS[model], rows)


# System metadata that marks an instance whose create never reached a conductor: its quota
# was given back then, so deleting it must not give it back again.
QUOTA_RELEASED_KEY = "refnova_quota_released"


def mark_quota_released(session: Session, instance_uuids: Iterable[str]) -> None:
    execute_core(
        session,
        _INSERTS[models.InstanceSystemMetadata],
        [
            {"instance_uuid": instance_uuid, "key": QUOTA_RELEASED_KEY, "value": "True"}
            for instance_uuid in instance_uuids
        ],
    )


def quota_already_released(session: Session, instance_uuid: str) -> bool:
    count = session.execute(
        select(func.count())
        .select_from(models.InstanceSystemMetadata)
        .where(
            models.InstanceSystemMetadata.instance_uuid == instance_uuid,
            models.InstanceSystemMetadata.key == QUOTA_RELEASED_KEY,
        )
    ).scalar_one()
    return count > 0


def instances_set_error(
    session: Session, instance_uuids: Sequence[str], code: int, message: str, details: str = ""
) -> list[str]:
    """Instances that will never be built: ERROR, a fault each, and their create action closed.

    Only instances still 'building' change, so one that a conductor built meanwhile stays as built.
    Returns the uuids that changed.
    """
    now = models.utcnow()
    changed = session.scalars(
        update(models.Instance)
        .where(models.Instance.uuid.in_(instance_uuids), models.Instance.vm_state == "building")
        .values(vm_state="error", task_state=None, updated_at=now)
        .returning(models.Instance.uuid)
    ).all()
    if changed:
        session.execute(
            insert(models.InstanceFault),
            [
                {
                    "instance_uuid": instance_uuid,
                    "code": code,
                    "message": message[:255],
                    "details": details,
                    "created_at": now,
                }
                for instance_uuid in changed
            ],
        )
        session.execute(
            update(models.InstanceAction)
            .where(
                models.InstanceAction.instance_uuid.in_(changed),
                models.InstanceAction.action == "create",
            )
            .values(finish_time=now, message="Error")
        )
    return list(changed)


def actions_start(session: Session, actions: Sequence[Mapping[str, Any]]) -> None:
    execute_core(session, _INSERTS[models.InstanceAction], actions)


def instance_get(
    session: Session, instance_uuid: str, project_id: str | None = None
) -> models.Instance:
    query = select(models.Instance).where(
        models.Instance.uuid == instance_uuid, models.Instance.deleted == 0
    )
    if project_id is not None:
        query = query.where(models.Instance.project_id == project_id)
    instance = session.scalar(query)
    if instance is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    return instance


def instance_get_for_update(
    session: Session, instance_uuid: str, project_id: str
) -> models.Instance:
    """A live instance of the project, its row locked until the transaction ends."""
    instance = session.scalar(
        select(models.Instance)
        .where(
            models.Instance.uuid == instance_uuid,
            models.Instance.project_id == project_id,
            models.Instance.deleted == 0,
        )
        .with_for_update()
    )
    if instance is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    return instance


def instance_soft_delete(
    session: Session, instance: models.Instance, now: datetime.datetime
) -> None:
    """Nova's soft delete: ``deleted`` takes the row's id, the state becomes 'deleted'."""
    instance.deleted = instance.id
    instance.vm_state, instance.task_state, instance.updated_at = "deleted", None, now


def compute_node_release(
    session: Session, host: str, node: str | None, memory_mb: int, local_gb: int
) -> None:
    """Give back what an instance had claimed on its host."""
    session.execute(
        update(models.ComputeNode)
        .where(models.ComputeNode.host == host, models.ComputeNode.hypervisor_hostname == node)
        .values(
            memory_mb_used=models.ComputeNode.memory_mb_used - memory_mb,
            local_gb_used=models.ComputeNode.local_gb_used - local_gb,
        )
    )


def count_rows(db: Database, model: type[models.Base], **filters: Any) -> int:
    """How many rows of ``model`` match (for tests and checks)."""
    with db.transaction() as session:
        query = select(func.count()).select_from(model)
        for column, value in filters.items():
            query = query.where(getattr(model, column) == value)
        return session.execute(query).scalar_one()


def instance_group_get_by_hint(
    session: Session, project_id: str, user_id: str, hint: str
) -> models.InstanceGroup:
    """The group a ``group`` scheduler hint names: by uuid (else InstanceGroupNotFound), or
    by name in the project, made on first use with Icehouse's 'legacy' policy."""
    if utils.is_uuid_like(hint):
        return instance_group_get(session, hint)
    existing = (
        session.query(models.InstanceGroup).filter_by(project_id=project_id, name=hint).first()
    )
    if existing is not None:
        return existing
    group = models.InstanceGroup(
        uuid=str(uuid.uuid4()),
        name=hint,
        user_id=user_id,
        project_id=project_id,
        policies=["legacy"],
    )
    session.add(group)
    session.flush()
    return group
