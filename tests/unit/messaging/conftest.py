"""The ``broker`` fixture: a private memory:// broker that journals the acks and requeues of
its messages, closed after the test."""

import pytest

from .support import Broker


@pytest.fixture
def broker(monkeypatch):
    made = Broker()
    made.watch_settlements(monkeypatch)
    yield made
    made.close()
