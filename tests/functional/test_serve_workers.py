"""`refnova serve --workers N` on the embedded defaults: N processes on one port.

That both workers serve is shown without anything new on the wire: with one worker stopped
(SIGSTOP) the other takes every new connection, and the other way round. On ``memory://``
each worker's creates are built by its own in-process conductor, on the shared SQLite file.
"""

import http.client
import os
import re
import signal
import time

import pytest

from tests.support.http import PROJECT, ServedApi
from tests.support.processes import run

WORKER_PIDS = re.compile(r"(\d+) workers, pids ([\d ]+)\)")


def worker_pids(process):
    """The workers' pids, as the parent logged them once all served; each the parent's child."""
    match = WORKER_PIDS.search(process.output())
    pids = [int(pid) for pid in match.group(2).split()]
    assert len(pids) == int(match.group(1))
    for pid in pids:
        assert parent_of(pid) == process.pid
    return pids


def parent_of(pid):
    """The parent pid of a live process (/proc/<pid>/stat), or None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    return None if fields[0] == "Z" else int(fields[1])


def stop(pid):
    """SIGSTOP, returned once every thread of the process is stopped: kill() returns before
    that, and a worker still running for a moment could take the next connection."""
    os.kill(pid, signal.SIGSTOP)
    threads = "/proc/%d/task" % pid
    while not all(thread_state(pid, thread) in "Tt" for thread in os.listdir(threads)):
        time.sleep(0.001)


def thread_state(pid, thread):
    with open("/proc/%d/task/%s/stat" % (pid, thread), encoding="ascii") as handle:
        return handle.read().rsplit(")", 1)[1].split()[0]


def create_active(api, count, name):
    """``count`` creates, each on a new connection, each seen ACTIVE."""
    for index in range(count):
        api.create_active(PROJECT, name="%s-%d" % (name, index))


@pytest.fixture
def two_workers(refnova_processes):
    process = refnova_processes.serve("--workers", "2")
    return process, ServedApi(process.url, process)


def test_each_of_two_workers_serves_the_port_alone_while_the_other_is_stopped(two_workers):
    process, api = two_workers
    first, second = worker_pids(process)
    for stopped in (first, second):
        stop(stopped)
        try:
            create_active(api, 3, "while-%d-stopped" % stopped)
        finally:
            os.kill(stopped, signal.SIGCONT)
    listed = api.show(PROJECT, "detail").json()["servers"]
    assert sorted(server["status"] for server in listed) == ["ACTIVE"] * 6


def test_a_stopped_worker_does_not_hold_back_the_connections_the_other_keeps_alive(two_workers):
    # Worker 2 is stopped holding no connection: worker 1 takes a third one only while it holds
    # at most one more than worker 2, unless worker 2's loop has stopped turning, as here.
    process, _ = two_workers
    _, second = worker_pids(process)
    stop(second)
    connections = []
    try:
        for _ in range(3):
            connection = http.client.HTTPConnection("127.0.0.1", int(process.url.rsplit(":")[-1]))
            connection.timeout = 30
            connections.append(connection)
            connection.request("GET", "/")
            assert connection.getresponse().read()
    finally:
        os.kill(second, signal.SIGCONT)
        for connection in connections:
            connection.close()


def test_sigterm_stops_every_worker_and_the_parent_exits_0(two_workers):
    process, api = two_workers
    pids = worker_pids(process)
    create_active(api, 2, "before-stop")
    assert process.stop() == 0
    assert [parent_of(pid) for pid in pids] == [None, None]


def test_a_worker_that_dies_is_not_restarted_the_others_stop_and_the_parent_exits_1(two_workers):
    process, _ = two_workers
    dead, other = worker_pids(process)
    os.kill(dead, signal.SIGKILL)
    assert process.popen.wait(60) == 1
    assert parent_of(other) is None
    assert "worker 1 (pid %d) ended (exit status -9); stopping the others" % dead in (
        process.output()
    )


def test_workers_refuse_a_database_each_process_would_have_alone(tmp_path):
    done = run("serve", "--workers", "2", "--db", "sqlite://", "--port", "0", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "refnova serve: error: --workers 2 needs a database the workers share; "
        "sqlite:// is one per process"
    ]
