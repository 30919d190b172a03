"""The real deployment: an API process and `refnova conductor` processes on RabbitMQ and PostgreSQL.

Every cast the broker accepted is built, exactly once: with many conductors, when a conductor is
killed holding unacknowledged messages, when the cast was published before any conductor ever
ran, when a conductor is stopped mid-build, and when a message arrives twice.
"""

import collections
import json
import signal

import pytest
import requests
import sqlalchemy

from refnova import messaging
from tests.support.cluster import ROOMY_WORLD, run_threads, write_world
from tests.support.polling import poll_until
from tests.support.services import pg_admin

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgresql]


def db_rows(url, sql, **params):
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text(sql), params).all()
    finally:
        engine.dispose()


def wait_for_active(url, count, timeout=60.0):
    """Poll the database until ``count`` instances are active; the final counts by state."""
    return poll_until(
        lambda: dict(db_rows(url, "SELECT vm_state, count(*) FROM instances GROUP BY vm_state")),
        lambda states: states.get("active", 0) >= count,
        timeout,
        interval=0.1,
    )


def assert_each_built_exactly_once(url, server_ids, conductors):
    """Every server ACTIVE on a host, each claimed once, each logged as built by one conductor."""
    rows = db_rows(url, "SELECT uuid, vm_state, host FROM instances")
    assert {uuid for uuid, _, _ in rows} == set(server_ids)
    assert all(state == "active" and host for _, state, host in rows), rows
    # A second build would claim the host's resources a second time.
    used = db_rows(url, "SELECT sum(memory_mb_used), sum(local_gb_used) FROM compute_nodes")[0]
    assert tuple(used) == (512 * len(server_ids), 1 * len(server_ids))
    actions = db_rows(
        url,
        "SELECT count(*) FROM instance_actions WHERE action = 'create' "
        "AND finish_time IS NOT NULL AND message IS NULL",
    )[0][0]
    assert actions == len(server_ids)
    builds = collections.Counter()
    for conductor in conductors:
        builds.update(conductor.built())
    assert set(builds) <= set(server_ids)
    assert max(builds.values(), default=1) == 1, [uuid for uuid, n in builds.items() if n > 1]
    return builds


@pytest.fixture
def roomy_world(tmp_path):
    return write_world(tmp_path / "world.json", ROOMY_WORLD)


def test_200_creates_from_8_threads_on_two_conductors_each_built_once(
    cluster, vhost, pg_url, roomy_world
):
    api = cluster.api(pg_url, vhost.url, roomy_world)
    conductors = [
        cluster.conductor(pg_url, vhost.url, roomy_world, name="conductor-%d" % n) for n in (1, 2)
    ]
    assert vhost.passive("conductor") == (0, 2)

    def creates(thread):
        project = "project-%d" % thread
        with requests.Session() as session:
            return [
                (project, api.create(project, session, name="t%d-%d" % (thread, n)))
                for n in range(25)
            ]

    responses = [item for batch in run_threads(8, creates) for item in batch]
    assert len(responses) == 200
    assert [r.status_code for _, r in responses] == [202] * 200, [
        r.text for _, r in responses if r.status_code != 202
    ][:3]
    servers = [(project, r.json()["server"]["id"]) for project, r in responses]
    ids = [server_id for _, server_id in servers]
    assert len(set(ids)) == 200

    states = wait_for_active(pg_url, 200)
    assert states == {"active": 200}, states
    with requests.Session() as session:
        statuses = collections.Counter(
            api.show(project, server_id, session).json()["server"]["status"]
            for project, server_id in servers
        )
    assert statuses == {"ACTIVE": 200}

    builds = assert_each_built_exactly_once(pg_url, ids, conductors)
    assert set(builds) == set(ids)
    # Both conductors took a share of the queue.
    assert all(conductor.built() for conductor in conductors), [len(c.built()) for c in conductors]
    queues = vhost.queues()
    assert queues["conductor"]["ready"] == queues["conductor"]["unacked"] == 0
    assert queues["conductor.dead"]["ready"] == 0


def test_a_killed_conductor_s_unacknowledged_messages_are_built_once_by_another(
    cluster, vhost, pg_url, roomy_world
):
    api = cluster.api(pg_url, vhost.url, roomy_world)
    # A slow hypervisor and a prefetch of 4: the first conductor holds messages it has not acked.
    first = cluster.conductor(
        pg_url, vhost.url, roomy_world, name="conductor-1", spawn_seconds=0.5, conductor_prefetch=4
    )
    ids = [api.create("p").json()["server"]["id"] for _ in range(16)]

    first.wait_for_line("Built instance", timeout=30)
    first.kill()
    built_by_first = {
        uuid for (uuid,) in db_rows(pg_url, "SELECT uuid FROM instances WHERE vm_state = 'active'")
    }
    assert 0 < len(built_by_first) < 16
    assert set(first.built()) <= built_by_first
    # Everything not built is back in the queue (and one built but not yet acked, if the kill
    # fell between the commit and the ack): no consumer left, so nothing is unacknowledged.
    # Until the broker has seen the connection go.
    ready, consumers = poll_until(
        lambda: vhost.passive("conductor"), lambda passive: not passive[1], 10, interval=0.05
    )
    assert consumers == 0
    assert ready - (16 - len(built_by_first)) in (0, 1), (ready, len(built_by_first))

    second = cluster.conductor(pg_url, vhost.url, roomy_world, name="conductor-2")
    assert wait_for_active(pg_url, 16) == {"active": 16}
    second.wait_for_line("Built instance", count=16 - len(built_by_first))
    assert_each_built_exactly_once(pg_url, ids, [first, second])
    # The second conductor built exactly what the first had not, and the messages the first
    # held unacknowledged (prefetched, or in the middle of a build) came to it as redeliveries.
    assert set(second.built()) == set(ids) - built_by_first
    assert second.output().count("is a redelivery") >= 1


def test_a_cast_published_before_any_conductor_ever_ran_is_built_when_one_starts(
    cluster, vhost, pg_url
):
    api = cluster.api(pg_url, vhost.url)
    assert not vhost.queue_exists("conductor")  # nothing has declared it yet
    response = api.create("p")
    assert response.status_code == 202
    server_id = response.json()["server"]["id"]
    # The producer declared the queue and its binding, so the broker kept the cast.
    assert vhost.ready_count("conductor") == 1
    assert api.show("p", server_id).json()["server"]["status"] == "BUILD"

    conductor = cluster.conductor(pg_url, vhost.url)
    assert api.wait_for_status("p", server_id)["status"] == "ACTIVE"
    assert conductor.built() == {server_id: 1}


def test_sigterm_finishes_the_message_in_hand_and_leaves_the_rest_to_the_broker(
    cluster, vhost, pg_url, roomy_world
):
    api = cluster.api(pg_url, vhost.url, roomy_world)
    ids = [api.create("p").json()["server"]["id"] for _ in range(3)]
    conductor = cluster.conductor(
        pg_url, vhost.url, roomy_world, spawn_seconds=1.5, conductor_prefetch=4
    )
    conductor.wait_for_line("Spawning instance %s" % ids[0])  # the first build is under way
    conductor.signal(signal.SIGTERM)
    assert conductor.popen.wait(20) == 0
    # It finished the build in hand, and started no other.
    assert conductor.built() == {ids[0]: 1}
    assert conductor.output().count("Spawning instance") == 1
    assert (
        db_rows(pg_url, "SELECT vm_state FROM instances WHERE uuid = :u", u=ids[0])[0][0]
        == "active"
    )
    assert vhost.passive("conductor") == (2, 0)  # no consumer, the first acked, two back

    successor = cluster.conductor(pg_url, vhost.url, roomy_world)
    assert wait_for_active(pg_url, 3) == {"active": 3}
    successor.wait_for_line("Built instance", count=2)
    assert ids[0] not in successor.output()
    assert_each_built_exactly_once(pg_url, ids, [conductor, successor])


def test_a_message_delivered_twice_builds_once(cluster, vhost, pg_url):
    api = cluster.api(pg_url, vhost.url)
    server_id = api.create("p").json()["server"]["id"]
    ((headers, body, properties),) = vhost.drain("conductor")
    with vhost.connection() as conn:  # the same cast twice, as a publisher retry would send it
        producer = conn.Producer()
        for _ in range(2):
            producer.publish(
                body,
                exchange="nova",
                routing_key="conductor",
                headers=headers,
                content_type=properties["content_type"],
                content_encoding=properties["content_encoding"],
            )
    conductor = cluster.conductor(pg_url, vhost.url)
    assert api.wait_for_status("p", server_id)["status"] == "ACTIVE"
    conductor.wait_for_line("Instance %s is active: not building it again" % server_id)
    assert conductor.built() == {server_id: 1}
    assert "Instance %s is active: not building it again" % server_id in conductor.output()
    assert_each_built_exactly_once(pg_url, [server_id], [conductor])


def test_poison_messages_go_to_the_dead_letter_queue_and_never_block_it(cluster, vhost, pg_url):
    api = cluster.api(pg_url, vhost.url)
    conductor = cluster.conductor(pg_url, vhost.url)

    def envelope(**inner):
        return json.dumps(
            {
                "oslo.version": "2.0",
                "oslo.message": json.dumps(
                    {
                        "namespace": "compute_task",
                        "version": "1.5",
                        "_unique_id": "0" * 32,
                        "_context_user_id": "demo",
                        "_context_project_id": "p",
                        **inner,
                    }
                ),
            }
        )

    poison = {
        "not-json": ("not json at all", "application/json"),
        "binary": ("\x00\x01", "application/x-unknown"),
        "envelope-2.1": (
            json.dumps({"oslo.version": "2.1", "oslo.message": "{}"}),
            "application/json",
        ),
        "version-9.0": (
            envelope(method="build_instances", version="9.0", args={}),
            "application/json",
        ),
        "no-such-method": (envelope(method="reboot_instance", args={}), "application/json"),
        "private-method": (envelope(method="_schedule", args={}), "application/json"),
        "missing-args": (
            envelope(method="build_instances", args={"instances": []}),
            "application/json",
        ),
        "endpoint-fails": (
            envelope(
                method="build_instances",
                args={
                    "instances": [{"nova_object.data": {}}],
                    "image": {},
                    "filter_properties": {},
                    "admin_password": "",
                    "injected_files": [],
                    "requested_networks": None,
                    "security_groups": [],
                },
            ),
            "application/json",
        ),
    }
    with vhost.connection() as conn:
        producer = conn.Producer()
        for name, (body, content_type) in poison.items():
            producer.publish(
                body,
                exchange="nova",
                routing_key="conductor",
                content_type=content_type,
                content_encoding="utf-8",
                headers={"x-test-case": name},
            )
    server_id = api.create("p").json()["server"]["id"]
    assert api.wait_for_status("p", server_id)["status"] == "ACTIVE"

    poll_until(
        lambda: vhost.ready_count("conductor.dead"), lambda n: n >= len(poison), 20, interval=0.1
    )
    dead = {
        headers["x-test-case"]: (headers, body)
        for headers, body, _ in vhost.drain("conductor.dead")
    }
    assert set(dead) == set(poison)
    reasons = {name: headers["x-refnova-dead-letter-reason"] for name, (headers, _) in dead.items()}
    assert reasons["not-json"].startswith("cannot decode the message")
    assert (
        reasons["binary"].startswith("cannot decode the message")
        and "x-unknown" in reasons["binary"]
    )
    assert "unsupported envelope version 2.1" in reasons["envelope-2.1"]
    assert reasons["version-9.0"] == (
        "Endpoint does not support RPC version 9.0. Attempted method: build_instances"
    )
    assert reasons["no-such-method"] == "Endpoint does not support RPC method reboot_instance"
    assert reasons["private-method"] == "Endpoint does not support RPC method _schedule"
    assert reasons["missing-args"].startswith("Invalid arguments for RPC method build_instances")
    assert reasons["endpoint-fails"].startswith("failed 3 times, last with KeyError")
    assert all(
        headers["x-refnova-original-routing-key"] == "conductor" for headers, _ in dead.values()
    )
    assert dead["not-json"][1] == b"not json at all"  # the message itself, unchanged
    assert conductor.output().count("Rejecting message") == len(poison)
    queue = vhost.queues()["conductor"]
    assert (queue["ready"], queue["unacked"]) == (0, 0)


def test_publisher_and_consumer_survive_a_lost_connection_and_a_deleted_queue(
    cluster, vhost, pg_url
):
    api = cluster.api(pg_url, vhost.url)
    conductor = cluster.conductor(pg_url, vhost.url)
    first = api.create("p").json()["server"]["id"]
    assert api.wait_for_status("p", first)["status"] == "ACTIVE"

    # The broker drops every connection: the API's pooled one and the conductor's.
    vhost.close_connections()
    response = api.create("p")
    assert response.status_code == 202, response.text
    second = response.json()["server"]["id"]
    assert api.wait_for_status("p", second)["status"] == "ACTIVE"
    conductor.wait_for_line("Consuming nova:conductor", count=2)

    # Someone deletes the queue: the API's connection still believes it declared it; the
    # broker returns the mandatory cast, the API declares again and publishes again.
    with vhost.connection() as conn:
        conn.default_channel.queue_delete("conductor")
    response = api.create("p")
    assert response.status_code == 202, response.text
    third = response.json()["server"]["id"]
    assert api.wait_for_status("p", third)["status"] == "ACTIVE"
    assert set(conductor.built()) == {first, second, third}


def test_a_database_outage_delays_a_build_and_loses_nothing(cluster, vhost, pg_url):
    api = cluster.api(pg_url, vhost.url)
    server_id = api.create("p").json()["server"]["id"]
    ((headers, body, properties),) = vhost.drain("conductor")
    conductor = cluster.conductor(pg_url, vhost.url)
    database = pg_url.rsplit("/", 1)[1]
    with pg_admin() as conn:  # nobody may connect, and whoever is connected is thrown out
        conn.execute('ALTER DATABASE "%s" ALLOW_CONNECTIONS false' % database)
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,)
        )
    try:
        with vhost.connection() as conn:
            conn.Producer().publish(
                body,
                exchange="nova",
                routing_key="conductor",
                headers=headers,
                content_type=properties["content_type"],
                content_encoding=properties["content_encoding"],
            )
        # More failures than a failing build is allowed: an outage is not the message's fault.
        conductor.wait_for_line("transient failure", count=messaging.MAX_DISPATCH_ATTEMPTS + 1)
    finally:
        with pg_admin() as conn:
            conn.execute('ALTER DATABASE "%s" ALLOW_CONNECTIONS true' % database)
    assert api.wait_for_status("p", server_id)["status"] == "ACTIVE"
    assert conductor.built() == {server_id: 1}
    assert "Rejecting message" not in conductor.output()
    assert vhost.passive("conductor.dead") == (0, 0)
