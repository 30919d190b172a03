"""The cast: conductor.rpcapi.ComputeTaskAPI.build_instances, on memory:// and on RabbitMQ.

The path is the RPC client's whole cast (the Instance primitives, the context, the oslo envelope,
the pooled connection, the declarations, kombu's retry wrapper, and on RabbitMQ the publisher
confirm) with the arguments a real create of the typical body gave it. The floor publishes the
same body with the same properties through one bare kombu connection and producer.
"""

import contextlib
import json

import pytest

from benchmarks import floors, support
from benchmarks.conftest import every, interleaved
from refnova import messaging
from refnova.conductor import rpcapi


@pytest.fixture(scope="module")
def captured(tmp_path_factory, world):
    directory = tmp_path_factory.mktemp("cast")
    with support.make_deployment("sqlite:///%s" % (directory / "capture.db")) as deployment:
        _, context, kwargs = support.capture_create(deployment, support.typical_body(world))
    return context, kwargs


@contextlib.contextmanager
def _broker(results, kind):
    if kind == "memory":
        yield "memory://", False
        return
    try:
        with support.rabbitmq_vhost() as url:
            yield url, True
    except support.ServiceMissing as missing:
        results.skipped["cast_rabbitmq"] = str(missing)
        pytest.skip(str(missing))


def _get(connection, queue):
    message = queue(connection.default_channel).get(no_ack=True)
    assert message is not None, "nothing was published"
    return message


def _comparable(message):
    envelope = json.loads(message.body)
    inner = json.loads(envelope.pop("oslo.message"))
    inner.pop("_unique_id")
    return {
        "envelope": envelope,
        "inner": inner,
        "content_type": message.content_type,
        "content_encoding": message.content_encoding,
        "delivery_mode": message.properties.get("delivery_mode"),
        "headers": message.headers or {},
        "exchange": message.delivery_info.get("exchange"),
        "routing_key": message.delivery_info.get("routing_key"),
    }


@pytest.mark.parametrize("kind", ["memory", "rabbitmq"])
def test_cast(benchmark, results, captured, kind):
    benchmark.group = "cast"
    context, kwargs = captured
    with _broker(results, kind) as (url, confirm):
        transport = messaging.Transport(url)
        client = rpcapi.ComputeTaskAPI(transport)
        floor = floors.Cast(url, confirm=confirm, mandatory=confirm)
        try:
            # The floor must put the same message on the wire as the path.
            client.build_instances(context, **kwargs)
            floor(context, **kwargs)
            with transport.connection.clone() as conn:
                from_path = _comparable(_get(conn, transport.queue(rpcapi.TOPIC)))
            from_floor = _comparable(_get(floor.connection, floor.queue))
            assert from_floor == from_path

            def purge():
                support.purge_queue(transport)
                floor.purge()

            interleaved(
                benchmark,
                results,
                "cast_" + kind,
                lambda: client.build_instances(context, **kwargs),
                {"floor": lambda: floor(context, **kwargs)},
                rounds=results.rounds(3000, 800) if kind == "memory" else results.rounds(800, 200),
                warmup=results.rounds(200, 50),
                between=every(250, purge),
            )
            purge()
        finally:
            floor.close()
            transport.close()
