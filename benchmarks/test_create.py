"""The whole create: a WSGI POST in-process, through the cast, on an SQLite file and memory://.

Tracing is off (no tracer provider: every span is OpenTelemetry's no-op). The deployment runs
without its in-process conductor, so each create ends when the broker has the message; the queue
is purged every 200 rounds, outside the timings. The floors are the validation, provisioning-1
and memory-cast floors, each timed once per round just before the create.
"""

import pytest

from benchmarks import floors, support
from benchmarks.conftest import every, interleaved


@pytest.fixture(scope="module")
def setup(tmp_path_factory, world, raw_body):
    directory = tmp_path_factory.mktemp("create")
    deployment = support.make_deployment("sqlite:///%s" % (directory / "path.db"))
    request, context, cast_kwargs = support.capture_create(deployment, raw_body)
    provisioning = floors.Provisioning(
        "sqlite:///%s" % (directory / "floor.db"), world["defaults"]["project_id"], world["quotas"]
    )
    cast = floors.Cast("memory://")
    yield deployment, request, context, cast_kwargs, provisioning, cast
    cast.close()
    provisioning.close()
    deployment.close()


def test_create(benchmark, results, setup, world, raw_body):
    benchmark.group = "create"
    deployment, request, context, cast_kwargs, provisioning, cast = setup
    post = support.Poster(deployment.app, world, raw_body)

    def floor_provision():
        provisioning(
            context,
            request.flavor,
            request.image_id,
            request.boot_meta,
            request.base_options,
            request.block_device_mapping,
            request.security_groups,
            1,
        )

    def purge():
        support.purge_queue(deployment.transport)
        cast.purge()

    interleaved(
        benchmark,
        results,
        "create",
        post,
        {
            "floor.validation": lambda: floors.validation(raw_body),
            "floor.provision_1": floor_provision,
            "floor.cast_memory": lambda: cast(context, **cast_kwargs),
        },
        rounds=results.rounds(600, 150),
        warmup=results.rounds(50, 20),
        between=every(200, purge),
    )
    purge()
