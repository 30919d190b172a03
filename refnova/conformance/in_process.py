"""The in-process run: one deployment per world, put back as it was seeded before each fixture.

Building a deployment (the schema, the seed, the conductor's thread) costs more than most
fixtures' requests. A run builds one per distinct world a fixture asks for and, before each
fixture, waits for its conductor to finish what the previous fixture cast (the in-process
broker says when: no polling), restores its in-memory database from the snapshot taken right
after seeding, and forgets the rate limiter's counts. Each fixture meets the database, the
limiter and the queue of a fresh deployment; only what no fixture changes (the app, its
compiled statements, the conductor's thread) is shared.

A setup step that creates a server is settled by the conductor going idle, then one GET: the
server has left BUILD by then (``settle``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from refnova.conformance.http import HttpRequest, HttpResponse

if TYPE_CHECKING:  # the application is imported only when a fixture runs
    from refnova.service import Deployment

WorldLoader = Callable[[Mapping[str, Any] | None], Mapping[str, Any]]

# Seconds the conductor may take to serve what a fixture cast; only reached when it is stuck.
CONDUCTOR_TIMEOUT = 30.0


class StuckConductor(Exception):
    """The conductor still had work in hand after ``CONDUCTOR_TIMEOUT``."""


class ReusableDeployment:
    """A ``refnova.service.Deployment`` on in-memory SQLite and memory://, with ``reset``."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self._database = _sqlite_connection(deployment)
        self._snapshot = sqlite3.connect(":memory:", check_same_thread=False)
        self._database.backup(self._snapshot)

    @property
    def app(self) -> Callable[..., Any]:
        return self.deployment.app

    def settle(self) -> None:
        """Return once the conductor has served everything cast so far."""
        conductor = self.deployment.conductor
        if conductor is not None and not conductor.wait_until_idle(CONDUCTOR_TIMEOUT):
            raise StuckConductor(f"the conductor was still busy after {CONDUCTOR_TIMEOUT:.0f}s")

    def reset(self) -> None:
        """The state of a deployment just built: the seeded database, no POST counted."""
        self.settle()
        self._snapshot.backup(self._database)
        self.deployment.rate_limiter.forget_all()

    def close(self) -> None:
        self._snapshot.close()
        self.deployment.close()


def _sqlite_connection(deployment: Deployment) -> sqlite3.Connection:
    """The one SQLite connection of an in-memory database (SQLAlchemy's StaticPool)."""
    engine = deployment.db.engine
    if engine.dialect.name != "sqlite" or engine.url.database not in (None, "", ":memory:"):
        raise ValueError(f"a reusable deployment needs in-memory SQLite, not {engine.url}")
    pooled = engine.raw_connection()
    try:
        connection = pooled.dbapi_connection
    finally:
        pooled.close()  # back to the StaticPool: the connection itself stays open
    if not isinstance(connection, sqlite3.Connection):
        raise ValueError(f"not a sqlite3 connection: {connection!r}")
    return connection


class Deployments:
    """The run's deployments, one per world a fixture asks for, built on first use."""

    def __init__(
        self, factory: Callable[[Mapping[str, Any]], Deployment], world_loader: WorldLoader
    ) -> None:
        self.factory = factory
        self.world_loader = world_loader
        self._by_world: dict[str, tuple[Mapping[str, Any], ReusableDeployment]] = {}

    def for_world(
        self, overrides: Mapping[str, Any] | None
    ) -> tuple[Mapping[str, Any], ReusableDeployment]:
        """The world a fixture's ``world`` overrides make, and its deployment, reset."""
        key = json.dumps(overrides, sort_keys=True, default=str)
        known = self._by_world.get(key)
        if known is None:
            world = self.world_loader(overrides)
            known = self._by_world[key] = (world, ReusableDeployment(self.factory(world)))
        else:
            known[1].reset()
        return known

    def close(self) -> None:
        for _world, reusable in self._by_world.values():
            reusable.close()
        self._by_world.clear()

    def __enter__(self) -> Deployments:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def settled_send(
    reusable: ReusableDeployment, send: Callable[[HttpRequest], HttpResponse]
) -> Callable[[HttpRequest], HttpResponse]:
    """``send``, except that a GET waits for the conductor first: what a setup step created
    is built before it is shown, so settling a server takes one GET and no sleep."""

    def send_after_the_conductor(request: HttpRequest) -> HttpResponse:
        if request.method == "GET":
            reusable.settle()
        return send(request)

    return send_after_the_conductor
