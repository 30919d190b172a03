"""Who is calling: noauth2 (the caller names its user and project) or Keystone tokens.

An authenticator has ``authenticate(req)`` (a RequestContext, or None for 401) and
``challenge_headers()`` (the headers of that 401). ``KeystoneAuth`` raises ``ApiError(503)``
when Keystone cannot say whether a token is good.

``NoAuth`` given the deployment's token issuer (``refnova.api.openstack.identity.tokens``:
the built-in identity service's tokens) reads those tokens first: one that verifies gives its user,
project and roles; one of that form that does not (expired, forged) is refused; any other
token keeps the noauth2 reading.
"""

from __future__ import annotations

import collections
import datetime
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import webob

from refnova.api.openstack.identity.tokens import TokenClaims, TokenIssuer, is_ours
from refnova.context import RequestContext, generate_request_id
from refnova.exception import ApiError
from refnova.identity import keystone

LOG = logging.getLogger(__name__)
ADMIN_USER = "admin"
NOAUTH2 = "noauth2"
KEYSTONE = "keystone"
STRATEGIES = (NOAUTH2, KEYSTONE)


def context_from_headers(
    headers: Mapping[str, str], remote_address: str | None = None
) -> RequestContext | None:
    """noauth2: a RequestContext from the request headers, None without credentials.

    ``X-Auth-Token: user:project``; a token without a colon names both (Nova's noauth2:
    ``project_id = project_id or user_id``); without a token, X-Auth-User and
    X-Auth-Project-Id. The user ``admin`` is an admin.
    """
    token = headers.get("X-Auth-Token")
    if token:
        return context_from_token(token, remote_address)
    user_id = headers.get("X-Auth-User") or headers.get("X-User-Id")
    project_id = headers.get("X-Auth-Project-Id") or headers.get("X-Tenant-Id")
    if not user_id or not project_id:
        return None
    return _noauth_context(user_id, project_id, None, remote_address)


def context_from_token(token: str, remote_address: str | None = None) -> RequestContext | None:
    """noauth2's reading of ``X-Auth-Token: user:project`` (``user`` alone names both)."""
    user_id, _sep, project_id = token.partition(":")
    if not user_id:
        return None
    return _noauth_context(user_id, project_id or user_id, token, remote_address)


def _noauth_context(
    user_id: str, project_id: str, token: str | None, remote_address: str | None
) -> RequestContext:
    is_admin = user_id == ADMIN_USER
    return RequestContext(
        user_id=user_id,
        project_id=project_id,
        roles=["admin"] if is_admin else ["member"],
        is_admin=is_admin,
        request_id=generate_request_id(),
        auth_token=token,
        remote_address=remote_address,
        user_name=user_id,
        project_name=project_id,
    )


class NoAuth:
    """noauth2-style authentication (see ``context_from_headers``), after the tokens of
    ``issuer`` when there is one."""

    def __init__(self, issuer: TokenIssuer | None = None) -> None:
        self.issuer = issuer

    def authenticate(self, req: webob.Request) -> RequestContext | None:
        environ = req.environ
        token = environ.get("HTTP_X_AUTH_TOKEN")  # the header, read without WebOb's view
        if not token:
            return context_from_headers(req.headers, req.remote_addr)
        if self.issuer is not None and is_ours(token):
            claims = self.issuer.verify(token)
            return context_from_claims(claims, token, req.remote_addr) if claims else None
        return context_from_token(token, environ.get("REMOTE_ADDR"))

    def challenge_headers(self) -> dict[str, str]:
        return {}


def context_from_claims(
    claims: TokenClaims, token: str, remote_address: str | None
) -> RequestContext | None:
    """The holder of a verified token; None for a token scoped to no project (compute
    needs one)."""
    if claims.project_id is None:
        return None
    return RequestContext(
        user_id=claims.user_id,
        project_id=claims.project_id,
        roles=list(claims.roles),
        is_admin=claims.is_admin,
        request_id=generate_request_id(),
        auth_token=token,
        remote_address=remote_address,
        user_name=claims.user_name,
        project_name=claims.project_name,
    )


class TokenCache:
    """Valid tokens, each kept until its expiry or ``ttl`` seconds, whichever comes first.

    Bounded: past ``max_size`` the least recently used token goes. Thread-safe.
    """

    def __init__(
        self,
        max_size: int = 1024,
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        utcnow: Callable[[], datetime.datetime] | None = None,
    ) -> None:
        self.max_size = max_size
        self.ttl = ttl
        self.clock = clock
        self.utcnow = utcnow or (
            lambda: datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        )
        # token -> (deadline, TokenInfo)
        self._entries: collections.OrderedDict[str, tuple[float, keystone.TokenInfo]] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()

    def get(self, token: str) -> keystone.TokenInfo | None:
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            deadline, info = entry
            if self.clock() >= deadline:
                del self._entries[token]
                return None
            self._entries.move_to_end(token)
            return info

    def put(self, info: keystone.TokenInfo) -> None:
        lifetime = self.ttl
        if info.expires_at is not None:
            lifetime = min(lifetime, (info.expires_at - self.utcnow()).total_seconds())
        if lifetime <= 0 or self.max_size <= 0:
            return
        with self._lock:
            self._entries[info.token] = (self.clock() + lifetime, info)
            self._entries.move_to_end(info.token)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class KeystoneAuth:
    """X-Auth-Token checked against Keystone's v3 API, valid tokens cached."""

    UNAVAILABLE = "The identity service is unavailable: the token could not be validated."

    def __init__(self, client: keystone.KeystoneClient, cache: TokenCache | None = None) -> None:
        self.client = client
        self.cache = cache if cache is not None else TokenCache()

    def authenticate(self, req: webob.Request) -> RequestContext | None:
        token = req.headers.get("X-Auth-Token")
        if not token:
            return None
        info = self.cache.get(token)
        if info is None:
            try:
                info = self.client.validate(token)
            except keystone.KeystoneUnavailable as error:
                LOG.warning("Token validation failed: %s", error)
                raise ApiError(503, self.UNAVAILABLE)
            if info is None:
                return None
            self.cache.put(info)
        return RequestContext(
            user_id=info.user_id,
            project_id=info.project_id,
            roles=list(info.roles),
            is_admin=info.is_admin,
            request_id=generate_request_id(),
            auth_token=token,
            remote_address=req.remote_addr,
            user_name=info.user_name,
            project_name=info.project_name,
        )

    def challenge_headers(self) -> dict[str, str]:
        # keystonemiddleware's (Icehouse) challenge.
        return {"WWW-Authenticate": "Keystone uri='%s'" % self.client.auth_url}


def authenticator_for(
    settings: Any, session: Any = None, tokens: TokenIssuer | None = None
) -> NoAuth | KeystoneAuth:
    """The authenticator ``settings.auth_strategy`` names; noauth2 also reads the tokens of
    ``tokens`` (the built-in identity service's issuer), when given."""
    strategy = getattr(settings, "auth_strategy", NOAUTH2) or NOAUTH2
    if strategy == NOAUTH2:
        return NoAuth(tokens)
    if strategy == KEYSTONE:
        if not settings.keystone_url:
            raise ValueError("--auth keystone needs --keystone-url")
        client = keystone.KeystoneClient(settings.keystone_url, session=session)
        return KeystoneAuth(client, TokenCache(ttl=settings.keystone_cache_ttl))
    raise ValueError(
        "unknown auth strategy %r (expected one of %s)" % (strategy, ", ".join(STRATEGIES))
    )
