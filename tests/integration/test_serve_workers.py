"""`refnova serve --workers 2` on PostgreSQL and RabbitMQ (``REFNOVA_WORKERS=2``).

The workers publish to the shared ``conductor`` queue: consumed by a ``refnova conductor``, or
by a conductor in each worker (``REFNOVA_CONDUCTOR_IN_PROCESS=true``). Every create goes
ACTIVE while either worker is stopped, so both serve the port; SIGTERM stops them all.
"""

import os
import signal

import pytest

from tests.functional.test_serve_workers import parent_of, worker_pids
from tests.support.cluster import ROOMY_WORLD, run_threads, write_world
from tests.support.http import PROJECT
from tests.support.polling import poll_until

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgresql]


@pytest.mark.parametrize("conductor", ["external", "in_each_worker"])
def test_two_workers_on_postgresql_and_rabbitmq(cluster, vhost, pg_url, tmp_path, conductor):
    world = write_world(tmp_path / "world.json", ROOMY_WORLD)
    in_process = conductor == "in_each_worker"
    if not in_process:
        cluster.conductor(pg_url, vhost.url, world)
    api = cluster.api(pg_url, vhost.url, world, workers=2, conductor_in_process=in_process)
    pids = worker_pids(api.process)
    consumers = 2 if in_process else 1  # a worker's conductor may still be subscribing
    assert poll_until(lambda: vhost.passive("conductor"), lambda seen: seen[1] == consumers) == (
        0,
        consumers,
    )

    created = run_threads(4, lambda thread: api.create_active(PROJECT, "t%d" % thread))
    for stopped in pids:
        os.kill(stopped, signal.SIGSTOP)
        try:
            created += [api.create_active(PROJECT, "while-%d-stopped" % stopped)]
        finally:
            os.kill(stopped, signal.SIGCONT)
    assert len({server_id for server_id, _ in created}) == 6

    assert api.process.stop() == 0
    assert [parent_of(pid) for pid in pids] == [None, None]
