"""refnova/conductor/timers.py: the conductor's delayed work runs off the caller's thread, in
the order it falls due, in the context it was scheduled from, and stops when told."""

import contextvars
import queue
import threading

from refnova.conductor.timers import Timers

WHO = contextvars.ContextVar("who", default="nobody")


def test_calls_run_in_the_order_they_fall_due_not_the_order_given():
    timers = Timers("test-timers")
    ran = queue.Queue()
    try:
        timers.call_later(0.3, lambda: ran.put("later"))
        timers.call_later(0.0, lambda: ran.put("at once"))
        assert [ran.get(timeout=10), ran.get(timeout=10)] == ["at once", "later"]
    finally:
        timers.stop()


def test_the_caller_is_not_held_while_a_long_call_waits():
    """A call due in an hour does not stop one due now from running (nor the caller)."""
    timers = Timers("test-timers")
    ran = threading.Event()
    try:
        timers.call_later(3600, lambda: None)
        timers.call_later(0, ran.set)
        assert ran.wait(10)
        assert timers.pending() == 1
    finally:
        assert timers.stop() == 1


def test_a_call_runs_in_the_context_it_was_scheduled_from():
    timers = Timers("test-timers")
    seen = queue.Queue()
    token = WHO.set("the consumer")
    try:
        timers.call_later(0, lambda: seen.put((WHO.get(), threading.current_thread().name)))
    finally:
        WHO.reset(token)
    try:
        assert seen.get(timeout=10) == ("the consumer", "test-timers")
    finally:
        timers.stop()


def test_a_failing_call_does_not_end_the_others(caplog):
    timers = Timers("test-timers")
    ran = threading.Event()

    def fail():
        raise RuntimeError("boom")

    try:
        timers.call_later(0, fail)
        timers.call_later(0, ran.set)
        assert ran.wait(10)
    finally:
        timers.stop()
    assert "a delayed call failed" in caplog.text


def test_stop_drops_what_is_not_due_and_refuses_what_comes_after():
    timers = Timers("test-timers")
    ran = threading.Event()
    timers.call_later(3600, ran.set)
    timers.call_later(3600, ran.set)
    assert timers.stop() == 2
    timers.call_later(0, ran.set)
    assert timers.pending() == 0
    assert not ran.is_set()
