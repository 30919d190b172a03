"""refnova in child processes: ``python -m refnova.cli ...``, run to its end (``run``) or
running (``RefnovaProcess``) with its output read line by line.

``Processes`` starts them in one working directory and stops every one it started; the
``refnova_processes`` fixture (tests/conftest.py) gives a test its own. ``serve`` asks for
``--port 0`` and reads the port from the line the API logs once its socket listens, so no
port is ever raced for.
"""

import collections
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings

# Logged (at WARNING, so at every log level) once the API's socket listens.
READY = re.compile(r"refnova API on (http://127\.0\.0\.1:(\d+))/v2")
BUILT = re.compile(r"Built instance ([0-9a-f-]{36}) on (\S+)")
CONDUCTOR_CONSUMING = "Consuming nova:conductor"  # logged at INFO by the RPC server


def free_port():
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_environment(**extra):
    """os.environ without OTEL_*, REFNOVA_* and OS_* settings, plus ``extra`` (as strings)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "REFNOVA_", "OS_"))
    }
    env.update({key: str(value) for key, value in extra.items()})
    return env


def run(*args, cwd=None, env=None, timeout=600):
    """``python -m refnova.cli ...`` run to its end in a clean environment: CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "refnova.cli", *args],
        cwd=None if cwd is None else str(cwd),
        env=clean_environment() if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class RefnovaProcess:
    """One ``python -m refnova.cli ...``; its stdout and stderr collected as lines."""

    def __init__(self, args, env=None, cwd=None, name=None):
        self.args = list(args)
        self.name = name or self.args[0]
        self.url = None  # the API's base URL, once wait_until_serving has read it
        self.lines = []
        self._changed = threading.Condition()
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "refnova.cli", *self.args],
            env=clean_environment() if env is None else env,
            cwd=None if cwd is None else str(cwd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self):
        return self.popen.pid

    def _read(self):
        for line in self.popen.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def output(self):
        with self._changed:
            return "\n".join(self.lines)

    def wait_for_line(self, pattern, timeout=30.0, count=1):
        """The match in the ``count``-th output line matching ``pattern`` (a regex)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [match for match in map(regex.search, self.lines) if match]
                if len(found) >= count:
                    return found[count - 1]
                if self.popen.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(
                        "%s exited (%s) before %r:\n%s"
                        % (self.name, self.popen.returncode, pattern, "\n".join(self.lines))
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        "no %r (x%d) from %s within %ss:\n%s"
                        % (pattern, count, self.name, timeout, "\n".join(self.lines))
                    )
                self._changed.wait(min(remaining, 0.5))

    def wait_until_serving(self, timeout=30.0):
        """The base URL of ``refnova serve``, once its socket listens."""
        self.url = self.wait_for_line(READY, timeout).group(1)
        return self.url

    def built(self):
        """Instance uuid -> how often this process logged building it."""
        return collections.Counter(match.group(1) for match in BUILT.finditer(self.output()))

    def signal(self, signum):
        self.popen.send_signal(signum)

    def kill(self):
        """SIGKILL: the process ends holding whatever it held."""
        self.signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self, timeout=30.0):
        """SIGTERM and wait (a refnova process flushes its spans as it exits): the exit status.

        One that does not stop in time is killed, with a warning, and its status is SIGKILL's.
        """
        if self.popen.poll() is None:
            self.popen.terminate()
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            warnings.warn(
                "%s did not stop within %ss of SIGTERM; killed it:\n%s"
                % (self.name, timeout, self.output()[-3000:]),
                stacklevel=2,
            )
            self.popen.kill()
            self.popen.wait(10)
        self._reader.join(10)
        return self.popen.returncode


class Processes:
    """The refnova processes of one test (or module), in one working directory.

    ``settings`` become REFNOVA_* variables of every process started (e.g. log_level="INFO");
    ``env`` given to ``start`` replaces the environment altogether.
    """

    def __init__(self, cwd, **settings):
        self.cwd = cwd
        self.settings = settings
        self.started = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def environment(self, **settings):
        """A clean environment with the group's and these settings as REFNOVA_* variables."""
        merged = {**self.settings, **settings}
        return clean_environment(**{"REFNOVA_" + k.upper(): v for k, v in merged.items()})

    def start(self, *args, env=None, name=None):
        name = name or args[0]
        if any(process.name == name for process in self.started):
            name = "%s-%d" % (name, len(self.started))
        process = RefnovaProcess(
            args, self.environment() if env is None else env, self.cwd, name=name
        )
        self.started.append(process)
        return process

    def serve(self, *args, env=None, name="api"):
        """``refnova serve --port 0 ...``, returned once it listens (its URL in ``.url``)."""
        process = self.start("serve", "--port", "0", *args, env=env, name=name)
        process.wait_until_serving()
        return process

    def stop(self):
        """SIGTERM to all at once, then wait for each."""
        for process in self.started:
            if process.popen.poll() is None:
                process.popen.terminate()
        for process in self.started:
            process.stop()
