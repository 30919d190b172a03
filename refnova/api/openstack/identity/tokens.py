"""Stateless tokens: an HMAC-signed payload that says who holds it, for what, until when.

Nothing is stored, so any process that holds the deployment's key verifies a token any
other one issued (several API processes share ``REFNOVA_TOKEN_KEY``; without it each
deployment draws its own key, and its tokens die with it). A token is
``rnv1.<payload>.<signature>``, both parts unpadded base64url: no colon, so a noauth2
``user:project`` token is never mistaken for one.

Tokens are not revocable (as Keystone's are): their lifetime bounds them, one hour as
Keystone's default ``[token] expiration``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from typing import Any

PREFIX = "rnv1."
DEFAULT_TTL = 3600.0


@dataclasses.dataclass(frozen=True)
class TokenClaims:
    """What a token says: its user, its scope (a project, a domain, or none) and roles."""

    user_id: str
    user_name: str
    methods: tuple[str, ...]
    issued_at: float  # seconds since the epoch
    expires_at: float
    audit_ids: tuple[str, ...]
    roles: tuple[str, ...] = ()  # role names, implied ones included
    project_id: str | None = None
    project_name: str | None = None
    domain_id: str | None = None  # a domain-scoped token

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def scoped(self) -> bool:
        return self.project_id is not None or self.domain_id is not None


def new_audit_id() -> str:
    """Keystone's audit id: 16 random bytes, urlsafe base64 without padding (22 chars)."""
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode("ascii")


class TokenIssuer:
    """Signs and verifies tokens with one deployment's key; the deployment owns it and
    hands it to the identity service (to issue) and to the API's authenticator (to check)."""

    def __init__(
        self, key: bytes, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.time
    ) -> None:
        self._key = key
        self.ttl = ttl
        self.clock = clock

    @classmethod
    def from_settings(cls, key: str | None, ttl: float = DEFAULT_TTL) -> TokenIssuer:
        """The configured key (any text, hashed to 32 bytes), else a fresh random one."""
        secret = hashlib.sha256(key.encode("utf-8")).digest() if key else secrets.token_bytes(32)
        return cls(secret, ttl)

    def now(self) -> float:
        return self.clock()

    def issue(self, claims: TokenClaims) -> str:
        payload = _b64encode(
            json.dumps(dataclasses.asdict(claims), separators=(",", ":")).encode("utf-8")
        )
        return "%s%s.%s" % (PREFIX, payload, self._signature(payload))

    def verify(self, token: str | None) -> TokenClaims | None:
        """The token's claims; None if it is not ours, is forged or damaged, or has expired."""
        if token is None or not is_ours(token):
            return None
        payload, _, signature = token[len(PREFIX) :].partition(".")
        if not hmac.compare_digest(signature, self._signature(payload)):
            return None
        claims = _decode(payload)
        if claims is None or claims.expires_at <= self.now():
            return None
        return claims

    def _signature(self, payload: str) -> str:
        digest = hmac.new(self._key, (PREFIX + payload).encode("ascii"), hashlib.sha256)
        return _b64encode(digest.digest())


def is_ours(token: str) -> bool:
    """Whether the token has our form (signed or not): noauth2 never reads such a token."""
    return token.startswith(PREFIX)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(payload: str) -> TokenClaims | None:
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        data: dict[str, Any] = json.loads(raw)
        for key in ("methods", "audit_ids", "roles"):
            data[key] = tuple(data[key])
        return TokenClaims(**data)
    except (binascii.Error, ValueError, TypeError, KeyError):
        return None
