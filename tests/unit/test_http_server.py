"""refnova.http_server's configuration: the settings (flags and REFNOVA_HTTP_*) reach waitress."""

import json
import threading

import pytest

from refnova import cli, http_server
from refnova.config import Settings


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


@pytest.fixture
def server_of():
    made = []

    def make(settings):
        made.append(http_server.make_server(app, settings))
        return made[-1]

    yield make
    for server in made:
        http_server.stop(server, threading.Event())  # never started


def test_serve_s_flags_become_the_server_s_settings():
    args = cli.build_parser().parse_args(
        ["serve", "--threads", "3", "--connection-limit", "7", "--idle-timeout", "9"]
    )
    settings = cli._settings(args)
    assert (settings.http_threads, settings.http_connection_limit) == (3, 7)
    assert settings.http_idle_timeout == 9


def test_refnova_http_variables_become_the_server_s_settings(monkeypatch):
    monkeypatch.setenv("REFNOVA_HTTP_THREADS", "5")
    monkeypatch.setenv("REFNOVA_HTTP_MAX_URL_BYTES", "2048")
    settings = Settings.from_env()
    assert (settings.http_threads, settings.http_max_url_bytes) == (5, 2048)


def test_waitress_gets_the_pool_the_cap_the_timeouts_and_no_banner(server_of):
    settings = Settings(
        port=0, http_threads=3, http_connection_limit=7, http_idle_timeout=9, http_max_body_bytes=99
    )
    adj = server_of(settings).adj
    assert (adj.threads, adj.connection_limit, adj.channel_timeout) == (3, 7, 9)
    assert adj.max_request_body_size == 99
    assert not adj.ident  # no Server header
    assert not adj.expose_tracebacks


def test_the_server_s_connections_answer_its_errors_as_nova_faults(server_of):
    server = server_of(Settings(port=0, http_idle_timeout=4))
    assert issubclass(server.channel_class, http_server.JsonErrorChannel)
    assert server.channel_class.header_timeout == 4
    assert json.loads(http_server.fault_bytes(431, "too large")) == {
        "computeFault": {"message": "too large", "code": 431}
    }
    assert json.loads(http_server.fault_bytes(501, "gzip")) == {
        "notImplemented": {"message": "gzip", "code": 501}
    }


def test_a_url_over_the_limit_is_a_414_fault_and_the_app_is_not_called():
    called = []

    def inner(environ, start_response):
        called.append(environ["PATH_INFO"])
        return app(environ, start_response)

    limited = http_server.UrlLengthLimit(inner, 16)
    answers = []
    body = limited({"REQUEST_URI": "/" + "a" * 16}, lambda status, headers: answers.append(status))
    assert answers == ["414 URI Too Long"] and not called
    assert json.loads(b"".join(body))["computeFault"]["code"] == 414
    limited({"REQUEST_URI": "/short", "PATH_INFO": "/short"}, lambda *_: None)
    assert called == ["/short"]


def test_stop_lets_a_request_in_hand_finish_before_the_sockets_close(caplog):
    """A request still in the app when stop() begins is answered, and its worker's wake-up of
    the loop finds the server's trigger open: no 'Bad file descriptor' in the log."""
    import http.client
    import time

    entered, release = threading.Event(), threading.Event()

    def slow(environ, start_response):
        entered.set()
        release.wait(30)
        return app(environ, start_response)

    server = http_server.make_server(slow, Settings(host="127.0.0.1", port=0))
    stopping = http_server.start(server)
    connection = http.client.HTTPConnection("127.0.0.1", http_server.bound_port(server), timeout=30)
    answers = []
    client = threading.Thread(
        target=lambda: (connection.request("GET", "/"), answers.append(connection.getresponse()))
    )
    client.start()
    assert entered.wait(30)
    stopper = threading.Thread(target=http_server.stop, args=(server, stopping))
    stopper.start()
    deadline = time.monotonic() + 30
    while server.accepting and time.monotonic() < deadline:  # stop() has begun
        time.sleep(0.01)
    release.set()
    stopper.join(30)
    client.join(30)
    assert answers and answers[0].status == 200
    assert not [r for r in caplog.records if r.name == "waitress" and r.levelname == "ERROR"]
