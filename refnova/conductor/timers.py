"""Work a conductor does later, on one thread of its own, without holding its consumer.

A behaviour that holds a server in BUILD for some seconds, or turns it ERROR some seconds after
it went ACTIVE, must not sleep in the thread that consumes the conductor's queue: every other
build would wait behind it. The conductor that took the message schedules the rest here and
acknowledges the message at once; the call runs in that process, in the trace context it was
scheduled from. Calls still pending when the conductor stops are dropped (and counted).
"""

import contextvars
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

LOG = logging.getLogger(__name__)


class Timers:
    """Calls due after a delay, run one at a time in the order they fall due."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()  # equal times keep the order they were scheduled in
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def call_later(self, delay: float, function: Callable[[], None]) -> None:
        """Run ``function()`` after ``delay`` seconds, in the caller's context (its span)."""
        context = contextvars.copy_context()
        with self._changed:
            if self._stopped:
                LOG.warning("%s: stopped, so a call due in %ss is dropped", self.name, delay)
                return
            due = time.monotonic() + max(delay, 0.0)
            heapq.heappush(self._due, (due, next(self._order), _bound(context, function)))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._changed.notify()

    def pending(self) -> int:
        with self._changed:
            return len(self._due)

    def stop(self, timeout: float = 10.0) -> int:
        """Drop the calls not yet due, let a running one finish: how many were dropped."""
        with self._changed:
            self._stopped = True
            dropped = len(self._due)
            self._due.clear()
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        if dropped:
            LOG.warning("%s: stopped with %d call(s) pending; dropped", self.name, dropped)
        return dropped

    def _run(self) -> None:
        while True:
            call = self._next_due()
            if call is None:
                return
            try:
                call()
            except Exception:  # one failed call must not end the others
                LOG.exception("%s: a delayed call failed", self.name)

    def _next_due(self) -> Callable[[], None] | None:
        """The next call once it is due; None once stopped."""
        with self._changed:
            while not self._stopped:
                now = time.monotonic()
                if self._due and self._due[0][0] <= now:
                    return heapq.heappop(self._due)[2]
                self._changed.wait(self._due[0][0] - now if self._due else None)
            return None


def _bound(context: contextvars.Context, function: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        context.run(function)

    return run
