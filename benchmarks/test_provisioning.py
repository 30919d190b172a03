"""Provisioning: _provision_instances with quota reserve/commit and the action record.

The path is compute.api.API._provision_instances given the CreateRequest that a real create of
the typical body built (captured once), on an SQLite file. The floor writes the same rows with
one SQLAlchemy Core statement per table and per quota step, in one transaction, on another
SQLite file with the same engine settings (WAL, synchronous=NORMAL, BEGIN IMMEDIATE).
"""

import pytest
import sqlalchemy as sa

from benchmarks import floors, support
from benchmarks.conftest import interleaved
from refnova.db import models

# Columns whose values differ between two creates of the same request by nature.
_VOLATILE = {
    "id",
    "uuid",
    "instance_uuid",
    "created_at",
    "start_time",
    "expire",
    "usage_id",
    "display_name",
    "hostname",
    "request_id",
}
_TABLES = (
    "instances",
    "instance_metadata",
    "instance_system_metadata",
    "block_device_mapping",
    "instance_actions",
    "reservations",
)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, world):
    directory = tmp_path_factory.mktemp("provisioning")
    deployment = support.make_deployment("sqlite:///%s" % (directory / "path.db"))
    one = support.capture_create(deployment, support.typical_body(world))
    hundred = support.capture_create(deployment, support.typical_body(world, max_count=100))
    floor = floors.Provisioning(
        "sqlite:///%s" % (directory / "floor.db"), world["defaults"]["project_id"], world["quotas"]
    )
    yield deployment, one, hundred, floor
    floor.close()
    deployment.close()


def _provision_path(deployment, captured):
    request = captured[0]
    provision = deployment.compute_api._provision_instances
    return lambda: provision(request)


def _provision_floor(floor, captured, count):
    request, context, _ = captured

    def run():
        return floor(
            context,
            request.flavor,
            request.image_id,
            request.boot_meta,
            request.base_options,
            request.block_device_mapping,
            request.security_groups,
            count,
        )

    return run


def _rows(engine, uuids):
    """The rows of these instances, volatile columns left out, in a comparable form."""
    tables = models.Base.metadata.tables
    found = {}
    with engine.connect() as conn:
        for name in _TABLES:
            table = tables[name]
            column = (
                table.c.uuid
                if name == "instances"
                else (table.c.instance_uuid if "instance_uuid" in table.c else None)
            )
            query = (
                sa.select(table) if column is None else sa.select(table).where(column.in_(uuids))
            )
            found[name] = sorted(
                tuple(sorted((k, repr(v)) for k, v in row._mapping.items() if k not in _VOLATILE))
                for row in conn.execute(query)
            )
    return found


def _usages(engine):
    with engine.connect() as conn:
        return {
            row.resource: (row.in_use, row.reserved)
            for row in conn.execute(sa.select(models.QuotaUsage.__table__))
        }


@pytest.mark.parametrize("count", [1, 100])
def test_the_floor_writes_the_same_rows(setup, count):
    deployment, one, hundred, floor = setup
    captured = one if count == 1 else hundred
    path_before, floor_before = _usages(deployment.db.engine), _usages(floor.engine)
    path_uuids = [i["uuid"] for i in _provision_path(deployment, captured)()]
    floor_uuids = _provision_floor(floor, captured, count)()
    assert len(path_uuids) == len(floor_uuids) == count
    assert _rows(floor.engine, floor_uuids) == _rows(deployment.db.engine, path_uuids)
    path_after, floor_after = _usages(deployment.db.engine), _usages(floor.engine)
    assert {
        r: (path_after[r][0] - path_before[r][0], path_after[r][1] - path_before[r][1])
        for r in path_after
    } == {
        r: (floor_after[r][0] - floor_before[r][0], floor_after[r][1] - floor_before[r][1])
        for r in floor_after
    }


def test_provision_1(benchmark, results, setup):
    benchmark.group = "provisioning"
    deployment, one, _, floor = setup
    interleaved(
        benchmark,
        results,
        "provision_1",
        _provision_path(deployment, one),
        {"floor": _provision_floor(floor, one, 1)},
        rounds=results.rounds(600, 150),
        warmup=results.rounds(50, 20),
    )


def test_provision_100(benchmark, results, setup):
    benchmark.group = "provisioning"
    deployment, one, hundred, floor = setup
    interleaved(
        benchmark,
        results,
        "provision_100",
        _provision_path(deployment, hundred),
        {
            "floor": _provision_floor(floor, hundred, 100),
            "path_1": _provision_path(deployment, one),
        },
        rounds=results.rounds(80, 30),
        warmup=results.rounds(5, 3),
    )
