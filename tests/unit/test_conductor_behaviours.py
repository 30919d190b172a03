"""The behaviours that act at the conductor's hops (refnova/conductor/behaviours.py), in one
process: each one's effect on the server, its fault and its host's claim, and its mark on the
span of the hop where it acted."""

import re

import pytest
from sqlalchemy import func, select

from refnova.behaviours import Applied
from refnova.db import models
from tests.support.deployment import Client, make_deployment
from tests.support.polling import poll_until
from tests.support.tracing import PROCESS_SPAN, PUBLISH_SPAN

RUN_INSTANCE = "compute.manager.ComputeManager.run_instance"
SCHEDULE = "scheduler.filter_scheduler.FilterScheduler._schedule"
RPCAPI = "conductor.rpcapi.ComputeTaskAPI.build_instances"
MANAGER = "conductor.manager.ComputeTaskManager.build_instances"
HELD_SPAWN = "virt.fake.FakeDriver.spawn"
LATER_ERROR = "compute.manager.ComputeManager._set_instance_error_state"


def _on(name, kind, **parameters):
    return {"id": name, "name": kind, "parameters": parameters, "criteria": {"server_name": name}}


BEHAVIOURS = [
    _on("^err$", "error"),
    _on("^err-400$", "error", code=400, message="Boom: the hypervisor said no"),
    _on("^nvh$", "no-valid-host"),
    _on("^nvh-reason$", "no-valid-host", reason="There are not enough hosts available."),
    _on("^held$", "build", seconds=3600),
    _on("^brief$", "build", seconds=0.2),
    _on("^fails-later$", "active-then-error", seconds=0.2, message="Host lost"),
    _on("^fails-in-an-hour$", "active-then-error", seconds=3600),
    _on("^lost$", "lost-cast"),
    _on("^twice$", "duplicate-cast"),
]


@pytest.fixture
def deployment():
    with make_deployment({"behaviours": BEHAVIOURS}) as dep:
        yield dep


@pytest.fixture
def client(deployment):
    return Client(deployment)


def create(client, name):
    response = client.create({"name": name})
    assert response.status_code == 202, response.text
    return response.json["server"]["id"]


def show(client, server_id):
    return client.show(server_id).json["server"]


def delete(client, server_id):
    return client.request("DELETE", "/v2/%s/servers/%s" % (client.project_id, server_id)).status_int


def wait_until(client, server_id, predicate):
    return poll_until(lambda: show(client, server_id), predicate, timeout=30)


def row(deployment, model, **filters):
    with deployment.db.transaction() as session:
        found = session.scalars(select(model).filter_by(**filters)).all()
        for item in found:
            session.expunge(item)
        return found


def claimed(deployment):
    with deployment.db.transaction() as session:
        return tuple(
            session.execute(
                select(
                    func.sum(models.ComputeNode.memory_mb_used),
                    func.sum(models.ComputeNode.local_gb_used),
                )
            ).one()
        )


def create_action(deployment, server_id):
    (action,) = row(deployment, models.InstanceAction, instance_uuid=server_id, action="create")
    return action


def marked(records, name, behaviour_id, kind):
    """The one span of that name, checked to carry the behaviour's event and attribute."""
    (span,) = [record for record in records if record.name == name]
    events = [event for event in span.events if event["name"] == "refnova.behaviour"]
    assert [event["attributes"] for event in events] == [
        {"refnova.behaviour.id": behaviour_id, "refnova.behaviour.name": kind}
    ]
    assert span.attributes["nova.behaviour"] == kind
    return span


def trace_marked_at(records, name):
    """The records of the one trace whose span ``name`` carries a behaviour."""
    (trace_id,) = {
        record.trace_id
        for record in records
        if record.name == name and "nova.behaviour" in record.attributes
    }
    return [record for record in records if record.trace_id == trace_id]


def unmarked(records):
    return [record.name for record in records if "nova.behaviour" in record.attributes]


def test_error_makes_the_server_error_with_nova_s_fault_and_gives_the_claim_back(
    client, deployment, spans
):
    server_id = create(client, "err")
    server = client.wait_for_status(server_id, timeout=30)
    assert server["status"] == "ERROR"
    assert server["fault"]["code"] == 500
    assert server["fault"]["message"] == "Instance failed to spawn"
    assert "details" not in server["fault"]  # shown to admins only
    (fault,) = row(deployment, models.InstanceFault, instance_uuid=server_id)
    # Nova's details for a 500: the traceback of the spawn that failed (its frames by function:
    # the source lines a traceback shows are read from the file when it is formatted).
    assert re.search(r"in run_instance\n(.|\n)*in _driver_spawn\n", fault.details)
    (instance,) = row(deployment, models.Instance, uuid=server_id)
    assert (instance.vm_state, instance.task_state, instance.host) == ("error", None, None)
    assert instance.network_info == []
    assert claimed(deployment) == (0, 0)
    assert create_action(deployment, server_id).message == "Error"
    records = spans.trace_of(RUN_INSTANCE)
    span = marked(records, RUN_INSTANCE, "^err$", "error")
    assert span.status == "ERROR"
    assert unmarked(records) == [RUN_INSTANCE]


def test_error_with_its_own_code_and_message_records_them_and_no_traceback(client, deployment):
    server_id = create(client, "err-400")
    server = client.wait_for_status(server_id, timeout=30)
    assert server["status"] == "ERROR"
    assert (server["fault"]["code"], server["fault"]["message"]) == (
        400,
        "Boom: the hypervisor said no",
    )
    (fault,) = row(deployment, models.InstanceFault, instance_uuid=server_id)
    assert fault.details == ""  # Nova keeps a traceback for 500s only


@pytest.mark.parametrize(
    "name,message",
    [
        ("nvh", "No valid host was found. "),
        ("nvh-reason", "No valid host was found. There are not enough hosts available."),
    ],
)
def test_no_valid_host_is_the_scheduler_s_fault(client, deployment, spans, name, message):
    server_id = create(client, name)
    server = client.wait_for_status(server_id, timeout=30)
    assert server["status"] == "ERROR"
    assert (server["fault"]["code"], server["fault"]["message"]) == (500, message)
    assert claimed(deployment) == (0, 0)
    assert create_action(deployment, server_id).message == "Error"
    records = spans.trace_of(SCHEDULE)
    marked(records, SCHEDULE, "^%s$" % name, "no-valid-host")
    assert RUN_INSTANCE not in [record.name for record in records]


def test_build_holds_the_server_spawning_without_holding_the_conductor(client, deployment):
    held = create(client, "held")
    server = wait_until(client, held, lambda s: s["OS-EXT-STS:task_state"] == "spawning")
    assert server["status"] == "BUILD"
    # The conductor goes on building other servers while the first one spawns.
    other = create(client, "other")
    assert client.wait_for_status(other, timeout=30)["status"] == "ACTIVE"
    server = show(client, held)
    assert (server["status"], server["OS-EXT-STS:task_state"]) == ("BUILD", "spawning")
    (instance,) = row(deployment, models.Instance, uuid=held)
    assert instance.host and instance.network_info  # placed, its ports made, not yet running
    assert instance.launched_at is None and create_action(deployment, held).finish_time is None
    assert claimed(deployment) == (1024, 2)
    assert deployment.conductor_manager.timers.pending() == 1


def test_build_ends_active_on_the_host_it_claimed_once(client, deployment, spans):
    server_id = create(client, "brief")
    server = client.wait_for_status(server_id, timeout=30)
    assert (server["status"], server["OS-EXT-STS:task_state"]) == ("ACTIVE", None)
    assert server["OS-EXT-STS:power_state"] == 1 and server["OS-SRV-USG:launched_at"]
    assert claimed(deployment) == (512, 1)
    action = create_action(deployment, server_id)
    assert action.finish_time is not None and action.message is None
    spans.wait_for(lambda found: HELD_SPAWN in [s.name for s in found])
    records = spans.trace_of(HELD_SPAWN)
    marked(records, RUN_INSTANCE, "^brief$", "build")
    held = marked(records, HELD_SPAWN, "^brief$", "build")
    (run,) = [record for record in records if record.name == RUN_INSTANCE]
    assert held.parent_id == run.span_id  # the spawn's end, in the create's trace


def test_a_held_spawn_that_ends_after_the_delete_changes_nothing(client, deployment):
    server_id = create(client, "held")
    wait_until(client, server_id, lambda s: s["OS-EXT-STS:task_state"] == "spawning")
    assert delete(client, server_id) == 204
    assert claimed(deployment) == (0, 0)
    held = Applied("^held$", "build", {"seconds": 3600})
    deployment.conductor_manager.compute.finish_spawn(server_id, held)  # as the timer would
    (instance,) = row(deployment, models.Instance, uuid=server_id)
    assert instance.vm_state == "deleted" and claimed(deployment) == (0, 0)


def test_active_then_error_is_active_first_and_error_with_the_fault_later(
    client, deployment, spans
):
    server_id = create(client, "fails-later")
    server = wait_until(client, server_id, lambda s: s["status"] == "ERROR")
    assert server["status"] == "ERROR"
    assert (server["fault"]["code"], server["fault"]["message"]) == (500, "Host lost")
    (instance,) = row(deployment, models.Instance, uuid=server_id)
    # It was built and ran: the create succeeded, the failure came after.
    assert instance.launched_at is not None and instance.host and instance.power_state == 1
    assert create_action(deployment, server_id).message is None
    assert claimed(deployment) == (512, 1)  # still on its host
    spans.wait_for(lambda found: LATER_ERROR in [s.name for s in found])
    records = spans.trace_of(LATER_ERROR)
    marked(records, RUN_INSTANCE, "^fails-later$", "active-then-error")
    later = marked(records, LATER_ERROR, "^fails-later$", "active-then-error")
    assert later.status == "ERROR"


def test_active_then_error_leaves_a_deleted_server_alone(client, deployment):
    server_id = create(client, "fails-in-an-hour")
    assert client.wait_for_status(server_id, timeout=30)["status"] == "ACTIVE"
    assert delete(client, server_id) == 204
    pending = Applied("^fails-in-an-hour$", "active-then-error", {"seconds": 3600})
    deployment.conductor_manager.compute.fail_later(server_id, pending)  # as the timer would
    assert row(deployment, models.InstanceFault, instance_uuid=server_id) == []
    assert row(deployment, models.Instance, uuid=server_id)[0].vm_state == "deleted"


def test_a_lost_cast_never_reaches_the_conductor(client, deployment, spans):
    lost = create(client, "lost")
    # The conductor consumes in order: a later create built means the lost one was never sent.
    later = create(client, "later")
    assert client.wait_for_status(later, timeout=30)["status"] == "ACTIVE"
    server = show(client, lost)
    assert (server["status"], server["OS-EXT-STS:task_state"]) == ("BUILD", "scheduling")
    records = trace_marked_at(spans.records(), RPCAPI)
    names = [record.name for record in records]
    assert PUBLISH_SPAN not in names and PROCESS_SPAN not in names and MANAGER not in names
    marked(records, RPCAPI, "^lost$", "lost-cast")


def test_a_duplicated_cast_is_consumed_twice_and_built_once(client, deployment, spans):
    server_id = create(client, "twice")
    assert client.wait_for_status(server_id, timeout=30)["status"] == "ACTIVE"
    spans.wait_for(lambda found: [s.name for s in found].count(MANAGER) == 2)
    records = spans.trace_of(RPCAPI)
    names = [record.name for record in records]
    assert names.count(PUBLISH_SPAN) == names.count(PROCESS_SPAN) == names.count(MANAGER) == 2
    assert names.count(RUN_INSTANCE) == 1
    marked(records, RPCAPI, "^twice$", "duplicate-cast")
    assert claimed(deployment) == (512, 1)
    assert len(row(deployment, models.InstanceAction, instance_uuid=server_id)) == 1


def test_a_conductor_that_starts_takes_over_what_a_stopped_one_dropped(tmp_path):
    db_url = "sqlite:///%s" % (tmp_path / "shared.db")
    world = {
        "behaviours": [
            _on("^handed-over$", "build", seconds=3),
            _on("^fails-after-restart$", "active-then-error", seconds=3),
        ]
    }
    with make_deployment(world, db_url=db_url) as first:
        client = Client(first)
        held = create(client, "handed-over")
        doomed = create(client, "fails-after-restart")
        wait_until(client, held, lambda s: s["OS-EXT-STS:task_state"] == "spawning")
        assert client.wait_for_status(doomed, timeout=30)["status"] == "ACTIVE"
    # The first conductor stopped before their time: its timers were dropped.
    with make_deployment(world, db_url=db_url) as second:
        client = Client(second)
        assert client.wait_for_status(held, timeout=30)["status"] == "ACTIVE"
        server = wait_until(client, doomed, lambda s: s["status"] == "ERROR")
        assert server["status"] == "ERROR"
        assert server["fault"]["message"] == "Instance failed to spawn"
        assert claimed(second) == (1024, 2)  # each claimed once, by the first conductor
