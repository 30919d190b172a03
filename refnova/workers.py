"""``refnova serve --workers N``: N API processes on one listening socket.

As nova-api's ``osapi_compute_workers``: the parent binds the socket, creates the schema and
seeds the world once, then forks N workers that each serve the socket with their own waitress
server and their own deployment (``refnova.service.Deployment``). The kernel hands each new
connection to whichever worker accepts it first, so an idle worker takes it before a busy one;
a keep-alive connection stays with the worker that accepted it. So that connections opened at
the same moment do not all land on one worker, a worker stops accepting while it holds more
than one connection more than the least loaded live worker (``AcceptBalance``).

The parent only supervises. SIGTERM or SIGINT is passed on to every worker, each finishes the
requests it holds and stops, and the parent exits 0. A worker that dies on its own is not
restarted: the parent logs which one and how it ended, stops the others and exits 1, so that
whatever supervises ``refnova serve`` sees the failure instead of a server one worker short.

Each worker runs what one ``refnova serve`` runs. On kombu's ``memory://`` transport that
includes a conductor in each worker, and a worker's casts reach only its own conductor (the
memory transport is one per process); on a real broker the workers publish to the shared
``conductor`` queue, consumed by ``refnova conductor`` processes, or by a conductor in each
worker with ``REFNOVA_CONDUCTOR_IN_PROCESS=true``.
"""

from __future__ import annotations

import logging
import mmap
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from typing import NoReturn

from refnova import cli_errors
from refnova.config import Settings

LOG = logging.getLogger("refnova")

# A worker's whole run: serve the socket, accepting only while ``may_accept(open connections)``,
# call ``ready(detail)`` once serving, return the exit status once stopped.
ServeWorker = Callable[[socket.socket, Callable[[str], None], Callable[[int], bool]], int]
STARTUP_TIMEOUT = 120.0  # seconds for every worker to be serving
STOP_TIMEOUT = 30.0  # seconds for every worker to stop after SIGTERM, then SIGKILL
POLL_INTERVAL = 0.2
STOPPED_ON_REQUEST = frozenset({0, -signal.SIGTERM, -signal.SIGINT})


class AcceptBalance:
    """Each worker's open connections, in memory the workers share (mapped before the fork).

    A worker asks ``may_accept`` each time its server's loop turns (at least once a second):
    it publishes its own count and the time, and may accept while it holds at most one
    connection more than the least loaded of the others. A worker whose loop has not turned
    for ``STALE_SECONDS`` (stopped, or stuck) is left out, so it never holds the others back.
    """

    SLOT = struct.Struct("dq")  # the loop's last turn (time.monotonic), open connections
    STALE_SECONDS = 3.0

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.memory = mmap.mmap(-1, self.SLOT.size * workers)  # anonymous and shared
        self.number = 0  # set in each worker

    def may_accept(self, connections: int) -> bool:
        now = time.monotonic()
        self.SLOT.pack_into(self.memory, self.SLOT.size * self.number, now, connections)
        others = [
            held
            for number in range(self.workers)
            if number != self.number
            for turned, held in [self.SLOT.unpack_from(self.memory, self.SLOT.size * number)]
            if now - turned < self.STALE_SECONDS
        ]
        return not others or connections <= min(others) + 1


def check_settings(settings: Settings) -> None:
    """Refuse a count of workers, or a database, that several processes cannot share."""
    if settings.workers < 1:
        raise cli_errors.CommandError("--workers %d: at least 1" % settings.workers)
    if settings.workers > 1 and settings.db_url in ("sqlite://", "sqlite:///:memory:"):
        raise cli_errors.CommandError(
            "--workers %d needs a database the workers share; %s is one per process"
            % (settings.workers, settings.db_url)
        )


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host and port and listening (port 0: one the OS chooses)."""
    family = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)[0][0]
    return socket.create_server((host, port), family=family, backlog=1024)


def prepare_database(settings: Settings) -> None:
    """The schema and the world, once, before the workers start (so they never race for it)."""
    from refnova.db import api as db_api
    from refnova.world import load_world

    db = db_api.Database(settings.db_url)
    try:
        db_api.seed_world(db, load_world(path=settings.world_file))
    finally:
        db.close()


def supervise(settings: Settings, serve_worker: ServeWorker) -> int:
    """Run ``settings.workers`` workers on one socket until a signal or a worker's death."""
    check_settings(settings)
    sock = listening_socket(settings.host, settings.port)
    try:
        prepare_database(settings)
        return Supervisor(settings, sock, serve_worker).run()
    finally:
        sock.close()


class Supervisor:
    """The parent: forks the workers, waits until each serves, watches them, stops them."""

    def __init__(self, settings: Settings, sock: socket.socket, serve_worker: ServeWorker) -> None:
        self.settings = settings
        self.sock = sock
        self.serve_worker = serve_worker
        self.children: dict[int, int] = {}  # pid -> worker number
        self.balance = AcceptBalance(settings.workers)
        self.stop = threading.Event()

    def run(self) -> int:
        previous = {
            signum: signal.signal(signum, lambda *_: self.stop.set())
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            failed = self._start() or self._watch()
        finally:
            stopped_well = self._stop_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return 1 if failed or not stopped_well else 0

    def _start(self) -> bool:
        """Fork every worker and wait until all serve; True when one failed first."""
        ready_read, ready_write = os.pipe()
        try:
            for number in range(1, self.settings.workers + 1):
                pid = os.fork()
                if pid == 0:
                    os.close(ready_read)
                    self._worker(number, ready_write)
                self.children[pid] = number
            os.close(ready_write)
            ready_write = -1
            return self._await_ready(ready_read)
        finally:
            os.close(ready_read)
            if ready_write >= 0:
                os.close(ready_write)

    def _worker(self, number: int, ready_write: int) -> NoReturn:
        """In the child: serve until stopped, then leave without running the parent's code."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)  # until the worker installs its own

        def ready(detail: str) -> None:
            LOG.warning(
                "refnova API worker %d of %d (pid %d) serving%s",
                number,
                self.settings.workers,
                os.getpid(),
                detail,
            )
            os.write(ready_write, b"+")
            os.close(ready_write)

        status = 1
        try:
            self.balance.number = number - 1
            status = self.serve_worker(self.sock, ready, self.balance.may_accept)
        except BaseException as error:
            print(
                "refnova serve: worker %d: error: %s" % (number, cli_errors.describe(error, None)),
                file=sys.stderr,
            )
            status = cli_errors.EXIT_STATUS
        finally:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)

    def _await_ready(self, ready_read: int) -> bool:
        serving = 0
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while serving < len(self.children):
            if self.stop.is_set():
                return False
            if self._reap_unexpected():
                return True
            if time.monotonic() > deadline:
                LOG.error(
                    "%d of %d workers serving after %ss",
                    serving,
                    len(self.children),
                    STARTUP_TIMEOUT,
                )
                return True
            readable, _, _ = select.select([ready_read], [], [], POLL_INTERVAL)
            if readable:
                serving += len(os.read(ready_read, 64))
        LOG.warning(
            "refnova API on http://%s:%d/v2 (db %s, transport %s, %d workers, pids %s)",
            self.settings.host,
            self.sock.getsockname()[1],
            cli_errors.safe_url(self.settings.db_url),
            cli_errors.safe_url(self.settings.transport_url),
            len(self.children),
            " ".join(str(pid) for pid in self.children),
        )
        return False

    def _watch(self) -> bool:
        """Until a signal (False) or a worker's death (True)."""
        while not self.stop.wait(POLL_INTERVAL):
            if self._reap_unexpected():
                return True
        return False

    def _reap_unexpected(self) -> bool:
        """True when a worker has ended while nothing asked it to (it is logged and forgotten)."""
        for pid, number in list(self.children.items()):
            ended, status = os.waitpid(pid, os.WNOHANG)
            if ended:
                del self.children[pid]
                LOG.error(
                    "refnova API worker %d (pid %d) ended (exit status %d); stopping the others",
                    number,
                    pid,
                    os.waitstatus_to_exitcode(status),
                )
                return True
        return False

    def _stop_all(self) -> bool:
        """SIGTERM to every worker left, SIGKILL to any still there after STOP_TIMEOUT; True
        when each stopped as asked."""
        for pid in self.children:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        well = True
        while self.children:
            for pid, number in list(self.children.items()):
                ended, status = os.waitpid(pid, os.WNOHANG)
                if ended:
                    del self.children[pid]
                    code = os.waitstatus_to_exitcode(status)
                    if code not in STOPPED_ON_REQUEST:
                        LOG.error(
                            "refnova API worker %d (pid %d) exit status %d", number, pid, code
                        )
                        well = False
                elif time.monotonic() > deadline:
                    LOG.error("refnova API worker %d (pid %d) did not stop: killed", number, pid)
                    _signal(pid, signal.SIGKILL)
                    well = False
            time.sleep(0.05)
        return well


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:  # ended meanwhile; reaped next
        pass
