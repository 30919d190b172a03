"""The ``refnova`` command: serve | conductor | conformance | trace."""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import NoReturn

from refnova import cli_errors
from refnova.config import Settings

LOG = logging.getLogger("refnova")


def _safe_url(url: str) -> str:
    """A database or broker URL fit for a log line: the password masked."""
    from kombu.utils.url import maybe_sanitize_url

    return maybe_sanitize_url(url)


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        db_url=args.db,
        transport_url=args.transport,
        world_file=args.world,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        glance_url=getattr(args, "glance_url", None),
        neutron_url=getattr(args, "neutron_url", None),
        auth_strategy=getattr(args, "auth", None),
        keystone_url=getattr(args, "keystone_url", None),
        public_url=getattr(args, "public_url", None),
        max_microversion=getattr(args, "max_microversion", None),
        tracing=getattr(args, "tracing", None),
        trace_file=getattr(args, "trace_file", None),
        traces_dir=getattr(args, "traces_dir", None),
        http_threads=getattr(args, "threads", None),
        http_connection_limit=getattr(args, "connection_limit", None),
        http_idle_timeout=getattr(args, "idle_timeout", None),
        workers=getattr(args, "workers", None),
    )


def _trap_stop_signals() -> threading.Event:
    """An event SIGTERM and SIGINT set from now on."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def _wait_for_signal() -> None:
    _trap_stop_signals().wait()


def serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    cli_errors.preflight(settings, serving=True)
    from refnova.api import validation

    validation.warm()  # before the workers fork: they inherit it
    if settings.workers != 1:  # nova-api's osapi_compute_workers
        from refnova import workers

        return workers.supervise(settings, functools.partial(_serve_process, settings))
    return _serve_process(settings)


def _serve_process(
    settings: Settings,
    sock: socket.socket | None = None,
    ready: Callable[[str], None] | None = None,
    may_accept: Callable[[int], bool] | None = None,
) -> int:
    """One API process until SIGTERM or SIGINT: alone, or a worker on ``sock`` that says it
    serves through ``ready`` and accepts connections while ``may_accept`` lets it."""
    from refnova import http_server, tracing
    from refnova.service import Deployment

    tracing.configure(settings, tracing.SERVICE_API)
    deployment = Deployment(settings)
    try:
        server = http_server.make_server(deployment.app, settings, sock, may_accept)
    except BaseException:
        deployment.close()
        raise
    stop = _trap_stop_signals()
    stopping = http_server.start(server)
    in_process = ", conductor in-process" if deployment.conductor else ""
    if ready is not None:
        ready(in_process)
    else:
        LOG.warning(
            "refnova API on http://%s:%d/v2 (db %s, transport %s%s)",
            settings.host,
            http_server.bound_port(server),
            _safe_url(settings.db_url),
            _safe_url(settings.transport_url),
            in_process,
        )
    try:
        stop.wait()
    finally:
        http_server.stop(server, stopping)
        deployment.close()
        tracing.shutdown()
    return 0


def conductor(args: argparse.Namespace) -> int:
    from refnova import tracing
    from refnova.service import ConductorService

    settings = _settings(args)
    cli_errors.preflight(settings, serving=False)
    tracing.configure(settings, tracing.SERVICE_CONDUCTOR)
    service = ConductorService(settings)
    LOG.warning("refnova conductor consuming %s", _safe_url(service.transport.url))
    try:
        _wait_for_signal()
    finally:
        service.close()
        tracing.shutdown()
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="SQLAlchemy URL (default: an SQLite file refnova.db)")
    parser.add_argument("--transport", help="kombu or oslo transport URL (default memory://)")
    parser.add_argument("--world", help="world JSON file (default: fixtures/world.json)")
    parser.add_argument("--glance-url", help="a real Glance endpoint (default: the world's images)")
    parser.add_argument(
        "--neutron-url", help="a real Neutron endpoint (default: the world's networks)"
    )
    parser.add_argument(
        "--tracing",
        help="trace exporters: otlp,console,file,none (default: from "
        "OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_ENDPOINT)",
    )
    parser.add_argument("--trace-file", help="the 'file' exporter's OTLP JSON lines file")
    parser.add_argument("--traces-dir", help="write each finished trace as DIR/<trace id>.json")


class _OneLineErrorParser(argparse.ArgumentParser):
    """A bad option is one line on stderr and exit status 2 (not the usage as well)."""

    def error(self, message: str) -> NoReturn:
        self.exit(
            cli_errors.EXIT_STATUS,
            "%s: error: %s (see %s --help)\n" % (self.prog, message, self.prog),
        )


def build_parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = _OneLineErrorParser(prog="refnova", description=__doc__)
    parser.add_argument(
        "--debug",
        action="store_true",
        default=os.environ.get("REFNOVA_DEBUG", "") not in ("", "0"),
        help="on an error, the traceback instead of one line",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run the API (and, on memory://, a conductor)")
    serve_parser.add_argument("--host", default=None)
    serve_parser.add_argument("--port", type=int, default=None)
    serve_parser.add_argument(
        "--auth",
        choices=("noauth2", "keystone"),
        default=None,
        help="noauth2 (default): X-Auth-Token user:project; keystone: "
        "tokens validated by --keystone-url",
    )
    serve_parser.add_argument("--keystone-url", help="Keystone (v3) that validates tokens")
    serve_parser.add_argument(
        "--public-url",
        help="the URL clients reach refnova at, for the service catalog (default: each request's)",
    )
    serve_parser.add_argument(
        "--max-microversion",
        help="the highest /v2.1 microversion announced and served (default 2.1; up to 2.104)",
    )
    _http_options(serve_parser)
    _common(serve_parser)
    serve_parser.set_defaults(handler=serve)
    conductor_parser = commands.add_parser("conductor", help="run a conductor alone")
    _common(conductor_parser)
    conductor_parser.set_defaults(handler=conductor)
    from refnova.tracing.cli import add_trace_commands

    add_trace_commands(commands)
    from refnova.conformance.cli import add_conformance_command

    add_conformance_command(commands)
    for command in commands.choices.values():  # refnova serve --debug, as refnova --debug serve
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)
    return parser


def _http_options(parser: argparse.ArgumentParser) -> None:
    http = parser.add_argument_group("the HTTP server (refnova.http_server)")
    http.add_argument("--threads", type=int, help="worker threads (default 8)")
    http.add_argument("--connection-limit", type=int, help="open connections at most (default 100)")
    http.add_argument(
        "--idle-timeout", type=int, help="seconds before an idle connection is closed (default 60)"
    )
    http.add_argument(
        "--workers",
        type=int,
        help="API processes sharing the port, as nova-api's osapi_compute_workers (default 1)",
    )


@contextlib.contextmanager
def _collector_paused(freeze: bool) -> Iterator[None]:
    """The commands' imports (SQLAlchemy, the models, the API) make many objects and no
    garbage: the cyclic collector, run every 700 allocations, would traverse them again and
    again, and once more in each full collection after. Paused while they are made; in a
    command's own process (``freeze``) what they made is then kept out of every later
    collection (``gc.freeze``). About 0.1 s of CPU of a ``refnova conformance`` run."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()


def main(argv: Sequence[str] | None = None) -> int:
    level = os.environ.get("REFNOVA_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with _collector_paused(freeze=argv is None):  # argv None: the command line's process
        parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "auth", None) == "keystone" and not (
        args.keystone_url or os.environ.get("REFNOVA_KEYSTONE_URL")
    ):
        parser.error("--auth keystone needs --keystone-url (or REFNOVA_KEYSTONE_URL)")
    try:
        if args.command == "conformance":
            cli_errors.check_target(args.target)
        return int(args.handler(args))
    except Exception as error:
        if args.debug:
            raise
        message = cli_errors.describe(error, _settings_or_none(args), getattr(args, "target", None))
        print("refnova %s: error: %s" % (args.command, message), file=sys.stderr)
        return cli_errors.EXIT_STATUS


def _settings_or_none(args: argparse.Namespace) -> Settings | None:
    """The settings a serve or conductor command ran with, for its error message."""
    if args.command not in ("serve", "conductor"):
        return None
    try:
        return _settings(args)
    except Exception:  # the settings themselves were the problem (REFNOVA_PORT=abc)
        return None


if __name__ == "__main__":
    sys.exit(main())
