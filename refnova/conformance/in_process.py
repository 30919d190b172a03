"""The in-process runner: one deployment per world, put back as seeded before each fixture.

Building a deployment (the schema, the seed, the conductor's thread) costs more than most
fixtures' requests. A run builds one per distinct world a fixture asks for (each database a
copy of one empty schema: ``ReferenceFactory``) and, before each
fixture, drops the casts the previous one left queued, waits for the build in hand (the
in-process broker says when: no polling), restores its in-memory database from the snapshot
taken right after seeding, and forgets the rate limiter's counts. Each fixture meets the
database, the limiter and the queue of a fresh deployment; only what no fixture changes (the
app, its compiled statements, the conductor's thread) is shared.

A GET (a setup step's settling, or a fixture's own) waits for the conductor to go idle first:
a setup server has left BUILD by then, and a fixture lists what the conductor made of its
casts (``settle``), however soon the conductor's thread ran. ``run_in_process`` without
``deployments`` still builds a fresh deployment for the one fixture (any factory's: the
trace-shape tests use it).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import webob

from refnova.conformance.fixtures import Fixture
from refnova.conformance.http import HttpRequest, HttpResponse, build_request
from refnova.conformance.placeholders import placeholder_values
from refnova.conformance.results import FAIL, Result, evaluate
from refnova.conformance.setup import run_setup
from refnova.conformance.world import load_reference_world

if TYPE_CHECKING:  # the application is imported only when a fixture runs
    from refnova.db.api import Database
    from refnova.service import Deployment as ServiceDeployment

WsgiApp = Callable[..., Iterable[bytes]]
WorldLoader = Callable[[Mapping[str, Any] | None], Mapping[str, Any]]
Progress = Callable[[Result], None]
Send = Callable[[HttpRequest], HttpResponse]


class Deployment(Protocol):
    """What a fixture run on a fresh deployment needs of it (``refnova.service.Deployment``)."""

    @property
    def app(self) -> WsgiApp: ...

    def close(self) -> None: ...


# Seconds the conductor may take to serve what a fixture cast; only reached when it is stuck.
CONDUCTOR_TIMEOUT = 30.0


def world_key(overrides: Mapping[str, Any] | None) -> str:
    """One text for the same world overrides, however their keys are ordered."""
    return json.dumps(overrides, sort_keys=True, default=str)


class StuckConductor(Exception):
    """The conductor still had work in hand after ``CONDUCTOR_TIMEOUT``."""


class ReusableDeployment:
    """A ``refnova.service.Deployment`` on in-memory SQLite and memory://, with ``reset``."""

    def __init__(self, deployment: ServiceDeployment) -> None:
        from refnova.db import memory  # the application only when a fixture runs

        self.deployment = deployment
        self._database = memory.connection_of(deployment.db)
        self._snapshot = sqlite3.connect(":memory:", check_same_thread=False)
        self._database.backup(self._snapshot)
        # The conductor's queue, bound on a connection of its own, for purging it.
        self._purging = deployment.transport.connection.clone()
        self._casts = deployment.transport.queue(conductor_topic())(self._purging.default_channel)

    @property
    def app(self) -> WsgiApp:
        return self.deployment.app

    def settle(self) -> None:
        """Return once the conductor has served everything cast so far."""
        conductor = self.deployment.conductor
        if conductor is not None and not conductor.wait_until_idle(CONDUCTOR_TIMEOUT):
            raise StuckConductor(f"the conductor was still busy after {CONDUCTOR_TIMEOUT:.0f}s")

    def reset(self) -> None:
        """The state of a deployment just built: the seeded database, no POST counted, no
        cast queued (the builds the last fixture cast are for servers about to be gone)."""
        self._casts.purge()
        self.settle()  # the build in hand, if any
        self._snapshot.backup(self._database)
        self.deployment.rate_limiter.forget_all()

    def close(self) -> None:
        self._purging.release()
        self._snapshot.close()
        self.deployment.close()


def conductor_topic() -> str:
    from refnova.conductor.rpcapi import TOPIC  # the application only when a fixture runs

    return TOPIC


class Deployments:
    """The run's deployments, one per world a fixture asks for, built on first use."""

    def __init__(
        self,
        factory: Callable[[Mapping[str, Any]], ServiceDeployment],
        world_loader: WorldLoader,
    ) -> None:
        self.factory = factory
        self.world_loader = world_loader
        self._by_world: dict[str, tuple[Mapping[str, Any], ReusableDeployment]] = {}

    def for_world(
        self, overrides: Mapping[str, Any] | None
    ) -> tuple[Mapping[str, Any], ReusableDeployment]:
        """The world a fixture's ``world`` overrides make, and its deployment, reset."""
        key = world_key(overrides)
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
        if isinstance(self.factory, ReferenceFactory):
            self.factory.close()

    def __enter__(self) -> Deployments:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def settled_send(reusable: ReusableDeployment, send: Send) -> Send:
    """``send``, except that a GET waits for the conductor first: what was cast before it (a
    setup step's server, a build a behaviour holds) is taken before the GET is answered, so
    settling a server takes one GET and no sleep, and what a fixture lists does not depend on
    how soon the conductor's thread ran."""

    def send_after_the_conductor(request: HttpRequest) -> HttpResponse:
        if request.method == "GET":
            reusable.settle()
        return send(request)

    return send_after_the_conductor


# --------------------------------------------------------------------------- the runner


def reference_deployment(
    world: Mapping[str, Any], schema_from: Database | None = None
) -> ServiceDeployment:
    """A fresh in-process refnova: in-memory SQLite, kombu memory:// transport, serving every
    microversion it implements (a deployment announces 2.1 unless told otherwise).
    ``schema_from``: an empty in-memory database whose schema is copied, not created."""
    from refnova.api.openstack.contracts import V21_IMPLEMENTED_MAX
    from refnova.config import Settings  # the application only when a fixture runs
    from refnova.service import Deployment as Made

    settings = Settings(
        db_url="sqlite://", transport_url="memory://", max_microversion=V21_IMPLEMENTED_MAX
    )
    return Made(settings, world=world, schema_from=schema_from)


class ReferenceFactory:
    """``reference_deployment`` for a run's worlds: the schema is created once, in an empty
    in-memory database, and each world's database starts as a copy of it (SQLite's backup
    API: a tenth of a millisecond rather than several for creating the tables)."""

    def __init__(self) -> None:
        self._schema: Database | None = None

    def __call__(self, world: Mapping[str, Any]) -> ServiceDeployment:
        if self._schema is None:
            from refnova.db.api import Database  # the application only when a fixture runs

            self._schema = Database("sqlite://")
        return reference_deployment(world, self._schema)

    def close(self) -> None:
        if self._schema is not None:
            self._schema.close()
            self._schema = None


def run_in_process(
    fixture: Fixture,
    deployment_factory: Callable[[Mapping[str, Any]], Deployment] | None = None,
    world_loader: WorldLoader | None = None,
    deployments: Deployments | None = None,
) -> Result:
    """Run one fixture against a fresh deployment (anything with ``.app`` and ``.close()``),
    or against the deployment of its world in ``deployments``, reset."""
    if deployments is not None:
        world, reusable = deployments.for_world(fixture.world)
        app = reusable.app
        return _run_on_app(fixture, world, settled_send(reusable, _sender(app)))
    world = (world_loader or load_reference_world)(fixture.world)
    deployment = (deployment_factory or reference_deployment)(world)
    try:
        return _run_on_app(fixture, world, _sender(deployment.app))
    finally:
        deployment.close()


def run_all_in_process(
    fixtures: Iterable[Fixture],
    progress: Progress | None = None,
    deployment_factory: Callable[[Mapping[str, Any]], ServiceDeployment] | None = None,
    world_loader: WorldLoader | None = None,
) -> list[Result]:
    """Run fixtures in-process, one deployment per world, reset before each fixture."""
    results = []
    with in_process_deployments(deployment_factory, world_loader) as deployments:
        for fixture in fixtures:
            results.append(run_in_process(fixture, deployments=deployments))
            if progress is not None:
                progress(results[-1])
    return results


def in_process_deployments(
    deployment_factory: Callable[[Mapping[str, Any]], ServiceDeployment] | None = None,
    world_loader: WorldLoader | None = None,
) -> Deployments:
    """Reusable deployments for a run (the reference deployment by default)."""
    return Deployments(
        deployment_factory or ReferenceFactory(), world_loader or load_reference_world
    )


def _run_on_app(fixture: Fixture, world: Mapping[str, Any], send: Send) -> Result:
    """The fixture's setup steps, then its request (each sent with ``send``), matched."""
    prepared = run_setup(fixture.setup, placeholder_values(world), send)
    if prepared.problem is not None:
        return Result(fixture, FAIL, reason=prepared.problem)
    response = send(build_request(fixture, prepared.values))
    return evaluate(fixture, response, prepared.values)


def _sender(app: WsgiApp) -> Send:
    return lambda request: call_wsgi(app, request)


def call_wsgi(app: WsgiApp, request: HttpRequest) -> HttpResponse:
    """Send a request to a WSGI application, as a server would."""
    blank = webob.Request.blank(
        request.path, method=request.method, headers=request.header_dict(), body=request.body
    )
    response = blank.get_response(app)
    return HttpResponse(response.status_int, tuple(response.headerlist), response.body)
