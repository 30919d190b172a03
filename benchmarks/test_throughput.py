"""Figures without a target: creates per second on PostgreSQL and RabbitMQ, and peak memory.

Each throughput figure is 1 / the median of whole creates (WSGI POST through the cast, tracing
off, no in-process conductor) on a throwaway PostgreSQL database and/or a throwaway RabbitMQ
vhost. A service that is not reachable here is skipped with the reason; CI has both. The peak
memory is that of a fresh process making 1,000 creates (``benchmarks.memory_probe``). Full mode
only: the quick mode keeps to what the gate reads.
"""

import contextlib
import json
import os
import subprocess
import sys

import pytest

from benchmarks import support
from benchmarks.conftest import every, interleaved

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = {
    "postgresql_memory": (True, False),
    "sqlite_rabbitmq": (False, True),
    "postgresql_rabbitmq": (True, True),
}


@pytest.fixture(autouse=True)
def full_mode_only(results, request):
    if results.quick:
        callspec = getattr(request.node, "callspec", None)
        figure = "creates_per_second." + callspec.params["case"] if callspec else "peak_rss_mib"
        results.skipped["figure." + figure] = "full mode only"
        pytest.skip("full mode only")


@pytest.mark.parametrize("case", list(CASES))
def test_creates_per_second(benchmark, results, world, raw_body, tmp_path, case):
    benchmark.group = "throughput"
    postgresql, rabbitmq = CASES[case]
    with contextlib.ExitStack() as stack:
        try:
            db_url = (
                stack.enter_context(support.postgresql_database())
                if postgresql
                else "sqlite:///%s" % (tmp_path / "throughput.db")
            )
            transport_url = (
                stack.enter_context(support.rabbitmq_vhost()) if rabbitmq else "memory://"
            )
        except support.ServiceMissing as missing:
            results.skipped["figure.creates_per_second." + case] = str(missing)
            pytest.skip(str(missing))
        deployment = stack.enter_context(support.make_deployment(db_url, transport_url))
        post = support.Poster(deployment.app, world, raw_body)
        purge = every(200, lambda: support.purge_queue(deployment.transport))
        interleaved(
            benchmark, results, "throughput." + case, post, {}, rounds=300, warmup=30, between=purge
        )
        support.purge_queue(deployment.transport)


def test_peak_memory_of_1000_creates(results):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory_probe", "1000"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    results.figures["peak_rss_mib.1000_creates"] = (report["peak_rss_mib"], "MiB")
    results.figures["peak_rss_mib.before_creates"] = (report["peak_rss_before_mib"], "MiB")
