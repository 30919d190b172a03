"""Wiring: which built-in services a deployment serves, in front of its compute API.

Each built-in service is on unless the settings name the real one: ``keystone_url`` turns
the identity service (and refnova's own tokens) off, ``glance_url`` the images,
``neutron_url`` the networks. Every request a built-in service answers runs in a SERVER
span, as the compute API's do (``refnova.tracing.ServerSpanMiddleware``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from refnova import tracing
from refnova.api.openstack.identity import app as identity
from refnova.api.openstack.identity.directory import Directory
from refnova.api.openstack.identity.tokens import TokenIssuer
from refnova.api.openstack.image import app as image
from refnova.api.openstack.network import app as networking
from refnova.api.openstack.service_app import Authenticator
from refnova.api.openstack.urlmap import PrefixDispatcher
from refnova.config import Settings

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
else:
    WSGIApplication = Any


def token_issuer(settings: Settings) -> TokenIssuer | None:
    """The deployment's token issuer; None when an outside Keystone issues the tokens."""
    if settings.keystone_url:
        return None
    return TokenIssuer.from_settings(settings.token_key)


def cloud_app(
    compute_app: WSGIApplication,
    settings: Settings,
    world: Mapping[str, Any],
    issuer: TokenIssuer | None,
    authenticator: Authenticator,
) -> WSGIApplication:
    """The compute API, with the built-in services mounted in front of it."""
    mounts = built_in_services(settings, world, issuer, authenticator)
    traced = {prefix: tracing.ServerSpanMiddleware(app) for prefix, app in mounts.items()}
    return PrefixDispatcher(traced, compute_app)


def built_in_services(
    settings: Settings,
    world: Mapping[str, Any],
    issuer: TokenIssuer | None,
    authenticator: Authenticator,
) -> dict[str, WSGIApplication]:
    """Mount point -> application, for each service the settings do not send elsewhere."""
    public_url = settings.public_url
    # Where a 401 sends the client: the outside Keystone, else ours (None: this server's).
    identity_url = settings.keystone_url
    mounts: dict[str, WSGIApplication] = {}
    if issuer is not None:
        outside = {"image": settings.glance_url, "network": settings.neutron_url}
        mounts[identity.MOUNT] = identity.IdentityApp(Directory(world), issuer, public_url, outside)
    if not settings.glance_url:
        mounts[image.MOUNT] = image.ImageApp(
            world.get("images", []), authenticator, public_url, identity_url
        )
    if not settings.neutron_url:
        mounts[networking.MOUNT] = networking.NetworkingApp(
            world, authenticator, public_url, identity_url
        )
    return mounts
