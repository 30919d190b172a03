"""The instance a build reads and writes with Core statements (refnova/conductor/building.py):
it reads what the build needs, and writes exactly what the build set."""

import datetime

import pytest
from sqlalchemy import select

from refnova.behaviours import Applied
from refnova.conductor import building
from refnova.db import behaviours as db_behaviours
from refnova.db import models
from tests.support.deployment import Client, make_deployment


@pytest.fixture(scope="module")
def deployment():
    deployment = make_deployment(conductor_in_process=False)
    yield deployment
    deployment.close()


def instance_row(deployment, server_id):
    with deployment.db.transaction() as session:
        return session.scalars(
            select(models.Instance).where(models.Instance.uuid == server_id)
        ).one()


def test_what_the_build_sets_is_written_and_nothing_else(deployment):
    server_id = Client(deployment).create().json["server"]["id"]
    before = instance_row(deployment, server_id)
    now = datetime.datetime(2026, 1, 2, 3, 4, 5)
    with deployment.db.transaction() as session:
        instance = building.locked(session, server_id)
        assert (instance.uuid, instance.vm_state, instance.task_state) == (
            server_id,
            "building",
            "scheduling",
        )
        assert instance.memory_mb == before.memory_mb and instance.host is None
        instance.vm_state, instance.task_state, instance.launched_at = "active", None, now
        instance.network_info = [{"id": "port-1"}]
        assert set(instance.changes) == {"vm_state", "task_state", "launched_at", "network_info"}
        building.write(session, instance)
    after = instance_row(deployment, server_id)
    assert (after.vm_state, after.task_state, after.launched_at) == ("active", None, now)
    assert after.network_info == [{"id": "port-1"}]
    assert (after.host, after.power_state, after.display_name) == (
        before.host,
        before.power_state,
        before.display_name,
    )


def test_an_unknown_instance_is_none(deployment):
    with deployment.db.transaction() as session:
        assert building.locked(session, "00000000-0000-0000-0000-000000000000") is None


def test_the_behaviour_chosen_for_the_instance_comes_with_it(deployment):
    plain = Client(deployment).create().json["server"]["id"]
    chosen = Client(deployment).create().json["server"]["id"]
    with deployment.db.transaction() as session:
        db_behaviours.store_for_instances(session, [chosen], "b-1", "error", {"code": 503})
    with deployment.db.transaction() as session:
        assert building.locked(session, plain).behaviour is None
        instance = building.locked(session, chosen)
        assert instance.behaviour == Applied("b-1", "error", {"code": 503})
        assert instance.changes == {}  # what came with it is not written back
