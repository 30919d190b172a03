"""The settings of `refnova serve --workers N` (refnova/workers.py); the processes themselves
are tested in tests/functional/test_serve_workers.py and tests/integration/."""

import time

import pytest

from refnova import workers
from refnova.cli import _settings, build_parser
from refnova.cli_errors import CommandError
from refnova.config import Settings


def test_workers_come_from_the_option_else_refnova_workers_else_1(monkeypatch):
    parser = build_parser()
    monkeypatch.delenv("REFNOVA_WORKERS", raising=False)
    assert _settings(parser.parse_args(["serve"])).workers == 1
    monkeypatch.setenv("REFNOVA_WORKERS", "3")
    assert _settings(parser.parse_args(["serve"])).workers == 3
    assert _settings(parser.parse_args(["serve", "--workers", "2"])).workers == 2


@pytest.mark.parametrize(("raw", "expected"), [("false", False), ("0", False), ("true", True)])
def test_an_optional_flag_from_the_environment_is_a_bool(monkeypatch, raw, expected):
    # REFNOVA_CONDUCTOR_IN_PROCESS=false gives each worker no conductor (it was the text "false").
    monkeypatch.setenv("REFNOVA_CONDUCTOR_IN_PROCESS", raw)
    assert Settings.from_env().conductor_in_process is expected


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (Settings(workers=0), "--workers 0: at least 1"),
        (
            Settings(workers=2, db_url="sqlite://"),
            "--workers 2 needs a database the workers share; sqlite:// is one per process",
        ),
    ],
)
def test_workers_refuse_what_processes_cannot_share(settings, message):
    with pytest.raises(CommandError) as refused:
        workers.check_settings(settings)
    assert str(refused.value) == message


def test_one_worker_on_an_in_memory_database_is_the_plain_serve():
    workers.check_settings(Settings(workers=1, db_url="sqlite://"))


def _as_worker(balance, number, connections):
    balance.number = number
    return balance.may_accept(connections)


def test_a_worker_accepts_while_it_holds_at_most_one_connection_more_than_the_least_loaded():
    balance = workers.AcceptBalance(3)
    assert _as_worker(balance, 0, 0)  # the others have not turned their loops yet
    assert not _as_worker(balance, 1, 2)  # 2 > 0 + 1
    assert _as_worker(balance, 1, 1)
    assert _as_worker(balance, 2, 1)
    assert _as_worker(balance, 0, 2)  # 2 <= min(1, 1) + 1
    assert not _as_worker(balance, 1, 3)  # 3 > min(2, 1) + 1: worker 1 lets the others take it
    assert _as_worker(balance, 2, 2)


def test_a_worker_whose_loop_stopped_turning_holds_no_one_back():
    balance = workers.AcceptBalance(2)
    assert _as_worker(balance, 1, 0)
    assert not _as_worker(balance, 0, 5)
    stale = time.monotonic() - workers.AcceptBalance.STALE_SECONDS - 1
    workers.AcceptBalance.SLOT.pack_into(balance.memory, workers.AcceptBalance.SLOT.size, stale, 0)
    assert _as_worker(balance, 0, 5)
