"""Who is calling: noauth2 (the caller names its user and project) or Keystone tokens.

An authenticator has ``authenticate(req)`` (a RequestContext, or None for 401) and
``challenge_headers()`` (the headers of that 401). ``KeystoneAuth`` raises ``ApiError(503)``
when Keystone cannot say whether a token is good.
"""
import collections
import datetime
import logging
import threading
import time

from refnova.context import RequestContext, generate_request_id
from refnova.exception import ApiError
from refnova.identity import keystone

LOG = logging.getLogger(__name__)
ADMIN_USER = "admin"
NOAUTH2 = "noauth2"
KEYSTONE = "keystone"
STRATEGIES = (NOAUTH2, KEYSTONE)


def context_from_headers(headers, remote_address=None):
    """noauth2: a RequestContext from the request headers, None without credentials.

    ``X-Auth-Token: user:project``; a token without a colon names both (Nova's noauth2:
    ``project_id = project_id or user_id``); without a token, X-Auth-User and
    X-Auth-Project-Id. The user ``admin`` is an admin.
    """
    token = headers.get("X-Auth-Token")
    if token:
        user_id, _sep, project_id = token.partition(":")
        project_id = project_id or user_id
    else:
        user_id = headers.get("X-Auth-User") or headers.get("X-User-Id")
        project_id = headers.get("X-Auth-Project-Id") or headers.get("X-Tenant-Id")
    if not user_id or not project_id:
        return None
    is_admin = user_id == ADMIN_USER
    return RequestContext(user_id=user_id, project_id=project_id,
                          roles=["admin"] if is_admin else ["member"], is_admin=is_admin,
                          request_id=generate_request_id(), auth_token=token,
                          remote_address=remote_address, user_name=user_id,
                          project_name=project_id)


class NoAuth:
    """noauth2-style authentication (see ``context_from_headers``)."""

    def authenticate(self, req):
        return context_from_headers(req.headers, req.remote_addr)

    def challenge_headers(self):
        return {}


class TokenCache:
    """Valid tokens, each kept until its expiry or ``ttl`` seconds, whichever comes first.

    Bounded: past ``max_size`` the least recently used token goes. Thread-safe.
    """

    def __init__(self, max_size=1024, ttl=300.0, clock=time.monotonic, utcnow=None):
        self.max_size = max_size
        self.ttl = ttl
        self.clock = clock
        self.utcnow = utcnow or (lambda: datetime.datetime.now(datetime.timezone.utc)
                                 .replace(tzinfo=None))
        self._entries = collections.OrderedDict()   # token -> (deadline, TokenInfo)
        self._lock = threading.Lock()

    def get(self, token):
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

    def put(self, info):
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

    def __len__(self):
        return len(self._entries)


class KeystoneAuth:
    """X-Auth-Token checked against Keystone's v3 API, valid tokens cached."""

    UNAVAILABLE = "The identity service is unavailable: the token could not be validated."

    def __init__(self, client, cache=None):
        self.client = client
        self.cache = cache if cache is not None else TokenCache()

    def authenticate(self, req):
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
        return RequestContext(user_id=info.user_id, project_id=info.project_id,
                              roles=list(info.roles), is_admin=info.is_admin,
                              request_id=generate_request_id(), auth_token=token,
                              remote_address=req.remote_addr, user_name=info.user_name,
                              project_name=info.project_name)

    def challenge_headers(self):
        # keystonemiddleware's (Icehouse) challenge.
        return {"WWW-Authenticate": "Keystone uri='%s'" % self.client.auth_url}


def authenticator_for(settings, session=None):
    """The authenticator ``settings.auth_strategy`` names."""
    strategy = getattr(settings, "auth_strategy", NOAUTH2) or NOAUTH2
    if strategy == NOAUTH2:
        return NoAuth()
    if strategy == KEYSTONE:
        if not settings.keystone_url:
            raise ValueError("--auth keystone needs --keystone-url")
        client = keystone.KeystoneClient(settings.keystone_url, session=session)
        return KeystoneAuth(client, TokenCache(ttl=settings.keystone_cache_ttl))
    raise ValueError("unknown auth strategy %r (expected one of %s)"
                     % (strategy, ", ".join(STRATEGIES)))
