"""Icehouse's rate limiter (``nova/api/openstack/compute/limits.py``): per user, POSTs a
minute to any URL, answered over the limit with ``RateLimitFault``.

Nova 2014.1 source: nova/api/openstack/wsgi.py RateLimitFault. Unlike ``Fault`` it never
called ``_set_request_id_header``, and the ratelimit middleware returned it before any
``wsgi.Resource`` ran: its 429 had no ``x-compute-request-id`` though the request had a
context. The router's own 404 for a path it has no route for (Nova 2014.1 source:
nova/wsgi.py Router._dispatch, a bare ``webob.exc.HTTPNotFound``) had none either.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from refnova.exception import ApiError

# The /v2 rate limiter's windows kept at most (users who posted within the last minute).
RATE_LIMITED_USERS = 10000


class FaultWithoutRequestId(ApiError):
    """A fault answered outside ``wsgi.Resource`` and ``wsgi.Fault``: no request id header
    (the request's context, if any, still names the SERVER span's ids)."""


class RateLimiter:
    """Icehouse's default limit: per user, ``limit`` POSTs a minute to any URL."""

    def __init__(
        self,
        limits: Mapping[str, int],
        clock: Callable[[], float] = time.monotonic,
        max_users: int = RATE_LIMITED_USERS,
    ) -> None:
        self.limit = limits.get("POST", 120)
        self.clock = clock
        self.max_users = max_users
        # Users by their last POST, oldest first: a user idle for a minute has an empty
        # window and is forgotten, and past max_users the longest idle go first, so
        # memory stays bounded however many users come (Icehouse kept them all for ever).
        self._hits: collections.OrderedDict[str, collections.deque[float]] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()

    def check(self, method: str, user_id: str) -> int | None:
        """None, or the seconds to wait before the next POST is allowed."""
        if method != "POST" or self.limit < 0:
            return None
        now = self.clock()
        with self._lock:
            self._forget_idle(now)
            hits = self._hits.get(user_id, collections.deque())
            while hits and now - hits[0] >= 60:
                hits.popleft()
            if len(hits) >= self.limit:
                return int(60 - (now - hits[0])) + 1 if hits else 60
            hits.append(now)
            self._hits[user_id] = hits
            self._hits.move_to_end(user_id)
            while len(self._hits) > self.max_users:
                self._hits.popitem(last=False)
            return None

    def _forget_idle(self, now: float) -> None:
        """Drop the users, oldest first, whose last POST left the window."""
        while self._hits:
            oldest = next(iter(self._hits.values()))
            if oldest and now - oldest[-1] < 60:
                return
            self._hits.popitem(last=False)

    def forget_all(self) -> None:
        """Count no POST any more (a deployment reused as a fresh one, between fixtures)."""
        with self._lock:
            self._hits.clear()

    def tracked_users(self) -> int:
        """How many users' windows are kept (bounded by ``max_users``)."""
        with self._lock:
            return len(self._hits)

    def display(self, user_id: str) -> list[dict[str, Any]]:
        """The limit as Icehouse's ``Limit.display`` shows it (GET /limits): what is left of
        it for the user, and when (epoch seconds) the next POST is allowed."""
        if self.limit < 0:
            return []
        now, wall = self.clock(), time.time()
        with self._lock:
            hits = [hit for hit in self._hits.get(user_id, ()) if now - hit < 60]
        full = len(hits) >= self.limit
        reset = wall + (60 - (now - hits[0]) if full and hits else 0)
        return [
            {
                "verb": "POST",
                "URI": "*",
                "regex": ".*",
                "value": self.limit,
                "remaining": max(self.limit - len(hits), 0),
                "unit": "MINUTE",
                "resetTime": int(reset),
            }
        ]

    def error(self, wait: int) -> FaultWithoutRequestId:
        """The 429 ``RateLimitFault`` answered: its body, no request id header."""
        return FaultWithoutRequestId(
            429,
            "This request was rate-limited.",
            {"Retry-After": wait},
            details="Only %d POST request(s) can be made to * every minute." % self.limit,
        )
