"""The one polling loop of the tests, for what offers no event to wait on (a server's status
over HTTP, rows in a database). Deadlines are generous: only a broken path reaches them, and
the caller's assertion on the last value says what was seen."""

import time


def poll_until(probe, done, timeout=30.0, interval=0.02):
    """Call ``probe()`` until ``done(value)`` holds or ``timeout`` passes; the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def wait_for_status(show, statuses=("ACTIVE", "ERROR"), timeout=30.0, interval=0.02):
    """Poll ``show()`` (a server's dict) until its status is one of ``statuses``; the last one."""
    return poll_until(show, lambda server: server["status"] in statuses, timeout, interval)
