"""Fixtures every layer of the tests uses; the helpers behind them are in tests/support/."""

import pytest

from tests.support import tracing
from tests.support.deployment import Client, make_deployment
from tests.support.processes import Processes


@pytest.fixture
def deployment():
    """The whole deployment in this process: SQLite in memory, kombu's memory transport."""
    with make_deployment() as dep:
        yield dep


@pytest.fixture
def client(deployment):
    return Client(deployment)


@pytest.fixture
def spans():
    """A SpanRecorder attached for this test only (tests/support/tracing.py)."""
    with tracing.recording() as recorder:
        yield recorder


@pytest.fixture
def refnova_processes(tmp_path):
    """Starts refnova processes in tmp_path with a clean environment; all stop with the test."""
    with Processes(tmp_path) as processes:
        yield processes
