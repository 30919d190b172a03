"""Fixtures of the real deployment: RabbitMQ, PostgreSQL and refnova processes.

Every RabbitMQ test gets its own vhost and every PostgreSQL test its own database, both removed
afterwards. Where a service is missing the test skips with the reason, except in CI
(``CI=true``), where a missing service is a failure (tests/support/services.py).
"""

import pytest

from tests.support import services
from tests.support.cluster import Cluster


@pytest.fixture(scope="session")
def rabbitmq():
    services.require("RabbitMQ", services.rabbitmq_problem())


@pytest.fixture(scope="session")
def _vhost_pool(rabbitmq):
    pool = services.VhostPool()
    yield pool
    pool.delete_all()


@pytest.fixture
def vhost(_vhost_pool, request):
    """A RabbitMQ vhost of the test's own (guest may do anything in it), deleted at the end."""
    expected = sum(
        1 for item in request.session.items if "vhost" in getattr(item, "fixturenames", ())
    )
    return _vhost_pool.take(expected)


@pytest.fixture(scope="session")
def postgresql():
    services.require("PostgreSQL", services.postgresql_problem())


@pytest.fixture
def pg_url(postgresql):
    """A fresh database of its own, dropped afterwards: its SQLAlchemy URL."""
    name, url = services.create_database()
    try:
        yield url
    finally:
        services.drop_database(name)


@pytest.fixture
def cluster(tmp_path):
    """refnova processes (API, conductors) over the test's database and transport."""
    with Cluster(tmp_path) as cluster:
        yield cluster
