"""The in-process broker's doorbell: a server on memory:// takes a cast the moment it is put on
the queue, not at its next poll.

The servers here wait an hour between looks at their queues (``poll_timeout``): a server that
polled would leave the cast untouched past every deadline below, so each test fails, rather
than passes slowly, if the wake-up is missing. No test measures how long anything took.
"""

import threading

import pytest

from refnova.messaging import RPCServer, Target, Transport
from refnova.messaging.transport import Doorbell

from .support import DEADLINE, Context, Endpoint

INSTANCES = [{"uuid": "0d8e2b8f-0000-4000-8000-000000000001"}]
AN_HOUR = 3600.0


def cast(broker):
    broker.client().prepare(version="1.5").cast(Context(), "build_instances", instances=INSTANCES)


def test_a_ring_before_the_wait_is_not_missed():
    bell = Doorbell()
    seen = bell.rings
    bell.ring()  # a put between a consumer's look at its queues and its wait
    assert bell.wait(seen, DEADLINE) is True
    assert bell.waits == 1


def test_a_wait_with_no_ring_ends_at_its_timeout():
    bell = Doorbell()
    assert bell.wait(bell.rings, 0.0) is False
    assert bell.waits == 0


def test_every_put_on_the_in_process_broker_rings(broker):
    bell = broker.transport.doorbell
    before = bell.rings
    cast(broker)
    broker.publish_raw({"not": "an envelope"})
    assert bell.rings == before + 2


def test_a_waiting_server_takes_a_cast_when_the_bell_rings_not_at_its_next_poll(broker):
    endpoint = Endpoint(broker)
    with broker.serving(endpoint, poll_timeout=AN_HOUR) as server:
        # The server has looked at its empty queue and waits: only the bell can wake it.
        assert server.wait_until_idle(DEADLINE)
        woken = broker.transport.doorbell.waits
        cast(broker)
        broker.wait_for(lambda: endpoint.calls, "the endpoint to be called")
        assert broker.transport.doorbell.waits > woken
    assert broker.journal == ["built", "ack"]


def test_stop_wakes_a_waiting_server(broker):
    with broker.serving(Endpoint(broker), poll_timeout=AN_HOUR) as server:
        assert server.wait_until_idle(DEADLINE)
    # serving() stopped it with a join bounded by DEADLINE: the thread ended, it did not
    # sit out its hour.
    assert not server._thread.is_alive()


def test_wait_until_idle_returns_once_every_cast_is_served(broker):
    endpoint = Endpoint(broker)
    gate = threading.Event()
    built = endpoint.build_instances

    def slow_build(context, instances, legacy_bdm=True):
        gate.wait(DEADLINE)
        built(context, instances, legacy_bdm)

    endpoint.build_instances = slow_build
    with broker.serving(endpoint, poll_timeout=AN_HOUR) as server:
        for _ in range(3):
            cast(broker)
        assert server.wait_until_idle(0.0) is False  # three casts in flight
        gate.set()
        assert server.wait_until_idle(DEADLINE)
        assert len(endpoint.calls) == 3
    assert broker.journal == ["built", "ack"] * 3


def test_a_failed_message_sent_again_is_in_flight_until_it_is_dead_lettered(broker):
    endpoint = Endpoint(broker, failures=[RuntimeError("boom")] * 3)
    with broker.serving(endpoint, poll_timeout=AN_HOUR) as server:
        cast(broker)
        assert server.wait_until_idle(DEADLINE)
        assert len(endpoint.calls) == 3
    (dead,) = broker.dead_letters()
    assert "failed 3 times" in dead.headers["x-refnova-dead-letter-reason"]


def test_only_the_in_process_broker_can_say_nothing_is_in_flight():
    transport = Transport("rabbit://guest:guest@127.0.0.1:1//")
    try:
        assert transport.doorbell is None
        server = RPCServer(transport, Target(topic="conductor"), [], dict)
        with pytest.raises(NotImplementedError):
            server.wait_until_idle(0.0)
    finally:
        transport.close()
