"""`refnova serve --workers 2` on PostgreSQL and RabbitMQ (``REFNOVA_WORKERS=2``).

The workers publish to the shared ``conductor`` queue: consumed by a ``refnova conductor``, or
by a conductor in each worker (``REFNOVA_CONDUCTOR_IN_PROCESS=true``). A create is accepted
while either worker is stopped, so both serve the port; every create goes ACTIVE; SIGTERM stops
them all.
"""

import os
import signal

import amqp.exceptions
import pytest

from tests.functional.test_serve_workers import parent_of, stop, worker_pids
from tests.support.cluster import ROOMY_WORLD, run_threads, write_world
from tests.support.http import PROJECT
from tests.support.polling import poll_until

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgresql]


def consumers_of(vhost):
    """The conductor queue's consumers (0 until a conductor has declared the queue)."""
    try:
        return vhost.passive("conductor")[1]
    except amqp.exceptions.NotFound:
        return 0


@pytest.mark.parametrize("conductor", ["external", "in_each_worker"])
def test_two_workers_on_postgresql_and_rabbitmq(cluster, vhost, pg_url, tmp_path, conductor):
    world = write_world(tmp_path / "world.json", ROOMY_WORLD)
    in_process = conductor == "in_each_worker"
    if not in_process:
        cluster.conductor(pg_url, vhost.url, world)
    api = cluster.api(pg_url, vhost.url, world, workers=2, conductor_in_process=in_process)
    pids = worker_pids(api.process)
    consumers = 2 if in_process else 1  # a worker's conductor may still be subscribing
    assert poll_until(lambda: consumers_of(vhost), lambda seen: seen == consumers) == consumers

    created = run_threads(4, lambda thread: api.create_active(PROJECT, "t%d" % thread)[0])
    for stopped in pids:
        # Only the 202 while a worker is stopped: its conductor may hold the cast (prefetched).
        # The build is awaited before the next worker stops, so that no worker is stopped
        # in the middle of a build, holding the rows it locked.
        stop(stopped)
        try:
            response = api.create(PROJECT, name="while-%d-stopped" % stopped)
        finally:
            os.kill(stopped, signal.SIGCONT)
        assert response.status_code == 202, response.text
        created.append(response.json()["server"]["id"])
        assert api.wait_for_status(PROJECT, created[-1])["status"] == "ACTIVE"
    assert len(set(created)) == 6

    assert api.process.stop() == 0
    assert [parent_of(pid) for pid in pids] == [None, None]
