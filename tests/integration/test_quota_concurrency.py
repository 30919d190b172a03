"""Concurrent creates by one project never exceed its quota: two API processes, one database.

The usage rows are created on a project's first create and locked FOR UPDATE (PostgreSQL) or
written under BEGIN IMMEDIATE (SQLite); the reservation, the rows and the commit share one
transaction. Each burst starts on a fresh project, so the racing first use is part of it.
"""

import collections

import pytest
import requests
import sqlalchemy

from tests.support.cluster import run_threads, write_world

QUOTA = 5
REQUESTS = 20
OVER_QUOTA = "Quota exceeded for instances: Requested 1, but already used 5 of 5 instances"


def burst(apis, projects):
    """REQUESTS creates per project, all at once, spread over the API processes."""
    jobs = [(apis[n % len(apis)], project) for project in projects for n in range(REQUESTS)]

    def create(index):
        api, project = jobs[index]
        with requests.Session() as session:
            response = api.create(project, session)
        return project, response.status_code, response.json()

    return run_threads(len(jobs), create)


def check(db_url, results, projects):
    engine = sqlalchemy.create_engine(db_url)
    try:
        with engine.connect() as conn:
            for project in projects:
                statuses = collections.Counter(status for p, status, _ in results if p == project)
                assert statuses == {202: QUOTA, 413: REQUESTS - QUOTA}, (project, statuses)
                assert all(
                    body == {"overLimit": {"message": OVER_QUOTA, "code": 413, "retryAfter": "0"}}
                    for p, status, body in results
                    if p == project and status == 413
                )
                created = {
                    body["server"]["id"]
                    for p, status, body in results
                    if p == project and status == 202
                }
                rows = conn.execute(
                    sqlalchemy.text("SELECT uuid FROM instances WHERE project_id = :p"),
                    {"p": project},
                ).scalars()
                assert set(rows) == created
                usage = dict(
                    conn.execute(
                        sqlalchemy.text(
                            "SELECT resource, in_use FROM quota_usages WHERE project_id = :p"
                        ),
                        {"p": project},
                    ).all()
                )
                assert usage == {"instances": QUOTA, "cores": QUOTA, "ram": QUOTA * 512}
                reserved = conn.execute(
                    sqlalchemy.text("SELECT sum(reserved) FROM quota_usages WHERE project_id = :p"),
                    {"p": project},
                ).scalar()
                assert reserved == 0
            assert conn.execute(sqlalchemy.text("SELECT count(*) FROM reservations")).scalar() == 0
    finally:
        engine.dispose()


@pytest.fixture
def quota_world(tmp_path):
    return write_world(
        tmp_path / "world.json", {"quotas": {"instances": QUOTA}, "rate_limits": {"POST": -1}}
    )


def _run(cluster, db_url, world):
    # memory:// transport: each API builds in its own in-process conductor.
    apis = [cluster.api(db_url, "memory://", world, name="api-%d" % n) for n in (1, 2)]
    projects = ["project-a", "project-b"]
    check(db_url, burst(apis, projects), projects)


@pytest.mark.postgresql
def test_concurrent_creates_never_exceed_the_quota_on_postgresql(cluster, pg_url, quota_world):
    _run(cluster, pg_url, quota_world)


def test_concurrent_creates_never_exceed_the_quota_on_sqlite(cluster, tmp_path, quota_world):
    _run(cluster, "sqlite:///%s" % (tmp_path / "refnova.db"), quota_world)
