"""Bad options, URLs, files and ports: one line on stderr naming the problem, exit status 2."""

import socket

import pytest
import sqlalchemy.exc

from refnova import cli

UNREACHABLE_PG = "postgresql+psycopg://refnova:secret@127.0.0.1:1/refnova"


@pytest.fixture
def run(tmp_path, monkeypatch):
    """refnova's main in-process, from an empty directory: (exit status, stderr lines)."""
    monkeypatch.chdir(tmp_path)
    for name in ("REFNOVA_DB_URL", "REFNOVA_TRANSPORT_URL", "REFNOVA_DEBUG", "REFNOVA_PORT"):
        monkeypatch.delenv(name, raising=False)

    def main(*argv):
        try:
            return cli.main(list(argv))
        except SystemExit as exited:  # argparse's own refusals exit
            return exited.code

    return main


@pytest.fixture
def port_in_use():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


CASES = {
    "unknown database dialect": (["serve", "--db", "nonsense://x"], "nonsense"),
    "unknown transport": (["serve", "--transport", "nonsense://x"], "nonsense"),
    "database URL without a host": (
        ["serve", "--db", "postgresql+psycopg://postgres:pw@"],
        "names no host",
    ),
    "unreachable PostgreSQL": (["serve", "--db", UNREACHABLE_PG], "127.0.0.1"),
    "missing world file": (["serve", "--world", "/nonexistent.json"], "/nonexistent.json"),
    "unresolvable host": (["serve", "--host", "999.1.1.1"], "999.1.1.1"),
    "port out of range": (["serve", "--port", "70000"], "70000"),
    "port not a number": (["serve", "--port", "eighty"], "--port"),
    "unknown option": (["serve", "--bogus"], "--bogus"),
    "conductor without its broker": (
        ["conductor", "--transport", "amqp://guest:guest@127.0.0.1:1//"],
        "127.0.0.1:1",
    ),
    "unreachable conformance target": (
        ["conformance", "--target", "http://127.0.0.1:1", "-k", "F04"],
        "http://127.0.0.1:1",
    ),
    "conformance target not a URL": (["conformance", "--target", "not-a-url"], "not-a-url"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_start_is_one_line_naming_it_and_status_2(run, capsys, case):
    argv, named = CASES[case]
    status = run(*argv)
    err = capsys.readouterr().err
    assert status == 2, err
    assert len(err.splitlines()) == 1, err
    assert "error" in err and named in err, err
    assert "Traceback" not in err


def test_a_port_in_use_is_one_line(run, capsys, port_in_use):
    status = run("serve", "--port", str(port_in_use), "--db", "sqlite:///refnova.db")
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.splitlines() == [
        "refnova serve: error: cannot listen on 127.0.0.1:%d: address already in use" % port_in_use
    ]


def test_a_setting_of_the_wrong_type_is_one_line_naming_the_variable(run, capsys, monkeypatch):
    monkeypatch.setenv("REFNOVA_PORT", "eighty")
    assert run("serve") == 2
    assert capsys.readouterr().err == "refnova serve: error: REFNOVA_PORT=eighty: expected int\n"


def test_the_password_of_a_database_url_is_masked(run, capsys):
    assert run("serve", "--db", UNREACHABLE_PG) == 2
    assert "secret" not in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["serve", "--debug"], ["--debug", "serve"]])
def test_debug_shows_the_traceback_instead(run, argv):
    with pytest.raises(sqlalchemy.exc.OperationalError):
        run(*argv, "--db", UNREACHABLE_PG)
