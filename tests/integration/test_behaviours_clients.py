"""Behaviours seen by a real client: openstacksdk against `refnova serve` processes.

Each test runs twice: against one `refnova serve` (SQLite, the in-memory broker, its conductor
in-process), and against two API processes and two `refnova conductor` processes sharing
RabbitMQ and PostgreSQL, where a behaviour reaches every process through the database and a
delayed transition is finished by the conductor that took the message. The behaviours come from
the world file, each applying to the server names of one test.
"""

import re

import openstack
import pytest
import requests

from refnova.tracing import files as tracefiles
from tests.support import services
from tests.support.clouds import demo_connection
from tests.support.cluster import ROOMY_WORLD, Cluster, write_world
from tests.support.http import PROJECT, ServedApi
from tests.support.polling import poll_until
from tests.support.processes import Processes
from tests.support.tracing import PROCESS_SPAN, PUBLISH_SPAN

RUN_INSTANCE = "compute.manager.ComputeManager.run_instance"
RPCAPI = "conductor.rpcapi.ComputeTaskAPI.build_instances"
IMAGE, FLAVOR, NETWORK = "cirros-0.3.1-x86_64", "m1.tiny", "private"
SPAWN_FAILED = "Instance failed to spawn"
NO_HOST = "No valid host was found. There are not enough hosts available."


def _on(prefix, kind, **parameters):
    return {
        "id": prefix,
        "name": kind,
        "parameters": parameters,
        "criteria": {"server_name": "^%s-" % prefix},
    }


BEHAVIOURS = [
    _on("error", "error"),
    _on("nvh", "no-valid-host", reason="There are not enough hosts available."),
    _on("build", "build", seconds=1),
    _on("held", "build", seconds=3600),
    # Long enough for the client's first polls (every 5 s) to see it ACTIVE first.
    _on("later", "active-then-error", seconds=15, message="Host went away"),
    _on("seq", "sequence", behaviours=[{"name": "fail"}, {"name": "fail"}, {"name": "default"}]),
    _on("fneg", "false-negative"),
    _on("lost", "lost-cast"),
    _on("twice", "duplicate-cast"),
]
CLUSTER_MARKS = [pytest.mark.rabbitmq, pytest.mark.postgresql]


class Cloud:
    """The API processes (a client per API, the demo user through the built-in Keystone),
    the conductors, and the directory every process writes its traces to."""

    def __init__(self, apis, conductors, traces_dir):
        self.apis = apis
        self.conductors = conductors
        self.traces_dir = traces_dir
        self.conns = [demo_connection(api.base) for api in apis]

    def conn(self, index):
        """The client of API ``index`` (modulo the APIs there are)."""
        return self.conns[index % len(self.conns)]

    def logs(self):
        return "\n".join(process.output() for process in self.all_processes())

    def logging(self, pattern):
        """The names of the processes, once for each of their lines matching ``pattern``."""
        return [
            process.name
            for process in self.all_processes()
            for line in process.output().splitlines()
            if re.search(pattern, line)
        ]

    def all_processes(self):
        return [api.process for api in self.apis] + list(self.conductors)


@pytest.fixture(
    scope="module",
    params=["one-process", pytest.param("two-apis-two-conductors", marks=CLUSTER_MARKS)],
)
def cloud(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("behaviours")
    world = write_world(workdir / "world.json", {**ROOMY_WORLD, "behaviours": BEHAVIOURS})
    traces_dir = workdir / "traces"
    if request.param == "one-process":
        with Processes(workdir, log_level="INFO", traces_dir=traces_dir) as processes:
            api = processes.serve("--world", world)
            yield Cloud([ServedApi(api.url, api)], [], traces_dir)
        return
    services.require("RabbitMQ", services.rabbitmq_problem())
    services.require("PostgreSQL", services.postgresql_problem())
    vhost = request.getfixturevalue("_vhost_pool").take(1)
    database, pg_url = services.create_database()
    try:
        with Cluster(workdir) as cluster:
            settings = {"traces_dir": traces_dir}
            apis = [
                cluster.api(pg_url, vhost.url, world, name="api-%d" % n, **settings) for n in (1, 2)
            ]
            conductors = [
                cluster.conductor(pg_url, vhost.url, world, name="conductor-%d" % n, **settings)
                for n in (1, 2)
            ]
            yield Cloud(apis, conductors, traces_dir)
    finally:
        services.drop_database(database)


def create_server(conn, name, **options):
    return conn.create_server(
        name, image=IMAGE, flavor=FLAVOR, network=NETWORK, wait=True, timeout=120, **options
    )


def fault_of(conn, server_id):
    return conn.compute.get_server(server_id).fault


def test_error_makes_create_server_raise_with_the_fault(cloud):
    with pytest.raises(openstack.exceptions.SDKException) as raised:
        create_server(cloud.conn(0), "error-1")
    assert "Compute service reports fault: %s" % SPAWN_FAILED in str(raised.value)
    server = cloud.conn(1).compute.find_server("error-1", ignore_missing=False)
    assert server.status == "ERROR"
    assert (server.fault["code"], server.fault["message"]) == (500, SPAWN_FAILED)


def test_no_valid_host_makes_create_server_raise_with_nova_s_fault(cloud):
    with pytest.raises(openstack.exceptions.SDKException) as raised:
        create_server(cloud.conn(1), "nvh-1")
    assert "Compute service reports fault: %s" % NO_HOST in str(raised.value)
    server = cloud.conn(0).compute.find_server("nvh-1", ignore_missing=False)
    assert (server.status, server.fault["code"]) == ("ERROR", 500)


def test_create_server_waits_through_a_held_build(cloud):
    server = create_server(cloud.conn(0), "build-1")
    assert server.status == "ACTIVE" and server.task_state is None
    assert server.launched_at and server.addresses[NETWORK]
    # Built once, when its spawn ended, by the conductor that took the message and began it.
    (began,) = cloud.logging("Instance %s on \\S+ is building/spawning" % server.id)
    assert cloud.logging("Built instance %s on" % server.id) == [began]


def test_a_held_build_does_not_hold_other_builds(cloud):
    conn = cloud.conn(0)
    held = conn.compute.create_server(
        name="held-1",
        image_id=conn.image.find_image(IMAGE).id,
        flavor_id="1",
        networks=[{"uuid": conn.network.find_network(NETWORK).id}],
    )
    held = poll_until(
        lambda: conn.compute.get_server(held.id),
        lambda server: server.task_state == "spawning",
        timeout=60,
        interval=0.2,
    )
    assert (held.status, held.task_state) == ("BUILD", "spawning")
    other = create_server(cloud.conn(1), "other-1")
    assert other.status == "ACTIVE"
    held = conn.compute.get_server(held.id)
    assert (held.status, held.task_state) == ("BUILD", "spawning")
    conn.compute.delete_server(held)
    conn.compute.wait_for_delete(held, wait=60, interval=0.2)


def test_active_then_error_is_active_for_create_server_then_error(cloud):
    server = create_server(cloud.conn(1), "later-1")
    assert server.status == "ACTIVE"
    server = cloud.conn(0).compute.wait_for_server(
        server, status="ERROR", failures=[], interval=0.5, wait=120
    )
    assert server.status == "ERROR"
    assert (server.fault["code"], server.fault["message"]) == (500, "Host went away")


def test_a_sequence_of_fail_fail_default_gives_two_errors_then_a_server(cloud):
    for attempt in (1, 2):
        with pytest.raises(openstack.exceptions.HttpException) as raised:
            create_server(cloud.conn(attempt), "seq-%d" % attempt)
        assert raised.value.status_code == 500
    # The third step is taken on whichever API answers: the step is the database's.
    server = create_server(cloud.conn(3), "seq-3")
    assert server.status == "ACTIVE"
    names = {s.name for s in cloud.conn(0).compute.servers(name="^seq-")}
    assert names == {"seq-3"}


def test_false_negative_answers_500_and_leaves_an_active_server_behind(cloud):
    with pytest.raises(openstack.exceptions.HttpException) as raised:
        create_server(cloud.conn(0), "fneg-1")
    assert raised.value.status_code == 500
    conn = cloud.conn(1)
    server = conn.compute.find_server("fneg-1", ignore_missing=False)
    server = conn.compute.wait_for_server(server, status="ACTIVE", interval=0.2, wait=60)
    assert server.status == "ACTIVE"


# --- the cast: lost and duplicated, in the trace ---------------------------------------------


def create_traced(cloud, name):
    """A create over /v2: the server's id and the trace id of its request."""
    response = cloud.apis[0].create(name=name)
    assert response.status_code == 202, response.text
    trace_id = response.headers["traceresponse"].split("-")[1]
    return response.json()["server"]["id"], trace_id


def trace(cloud, trace_id, complete):
    """The records of a trace, as every process wrote them, once ``complete(names)`` holds."""
    path = tracefiles.trace_file_path(cloud.traces_dir, trace_id)

    def records():
        return tracefiles.load_spans(path) if path.exists() else []

    found = poll_until(records, lambda spans: complete([s.name for s in spans]), 30, 0.1)
    assert complete([s.name for s in found]), sorted(s.name for s in found)
    return found


def marked(records, name, kind):
    (span,) = [record for record in records if record.name == name]
    assert span.attributes["nova.behaviour"] == kind
    (event,) = [event for event in span.events if event["name"] == "refnova.behaviour"]
    assert event["attributes"]["refnova.behaviour.name"] == kind


def test_a_lost_cast_leaves_the_server_building_and_no_consumer_in_its_trace(cloud):
    lost, trace_id = create_traced(cloud, "lost-1")
    # Casts after it are built: had the lost one been published, it would be built too.
    for n in range(2 * len(cloud.apis)):
        assert create_server(cloud.conn(n), "after-lost-%d" % n).status == "ACTIVE"
    server = cloud.apis[0].show(PROJECT, lost).json()["server"]
    assert (server["status"], server["OS-EXT-STS:task_state"]) == ("BUILD", "scheduling")
    assert re.findall("[Ii]nstance %s" % lost, cloud.logs()) == []  # no conductor saw it
    records = trace(cloud, trace_id, lambda names: RPCAPI in names)
    names = [record.name for record in records]
    assert PUBLISH_SPAN not in names and PROCESS_SPAN not in names
    marked(records, RPCAPI, "lost-cast")


def test_a_duplicated_cast_is_consumed_twice_and_built_once(cloud):
    server_id, trace_id = create_traced(cloud, "twice-1")
    server = cloud.apis[0].wait_for_status(PROJECT, server_id)
    assert server["status"] == "ACTIVE"
    records = trace(cloud, trace_id, lambda names: names.count(PROCESS_SPAN) == 2)
    names = [record.name for record in records]
    assert names.count(PUBLISH_SPAN) == 2 and names.count(RUN_INSTANCE) == 1
    marked(records, RPCAPI, "duplicate-cast")
    logs = cloud.logs()
    assert len(re.findall("Built instance %s on" % server_id, logs)) == 1
    assert len(re.findall("Instance %s is active: not building it again" % server_id, logs)) == 1
    assert server["addresses"][NETWORK]


# --- registered at run time ------------------------------------------------------------------


def control(api, method, path="", **kwargs):
    """The control API of one API process, as the admin."""
    return requests.request(
        method,
        api.base + "/refnova/v1/behaviours" + path,
        headers={"X-Auth-Token": "admin:%s" % PROJECT},
        timeout=30,
        **kwargs,
    )


def test_a_behaviour_registered_on_one_api_acts_everywhere_until_it_is_deleted(cloud):
    registered = control(
        cloud.apis[0],
        "POST",
        json={
            "name": "error",
            "parameters": {"message": "Registered at run time"},
            "criteria": {"server_name": "^runtime-"},
        },
    )
    assert registered.status_code == 201, registered.text
    behaviour_id = registered.json()["behaviour"]["id"]
    # Created through the other API, built by whichever conductor takes it.
    with pytest.raises(openstack.exceptions.SDKException) as raised:
        create_server(cloud.conn(1), "runtime-1")
    assert "Compute service reports fault: Registered at run time" in str(raised.value)
    assert control(cloud.apis[-1], "DELETE", "/" + behaviour_id).status_code == 204
    assert create_server(cloud.conn(0), "runtime-2").status == "ACTIVE"


# --- a conductor that dies with a held build -------------------------------------------------


@pytest.mark.rabbitmq
@pytest.mark.postgresql
def test_a_held_build_whose_conductor_is_killed_is_finished_by_the_next_to_start(
    cluster, vhost, pg_url, tmp_path
):
    world = write_world(
        tmp_path / "world.json",
        {**ROOMY_WORLD, "behaviours": [_on("handover", "build", seconds=10)]},
    )
    api = cluster.api(pg_url, vhost.url, world)
    first = cluster.conductor(pg_url, vhost.url, world, name="conductor-1")
    response = api.create(name="handover-1")
    assert response.status_code == 202, response.text
    server_id = response.json()["server"]["id"]
    first.wait_for_line("Instance %s on \\S+ is building/spawning" % server_id)
    first.kill()  # its timer dies with it; the message was acknowledged when the hold began
    second = cluster.conductor(pg_url, vhost.url, world, name="conductor-2")
    assert api.wait_for_status(PROJECT, server_id, timeout=60)["status"] == "ACTIVE"
    second.wait_for_line("Took over 1 delayed transition")
    second.wait_for_line("Built instance %s on" % server_id)
    assert "Built instance" not in first.output()
