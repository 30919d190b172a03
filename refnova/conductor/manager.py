"""conductor.manager.ComputeTaskManager and what Icehouse did after it, in one process.

Icehouse's conductor cast ``run_instance`` to the scheduler, whose FilterScheduler picked a
host and cast to that host's compute manager. refnova runs those steps in-process: filters
(enabled, availability zone, forced host/node, RAM, disk; 2.74's requested host/node is kept
to and still filtered), a RAM weigher, and a fake compute driver that records the server
ACTIVE, or ERROR with a fault when no host fits.
"""

import datetime
import functools
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.engine import Connection

from refnova import exception, messaging, tracing
from refnova.behaviours import Applied
from refnova.conductor import behaviours as hops
from refnova.conductor import building
from refnova.conductor.building import BuildingInstance
from refnova.conductor.timers import Timers
from refnova.context import RequestContext
from refnova.db import models
from refnova.db.api import Database, execute_core
from refnova.network import neutron

# Over the wire: (network id, fixed IP, port id) lists, as the compute API cast them.
RequestedNetworks = Sequence[Sequence[Any]] | None
# A compute_nodes row (id, host, hypervisor_hostname, memory_mb, ...), read with Core.
Node = Row[Any]

LOG = logging.getLogger(__name__)
POWER_STATE_RUNNING = 1
SCHEDULING = ("building", "scheduling")  # (vm_state, task_state) of an instance to build
SPAWNING = ("building", "spawning")  # ... of one whose held spawn has not ended
RAM_ALLOCATION_RATIO = 1.5  # Icehouse's default
DISK_ALLOCATION_RATIO = 1.0


class ComputeTaskManager:
    target = messaging.Target(namespace="compute_task", version="1.6")

    def __init__(self, db: Database, network_api: neutron.API, spawn_seconds: float = 0.0) -> None:
        self.db = db
        self.scheduler = FilterScheduler(db)
        # What behaviours finish later (a held spawn, a later failure), off the consumer thread.
        self.timers = Timers("conductor-timers")
        self.compute = FakeComputeManager(db, network_api, spawn_seconds, self.timers)

    def stop(self) -> None:
        """Drop the transitions not yet due (a conductor that starts takes them over)."""
        self.timers.stop()

    def take_over_delayed(self) -> int:
        """Schedule the delayed transitions still to come, each at its time (at once if it
        is past): those a conductor stopped or killed before their time never made. Another
        conductor may hold the same ones; the instance's row lock lets one of them act."""
        with self.db.transaction() as session:
            pending = hops.unfinished(session)
        now = models.utcnow()
        for instance_uuid, applied, due in pending:
            finish = (
                self.compute.finish_spawn if applied.name == hops.BUILD else self.compute.fail_later
            )
            self.timers.call_later(
                (due - now).total_seconds(), functools.partial(finish, instance_uuid, applied)
            )
        if pending:
            LOG.info("Took over %d delayed transition(s) of behaviours", len(pending))
        return len(pending)

    @tracing.traced("conductor.manager.ComputeTaskManager.build_instances")
    def build_instances(
        self,
        context: RequestContext,
        instances: Sequence[Mapping[str, Any]],
        image: Mapping[str, Any] | None,
        filter_properties: Mapping[str, Any],
        admin_password: str | None,
        injected_files: Sequence[Sequence[Any]],
        requested_networks: RequestedNetworks,
        security_groups: Sequence[str],
        block_device_mapping: Sequence[Mapping[str, Any]] | None = None,
        legacy_bdm: bool = True,
    ) -> None:
        uuids = [instance["nova_object.data"]["uuid"] for instance in instances]
        tracing.annotate(
            {
                "nova.instance_uuids": uuids,
                "nova.request_id": context.request_id,
                "nova.project_id": context.project_id,
            }
        )
        request_spec = {
            "image": image or {},
            "instance_uuids": uuids,
            "num_instances": len(uuids),
            "instance_type": filter_properties.get("instance_type", {}),
            "block_device_mapping": block_device_mapping,
            "security_group": security_groups,
        }
        self.scheduler.run_instance(
            context, request_spec, filter_properties, requested_networks, self.compute
        )


class FilterScheduler:
    def __init__(self, db: Database) -> None:
        self.db = db

    @tracing.traced("scheduler.filter_scheduler.FilterScheduler.schedule_run_instance")
    def run_instance(
        self,
        context: RequestContext,
        request_spec: Mapping[str, Any],
        filter_properties: Mapping[str, Any],
        requested_networks: RequestedNetworks,
        compute: "FakeComputeManager",
    ) -> None:
        flavor = request_spec["instance_type"]
        for instance_uuid in request_spec["instance_uuids"]:
            self._schedule_one(
                context, instance_uuid, flavor, filter_properties, requested_networks, compute
            )

    def _schedule_one(
        self,
        context: RequestContext,
        instance_uuid: str,
        flavor: Mapping[str, Any],
        filter_properties: Mapping[str, Any],
        requested_networks: RequestedNetworks,
        compute: "FakeComputeManager",
    ) -> None:
        """Build one instance exactly once, however often its message is delivered.

        The claim and the ACTIVE state are committed together, under a lock on the instance row,
        and only while the instance is still building/scheduling: a redelivered message (its
        conductor died before acknowledging it), a duplicated cast or a second conductor finds
        it built, or spawning, and does nothing.
        """
        if compute.spawn_seconds:
            with self.db.transaction() as session:
                found = session.execute(
                    select(models.Instance.vm_state, models.Instance.task_state).where(
                        models.Instance.uuid == instance_uuid
                    )
                ).first()
            if found is None or tuple(found) != SCHEDULING:
                LOG.info("Instance %s is %s: not building it again", instance_uuid, _shown(found))
                return
            LOG.info("Spawning instance %s", instance_uuid)
            compute.spawn()  # the hypervisor's time, outside any transaction
        with self.db.writing() as connection:
            instance = _locked(connection, instance_uuid)
            if instance is None or (instance.vm_state, instance.task_state) != SCHEDULING:
                # Built already (a redelivered message), spawning or gone: nothing to do twice.
                state = (instance.vm_state, instance.task_state) if instance else None
                LOG.info("Instance %s is %s: not building it again", instance_uuid, _shown(state))
                return
            applied = instance.behaviour
            node = self._select_host(connection, instance, flavor, filter_properties, applied)
            if node is None:
                reason = applied.parameters.get("reason", "") if applied is not None else ""
                compute.record_no_valid_host(connection, instance, str(reason or ""))
                host = None
            else:
                _claim(connection, node, instance)
                compute.run_instance(
                    connection, context, instance, node, requested_networks, applied
                )
                host = node.host
            building.write(connection, instance)
            outcome = instance.vm_state, instance.task_state
        if host is None:
            LOG.info("Instance %s: no valid host", instance_uuid)
        elif outcome == ("active", None):
            LOG.info("Built instance %s on %s", instance_uuid, host)
        else:
            LOG.info("Instance %s on %s is %s", instance_uuid, host, _shown(outcome))

    @tracing.traced("scheduler.filter_scheduler.FilterScheduler._schedule")
    def _select_host(
        self,
        connection: Connection,
        instance: BuildingInstance,
        flavor: Mapping[str, Any],
        filter_properties: Mapping[str, Any],
        applied: Applied | None = None,
    ) -> Node | None:
        no_host = hops.acting(applied, hops.NO_VALID_HOST)
        if no_host is not None:
            hops.annotate(tracing.current_span(), no_host)
            return None
        nodes = execute_core(connection, _NODES_LOCKED, {}).all()
        forced_hosts = filter_properties.get("force_hosts") or []
        forced_nodes = filter_properties.get("force_nodes") or []
        if forced_hosts or forced_nodes:
            # Icehouse bypasses the filters for forced hosts; today's Nova too, but placement
            # still has to claim the host's resources (enabled, room).
            claimed = bool(filter_properties.get("placement"))
            candidates = [
                n
                for n in nodes
                if (not forced_hosts or n.host in forced_hosts)
                and (not forced_nodes or n.hypervisor_hostname in forced_nodes)
                and (not claimed or _has_room(n, instance, flavor))
            ]
        else:
            # 2.74's requested destination still goes through the filters (unlike forced).
            wanted = filter_properties.get("requested_destination") or {}
            candidates = [
                n
                for n in nodes
                if _is_requested(n, wanted) and _passes_filters(n, instance, flavor)
            ]
        if not candidates:
            return None
        return max(candidates, key=lambda n: n.memory_mb * RAM_ALLOCATION_RATIO - n.memory_mb_used)


def _shown(state: Sequence[Any] | None) -> str:
    """An instance's (vm_state, task_state) in a log line: 'active', 'building/spawning'."""
    if state is None:
        return "gone"
    vm_state, task_state = state
    return vm_state if task_state is None else "%s/%s" % (vm_state, task_state)


def _is_requested(node: Node, destination: Mapping[str, str]) -> bool:
    """Whether the node is the requested destination's host and/or node (or none is asked)."""
    return (
        destination.get("host", node.host) == node.host
        and destination.get("node", node.hypervisor_hostname) == node.hypervisor_hostname
    )


def _passes_filters(node: Node, instance: BuildingInstance, flavor: Mapping[str, Any]) -> bool:
    in_zone = not instance.availability_zone or node.availability_zone == instance.availability_zone
    return in_zone and _has_room(node, instance, flavor)


def _has_room(node: Node, instance: BuildingInstance, flavor: Mapping[str, Any]) -> bool:
    """Enabled, with the flavor's RAM and disk free (what placement's claim needs too)."""
    memory = flavor.get("memory_mb", instance.memory_mb)
    disk = flavor.get("root_gb", instance.root_gb) + flavor.get(
        "ephemeral_gb", instance.ephemeral_gb
    )
    return (
        not node.disabled
        and node.memory_mb * RAM_ALLOCATION_RATIO - node.memory_mb_used >= memory
        and node.local_gb * DISK_ALLOCATION_RATIO - node.local_gb_used >= disk
    )


# Every build runs these, so they are built once: the UPDATEs as Core statements (an ORM UPDATE
# built and evaluated per call cost about a third of a build's CPU), the locking reads with a
# bound parameter instead of a new statement per instance.
_NODES = models.table_of(models.ComputeNode)
_CLAIM = (
    update(_NODES)
    .where(_NODES.c.id == bindparam("claim_node"))
    .values(
        memory_mb_used=_NODES.c.memory_mb_used + bindparam("claim_ram"),
        local_gb_used=_NODES.c.local_gb_used + bindparam("claim_disk"),
    )
)
# The hosts as Core rows (attribute access as on the model): nothing of them is written
# through the ORM, so no entity is loaded into the connection for its flush to check.
_NODES_LOCKED = select(_NODES).order_by(_NODES.c.id).with_for_update()
_FAULTS = models.table_of(models.InstanceFault)
_INSERT_FAULT = insert(_FAULTS)
_FAULT_COLUMNS = ("instance_uuid", "code", "message", "details", "created_at")
_ACTIONS = models.table_of(models.InstanceAction)
_FINISH_CREATE = (
    update(_ACTIONS)
    .where(_ACTIONS.c.instance_uuid == bindparam("action_instance"), _ACTIONS.c.action == "create")
    .values(finish_time=bindparam("action_finish"), message=bindparam("action_message"))
)


def _claim(connection: Connection, node: Node, instance: BuildingInstance, sign: int = 1) -> None:
    """Take the instance's RAM and disk on the node (``sign`` -1: give them back)."""
    execute_core(
        connection,
        _CLAIM,
        {
            "claim_node": node.id,
            "claim_ram": sign * instance.memory_mb,
            "claim_disk": sign * (instance.root_gb + instance.ephemeral_gb),
        },
    )


class FakeComputeManager:
    """compute.manager.ComputeManager.run_instance with a driver that spawns nothing, or, as a
    behaviour asks, fails to spawn, takes its time, or fails some time after (the delayed
    transitions run on ``timers``, in this process)."""

    def __init__(
        self,
        db: Database,
        network_api: neutron.API,
        spawn_seconds: float = 0.0,
        timers: Timers | None = None,
    ) -> None:
        self.db = db
        self.network_api = network_api
        # How long a "hypervisor" takes to spawn a server (0: at once); it keeps messages in
        # flight long enough to stop or kill a conductor in the middle of a build.
        self.spawn_seconds = spawn_seconds
        self.timers = timers if timers is not None else Timers("compute-timers")

    def spawn(self) -> None:
        time.sleep(self.spawn_seconds)

    @tracing.traced("compute.manager.ComputeManager.run_instance")
    def run_instance(
        self,
        connection: Connection,
        context: RequestContext,
        instance: BuildingInstance,
        node: Node,
        requested_networks: RequestedNetworks,
        applied: Applied | None = None,
    ) -> None:
        tracing.annotate(
            {
                "nova.instance_uuid": instance.uuid,
                "nova.host": node.host,
                "nova.node": node.hypervisor_hostname,
            }
        )
        acting = hops.acting(applied, *hops.COMPUTE_KINDS)
        if acting is not None:
            hops.annotate(tracing.current_span(), acting)
        now = models.utcnow()
        try:
            _driver_spawn(acting)
        except hops.BuildFailed as error:
            self._abort_build(connection, instance, node, error, hops.details_of(acting), now)
            return
        instance.network_info = self.network_api.allocate_for_instance(
            context,
            instance.uuid,
            [tuple(n) for n in requested_networks] if requested_networks else None,
        )
        instance.host, instance.node = node.host, node.hypervisor_hostname
        instance.scheduled_at = instance.updated_at = now
        uuid = instance.uuid
        if acting is not None and acting.name == hops.BUILD:
            instance.task_state = "spawning"  # ACTIVE once the held spawn ends
            self.timers.call_later(hops.seconds(acting), lambda: self.finish_spawn(uuid, acting))
            return
        _set_active(connection, instance, now)
        if acting is not None and acting.name == hops.ACTIVE_THEN_ERROR:
            self.timers.call_later(hops.seconds(acting), lambda: self.fail_later(uuid, acting))

    def _abort_build(
        self,
        connection: Connection,
        instance: BuildingInstance,
        node: Node,
        error: hops.BuildFailed,
        details: str,
        now: datetime.datetime,
    ) -> None:
        """The spawn failed: the claim is given back (Nova's claim aborts), the server is
        ERROR with the fault, and its create action is closed as an error."""
        _claim(connection, node, instance, -1)
        instance.vm_state, instance.task_state, instance.updated_at = "error", None, now
        _add_fault(connection, hops.fault_from_exc(instance.uuid, error, now, details))
        _finish_action(connection, instance.uuid, now, "Error")
        tracing.mark_error(tracing.current_span(), error)

    @tracing.traced("virt.fake.FakeDriver.spawn")
    def finish_spawn(self, instance_uuid: str, applied: Applied) -> None:
        """The end of a held spawn: ACTIVE, if the server is still spawning (not deleted)."""
        hops.annotate(tracing.current_span(), applied)
        with self.db.writing() as connection:
            instance = _locked(connection, instance_uuid)
            if instance is None or (instance.vm_state, instance.task_state) != SPAWNING:
                LOG.info("Instance %s is no longer spawning: nothing to finish", instance_uuid)
                return
            _set_active(connection, instance, models.utcnow())
            building.write(connection, instance)
            host = instance.host
        LOG.info("Built instance %s on %s", instance_uuid, host)

    @tracing.traced("compute.manager.ComputeManager._set_instance_error_state")
    def fail_later(self, instance_uuid: str, applied: Applied) -> None:
        """``active-then-error``: an ACTIVE server goes ERROR with the behaviour's fault."""
        hops.annotate(tracing.current_span(), applied)
        with self.db.writing() as connection:
            instance = _locked(connection, instance_uuid)
            if instance is None or instance.vm_state != "active":
                LOG.info("Instance %s is no longer ACTIVE: not failing it", instance_uuid)
                return
            now = models.utcnow()
            try:
                raise hops.build_failure(applied)
            except hops.BuildFailed as error:
                fault = hops.fault_from_exc(instance_uuid, error, now, hops.details_of(applied))
                _add_fault(connection, fault)
                tracing.mark_error(tracing.current_span(), error)
            instance.vm_state, instance.task_state, instance.updated_at = "error", None, now
            building.write(connection, instance)
        LOG.info("Instance %s went ERROR after being ACTIVE (%s)", instance_uuid, applied.id)

    @tracing.traced("scheduler.utils.set_vm_state_and_notify")
    def record_no_valid_host(
        self, connection: Connection, instance: BuildingInstance, reason: str = ""
    ) -> None:
        now = models.utcnow()
        error = exception.NoValidHost(reason=reason)
        instance.vm_state, instance.task_state, instance.updated_at = "error", None, now
        _add_fault(
            connection,
            models.InstanceFault(
                instance_uuid=instance.uuid,
                code=500,
                message=error.format_message()[:255],
                details="",
                created_at=now,
            ),
        )
        _finish_action(connection, instance.uuid, now, "Error")
        tracing.mark_error(tracing.current_span(), error)


def _driver_spawn(acting: Applied | None) -> None:
    """The fake hypervisor's spawn: nothing to do, unless ``error`` makes it fail."""
    if acting is not None and acting.name == hops.ERROR:
        raise hops.build_failure(acting)


def _set_active(connection: Connection, instance: BuildingInstance, now: datetime.datetime) -> None:
    instance.vm_state, instance.task_state = "active", None
    instance.power_state = POWER_STATE_RUNNING
    instance.launched_at = instance.updated_at = now
    _finish_action(connection, instance.uuid, now, None)


def _locked(connection: Connection, instance_uuid: str) -> BuildingInstance | None:
    return building.locked(connection, instance_uuid)


def _finish_action(
    connection: Connection, instance_uuid: str, now: datetime.datetime, message: str | None
) -> None:
    execute_core(
        connection,
        _FINISH_CREATE,
        {"action_instance": instance_uuid, "action_finish": now, "action_message": message},
    )


def _add_fault(connection: Connection, fault: models.InstanceFault) -> None:
    """Record the fault (a build's transaction is a Core connection, no ORM session)."""
    execute_core(connection, _INSERT_FAULT, {name: getattr(fault, name) for name in _FAULT_COLUMNS})
