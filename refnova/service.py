"""A deployment: everything one ``refnova serve`` (or one conductor) runs, wired together."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from refnova import behaviours, messaging, policy, tracing
from refnova.api.openstack import auth, builtin, contracts, url_check, wsgi
from refnova.api.openstack.compute import resources, servers
from refnova.api.refnova import behaviours as control
from refnova.compute import api as compute_api
from refnova.conductor import api as conductor_api
from refnova.conductor import manager as conductor_manager
from refnova.conductor import rpcapi as conductor_rpcapi
from refnova.config import Settings
from refnova.context import RequestContext
from refnova.db import api as db_api
from refnova.image import glance
from refnova.network import neutron
from refnova.volume import cinder
from refnova.world import load_world

LOG = logging.getLogger(__name__)


def network_api_for(settings: Settings, world: Mapping[str, Any]) -> neutron.API:
    client = (
        neutron.NeutronClient(settings.neutron_url)
        if settings.neutron_url
        else neutron.WorldNeutron(world)
    )
    return neutron.API(client)


def start_conductor(
    settings: Settings,
    db: db_api.Database,
    transport: messaging.Transport,
    network_api: neutron.API,
) -> tuple[messaging.RPCServer, conductor_manager.ComputeTaskManager]:
    """The conductor's RPC server, consuming, and its manager (``stop`` both: the manager
    holds the transitions that behaviours delay)."""
    manager = conductor_manager.ComputeTaskManager(db, network_api, settings.spawn_seconds)
    manager.take_over_delayed()  # those a conductor that stopped before their time left
    target = messaging.Target(topic=conductor_rpcapi.TOPIC)
    server = messaging.RPCServer(
        transport,
        target,
        [manager],
        RequestContext.from_dict,
        prefetch=settings.conductor_prefetch,
        transient_errors=db_api.TRANSIENT_ERRORS,
    )
    return server.start(), manager


class Deployment:
    """The API (and, on the memory transport, a conductor) over one database and broker."""

    def __init__(
        self,
        settings: Settings,
        world: Mapping[str, Any] | None = None,
        schema_from: db_api.Database | None = None,  # in-memory: a copy of its empty schema
    ) -> None:
        self.settings = settings
        self.world = world if world is not None else load_world(path=settings.world_file)
        # A connection kept open for each HTTP thread: with fewer, a server busy on every
        # thread closed and reopened connections all the time (benchmarks/README.md, workers).
        pool_size = max(db_api.POOL_SIZE, settings.http_threads)
        self.db = db_api.Database(settings.db_url, schema_from, pool_size)
        db_api.seed_world(self.db, self.world)
        behaviours.seed(self.db, self.world)
        self.transport = messaging.Transport(settings.transport_url, settings.publish_timeout)
        network_api = network_api_for(settings, self.world)
        config = compute_api.ComputeConfig(quotas=dict(self.world["quotas"]))
        self.compute_api = compute_api.API(
            self.db,
            glance.image_service(settings.glance_url, self.world),
            network_api,
            cinder.WorldVolumes(self.world),
            conductor_api.ComputeTaskAPI(self.transport),
            policy.Enforcer(self.world.get("policy")),
            config,
        )
        controller = servers.Controller(self.compute_api, config, self.world.get("api"))
        self.tokens = builtin.token_issuer(settings)  # None behind an outside Keystone
        authenticator = auth.authenticator_for(settings, tokens=self.tokens)
        self.rate_limiter = rate_limiter = wsgi.RateLimiter(self.world.get("rate_limits") or {})
        around_create = resources.controllers(
            self.db, self.world, rate_limiter.display, settings.glance_url
        )
        router = wsgi.APIRouter(
            controller,
            authenticator=authenticator,
            controllers=around_create,
            rate_limiter=rate_limiter,
            contracts_served=contracts.with_max_microversion(settings.max_microversion),
            public_url=settings.public_url,
        )
        # Each request's SERVER span; in front, the services refnova serves itself.
        self.app = url_check.RefuseUndecodablePath(
            builtin.cloud_app(
                control.in_front_of(
                    tracing.ServerSpanMiddleware(router),
                    self.db,
                    authenticator,
                    self.compute_api.policy,
                ),
                settings,
                self.world,
                self.tokens,
                authenticator,
            )
        )
        self.conductor: messaging.RPCServer | None = None
        self.conductor_manager: conductor_manager.ComputeTaskManager | None = None
        if settings.runs_conductor_in_process:
            self.conductor, self.conductor_manager = start_conductor(
                settings, self.db, self.transport, network_api
            )

    def close(self) -> None:
        if self.conductor is not None:
            self.conductor.stop()
        if self.conductor_manager is not None:
            self.conductor_manager.stop()
        self.transport.close()
        self.db.close()

    def __enter__(self) -> Deployment:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ConductorService:
    """``refnova conductor``: the conductor alone, against a shared database and broker."""

    def __init__(self, settings: Settings, world: Mapping[str, Any] | None = None) -> None:
        self.world = world if world is not None else load_world(path=settings.world_file)
        self.db = db_api.Database(settings.db_url)
        db_api.seed_world(self.db, self.world)
        behaviours.seed(self.db, self.world)
        self.transport = messaging.Transport(settings.transport_url, settings.publish_timeout)
        self.server, self.manager = start_conductor(
            settings, self.db, self.transport, network_api_for(settings, self.world)
        )

    def close(self) -> None:
        self.server.stop()
        self.manager.stop()
        self.transport.close()
        self.db.close()
