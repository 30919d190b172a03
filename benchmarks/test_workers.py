"""workers_2: creates per second from ``refnova serve --workers 2`` ÷ ``--workers 1``.

Both servers run at once over one throwaway PostgreSQL database and one throwaway RabbitMQ
vhost. Eight client threads, each on a keep-alive connection of its own (opened at the start of
each window) and in its own project (so that no two wait for the same quota rows), post the
typical body (without its network and security group, which are the world's project's) for a
fixed window; a window's rate is its 202s ÷ its length. Windows alternate between the two
servers (1, 2, 2, 1, ...). The ratio is median(rate with 2 workers) ÷ median(rate with 1), on
the wall clock: throughput is what is measured. The workers spread the eight connections
between them (``refnova.workers``: a worker takes a connection only while it holds at most one
more than the other); before they did, most of the eight landed on one worker, which used 1.5 s
of CPU in a 3 s window against 0.2 to 0.5 s.

What is measured is the API tier: a create ends when the broker has confirmed the cast, as a
client's 202 does. No conductor consumes during a window (the queue is purged between
windows): in a deployment the conductors run on hosts of their own, and on this 2-core machine
one here would take the very core a second worker is measured for. The database, the broker
and the clients still share the two cores with the workers, so the ratio stays well below 2.
"""

import contextlib
import functools
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time

import pytest

from benchmarks import support

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
READY = re.compile(r"refnova API on http://127\.0\.0\.1:(\d+)/v2")
CLIENTS = 8


class Process:
    """``python -m refnova.cli ...`` with its log in a file; ``wait_for(pattern)`` reads it."""

    def __init__(self, args, log_path):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REFNOVA_", "OTEL_"))}
        env.update(REFNOVA_LOG_LEVEL="WARNING", PYTHONPATH=ROOT)
        self.log_path = log_path
        with open(log_path, "w") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "refnova.cli", *args],
                cwd=os.path.dirname(log_path),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_for(self, pattern, timeout=120.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path) as log:
                found = re.search(pattern, log.read())
            if found:
                return found
            if self.popen.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(
            "no %r from %s:\n%s" % (pattern, self.log_path, open(self.log_path).read())
        )

    def stop(self):
        self.popen.terminate()
        assert self.popen.wait(60) == 0, open(self.log_path).read()[-3000:]


def _window(port, body, seconds):
    """Eight clients posting creates to ``port`` for ``seconds``: creates per second."""
    done = [0] * CLIENTS
    errors = []
    barrier = threading.Barrier(CLIENTS + 1)

    def client(index):
        project = "bench-%d" % index
        request = (
            "POST /v2/%s/servers HTTP/1.1\r\n"
            "Host: 127.0.0.1:%d\r\n"
            "Content-Type: application/json\r\n"
            "Accept: application/json\r\n"
            "X-Auth-Token: demo:%s\r\n"
            "Content-Length: %d\r\n\r\n" % (project, port, project, len(body))
        ).encode("ascii") + body
        connection = support.KeepAliveClient(port, request)
        barrier.wait()
        end = time.perf_counter() + seconds
        try:
            while time.perf_counter() < end:
                status, answer = connection.post()
                if status != 202:
                    raise AssertionError("%s %s" % (status, answer[:300]))
                done[index] += 1
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return sum(done) / elapsed


def _purge(vhost_url):
    import kombu

    with kombu.Connection(vhost_url) as connection:
        kombu.Queue("conductor", channel=connection.channel()).purge()


class CpuPerCreate:
    """Where a window's CPU went, in µs per create (Linux's /proc; nothing elsewhere): the API
    processes (the server and its workers), the database's PostgreSQL backends open when the
    window starts (the pool keeps them: none open during one), RabbitMQ's
    beam.smp (shared with whatever else uses the broker) and the clients (this process). The
    figures ``workers_2``'s model in benchmarks/README.md is checked against."""

    TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, db_url):
        import psycopg

        self.available = os.path.isdir("/proc/self/task")
        self.database = db_url.rsplit("/", 1)[1]
        self.admin = psycopg.connect(support.POSTGRES_ADMIN_URL, autocommit=True)
        self.samples = {}  # (workers, group): [µs per create]

    def measure(self, workers, api_pid, window):
        """Run ``window()`` (creates per second, over ``seconds``) and keep its CPU per create."""
        groups = {
            "api": [api_pid, *self._children(api_pid)],
            "postgresql": [
                pid
                for (pid,) in self.admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)
                )
            ],
            "rabbitmq": self._named("beam.smp"),
        }
        before = {group: self._cpu(pids) for group, pids in groups.items()}
        clients, started = time.process_time(), time.perf_counter()
        rate = window()
        creates = rate * (time.perf_counter() - started)
        spent = {group: self._cpu(pids) - before[group] for group, pids in groups.items()}
        spent["clients"] = time.process_time() - clients
        if self.available and creates:
            for group, seconds in spent.items():
                self.samples.setdefault((workers, group), []).append(seconds / creates * 1e6)
        return rate

    def figures(self):
        return {
            "cpu_us_per_create.workers_%d.%s" % key: (statistics.median(values), "us")
            for key, values in self.samples.items()
        }

    def _cpu(self, pids):
        total = 0.0
        for pid in pids:
            try:
                with open("/proc/%d/stat" % pid) as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:  # ended, or no /proc
                continue
            total += (int(fields[11]) + int(fields[12])) / self.TICKS  # utime + stime
        return total

    @staticmethod
    def _children(pid):
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as children:
                return [int(child) for child in children.read().split()]
        except OSError:
            return []

    @staticmethod
    def _named(name):
        pids = []
        for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
            if entry.isdigit():
                try:
                    with open("/proc/%s/comm" % entry) as comm:
                        if comm.read().strip() == name:
                            pids.append(int(entry))
                except OSError:  # ended meanwhile
                    continue
        return pids


@contextlib.contextmanager
def _services(results):
    try:
        with support.postgresql_database() as db, support.rabbitmq_vhost() as mq:
            yield db, mq
    except support.ServiceMissing as missing:
        results.skipped["workers_2"] = str(missing)
        pytest.skip(str(missing))


def test_workers_2(results, world, tmp_path):
    # The typical body but for its network and security group, which are the world's
    # project's: each client creates in a project of its own.
    server = support.typical_server(world)
    del server["networks"], server["security_groups"]
    raw_body = json.dumps({"server": server}).encode("utf-8")
    world_file = tmp_path / "world.json"
    world_file.write_text(json.dumps(world))
    windows, seconds, warmup = results.rounds((4, 4.0, 1.0), (2, 2.0, 0.5))
    with _services(results) as (db, mq), contextlib.ExitStack() as stack:
        common = ["--db", db, "--transport", mq, "--world", str(world_file)]
        apis = {}
        for workers in (1, 2):  # started together, waited for together
            apis[workers] = Process(
                ["serve", "--port", "0", "--workers", str(workers), *common],
                str(tmp_path / ("serve-%d.log" % workers)),
            )
            stack.callback(apis[workers].stop)
        ports = {workers: int(api.wait_for(READY).group(1)) for workers, api in apis.items()}
        rates = {1: [], 2: []}
        for workers in (1, 2):  # warm-up: connections, caches, the first rows
            _window(ports[workers], raw_body, warmup)
        cpu = CpuPerCreate(db)
        for index in range(windows):
            for workers in (1, 2) if index % 2 == 0 else (2, 1):
                _purge(mq)
                rate = cpu.measure(
                    workers,
                    apis[workers].popen.pid,
                    functools.partial(_window, ports[workers], raw_body, seconds),
                )
                rates[workers].append(rate)
        _purge(mq)
        cpu.admin.close()
    results.figures.update(cpu.figures())
    for workers, rate in rates.items():
        # Seconds per create: the ratio is a quotient of medians, as every other ratio.
        results.samples["wall"]["workers_2.workers_%d" % workers] = [1.0 / r for r in rate]
        results.figures["creates_per_second.workers_%d.postgresql_rabbitmq" % workers] = (
            statistics.median(rate),
            "creates/s",
        )
