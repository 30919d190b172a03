"""``/identity``: the Keystone v3 subset clients need to authenticate and find endpoints.

``GET /identity`` (300, every version) and ``GET /identity/v3`` (Keystone's discovery),
``POST /identity/v3/auth/tokens`` (201, the token in ``X-Subject-Token``),
``GET``/``HEAD /identity/v3/auth/tokens`` (validate ``X-Subject-Token``; the caller's own
``X-Auth-Token`` must be valid) and ``GET /identity/v3/auth/catalog``. Bodies and errors are
Keystone's (its token resource, ``render_token_response_from_model`` and its discovery
documents): errors as ``{"error": {"code", "title", "message"}}``, a 401
with ``WWW-Authenticate: Keystone uri="<identity URL>"``.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any

import webob

from refnova import tracing
from refnova.api.openstack.identity import catalog
from refnova.api.openstack.identity.authentication import (
    CredentialChecker,
    KeystoneError,
    token_not_found,
    unauthorized,
)
from refnova.api.openstack.identity.directory import Directory
from refnova.api.openstack.identity.tokens import TokenClaims, TokenIssuer
from refnova.api.openstack.service_app import (
    ServiceApp,
    json_response,
    root_url,
    route,
    service_url,
)

MOUNT = "/identity"
V3 = {
    "id": "v3.14",
    "status": "stable",
    "updated": "2020-04-07T00:00:00Z",
    "media-types": [
        {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
    ],
}


class IdentityApp(ServiceApp):
    """The identity service over one directory, one token issuer and the catalog's URLs."""

    mount = MOUNT
    routes = (
        route("GET", "", "versions"),
        route("GET", "/v3", "version_v3"),
        route("POST", "/v3/auth/tokens", "issue_token"),
        route("GET HEAD", "/v3/auth/tokens", "validate_token"),
        route("GET HEAD", "/v3/auth/catalog", "auth_catalog"),
    )

    def __init__(
        self,
        directory: Directory,
        issuer: TokenIssuer,
        public_url: str | None = None,
        outside_urls: Mapping[str, str | None] | None = None,
    ) -> None:
        self.directory = directory
        self.issuer = issuer
        self.credentials = CredentialChecker(directory, issuer)
        self.public_url = public_url
        self.outside_urls = dict(outside_urls or {})

    def respond(self, req: webob.Request) -> webob.Response:
        try:
            return super().respond(req)
        except KeystoneError as error:
            return self.error(req, error)

    def versions(self, req: webob.Request) -> webob.Response:
        return json_response(300, {"versions": {"values": [self._v3(req)]}})

    def version_v3(self, req: webob.Request) -> webob.Response:
        return json_response(200, {"version": self._v3(req)})

    def issue_token(self, req: webob.Request) -> webob.Response:
        body = _json_body(req)
        claims = self.credentials.authenticate(body.get("auth") if isinstance(body, dict) else None)
        token = self.issuer.issue(claims)
        return self._token_response(req, 201, token, claims)

    def validate_token(self, req: webob.Request) -> webob.Response:
        caller = self._caller(req)
        subject = req.headers.get("X-Subject-Token")
        claims = self.issuer.verify(subject)
        if claims is None or not self._still_valid(claims):
            raise token_not_found(subject)
        if not (caller.user_id == claims.user_id or caller.is_admin or "service" in caller.roles):
            action = "identity:check_token" if req.method == "HEAD" else "identity:validate_token"
            raise KeystoneError(
                403,
                "Forbidden",
                "You are not authorized to perform the requested action: %s." % action,
            )
        assert subject is not None
        return self._token_response(req, 200, subject, claims)

    def auth_catalog(self, req: webob.Request) -> webob.Response:
        caller = self._caller(req)
        if caller.project_id is None:
            raise KeystoneError(
                403, "Forbidden", "A project-scoped token is required to produce a service catalog."
            )
        links = {"self": service_url(req, self.public_url) + "/v3/auth/catalog"}
        return json_response(200, {"catalog": self._catalog(req), "links": links})

    def not_found(self, req: webob.Request) -> webob.Response:
        return self.error(req, KeystoneError(404, "Not Found", "The resource could not be found."))

    def not_allowed(self, req: webob.Request) -> webob.Response:
        return self.error(
            req,
            KeystoneError(
                405, "Method Not Allowed", "The method is not allowed for the requested URL."
            ),
        )

    def error(self, req: webob.Request, error: KeystoneError) -> webob.Response:
        headers = {}
        if error.code == 401:
            headers["WWW-Authenticate"] = 'Keystone uri="%s"' % service_url(req, self.public_url)
        return json_response(error.code, error.body(), headers)

    def _caller(self, req: webob.Request) -> TokenClaims:
        claims = self.issuer.verify(req.headers.get("X-Auth-Token"))
        if claims is None or not self._still_valid(claims):
            raise unauthorized()
        return claims

    def _still_valid(self, claims: TokenClaims) -> bool:
        """A token whose user (or project) is gone from the world is no longer valid."""
        user = self.directory.user(id=claims.user_id)
        if user is None or not user.enabled:
            return False
        return claims.project_id is None or self.directory.project(id=claims.project_id) is not None

    def _token_response(
        self, req: webob.Request, status: int, token: str, claims: TokenClaims
    ) -> webob.Response:
        include_catalog = "nocatalog" not in req.GET and claims.scoped
        body = render_token(claims, self.directory, self._catalog(req) if include_catalog else None)
        return json_response(status, body, {"X-Subject-Token": token})

    def _catalog(self, req: webob.Request) -> list[dict[str, Any]]:
        urls = catalog.service_urls(root_url(req, self.public_url, MOUNT), self.outside_urls)
        return catalog.build_catalog(urls)

    def _v3(self, req: webob.Request) -> dict[str, Any]:
        href = service_url(req, self.public_url) + "/v3/"
        return {**V3, "links": [{"rel": "self", "href": href}]}


def render_token(
    claims: TokenClaims, directory: Directory, service_catalog: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """Keystone's token body (render_token_response_from_model) for the claims."""
    user = directory.user(id=claims.user_id)
    assert user is not None  # checked by the caller (_still_valid, or just authenticated)
    token: dict[str, Any] = {
        "methods": list(claims.methods),
        "user": {
            "domain": _domain_ref(directory, user.domain_id),
            "id": user.id,
            "name": user.name,
            "password_expires_at": None,
        },
        "audit_ids": list(claims.audit_ids),
        "expires_at": isotime(claims.expires_at),
        "issued_at": isotime(claims.issued_at),
    }
    token.update(_scope_part(claims, directory))
    if service_catalog is not None:
        token["catalog"] = service_catalog
    return {"token": token}


def _scope_part(claims: TokenClaims, directory: Directory) -> dict[str, Any]:
    """The project (or domain) the token is scoped to, and its roles; nothing if unscoped."""
    roles = [
        {"id": role.id, "name": role.name}
        for role in (directory.role(name) for name in claims.roles)
        if role
    ]
    if claims.project_id is not None:
        project = directory.project(id=claims.project_id)
        assert project is not None
        return {
            "project": {
                "domain": _domain_ref(directory, project.domain_id),
                "id": project.id,
                "name": project.name,
            },
            "is_domain": False,
            "roles": roles,
        }
    if claims.domain_id is not None:
        return {"domain": _domain_ref(directory, claims.domain_id), "roles": roles}
    return {}


def _domain_ref(directory: Directory, domain_id: str) -> dict[str, str]:
    domain = directory.domain(id=domain_id)
    return {"id": domain_id, "name": domain.name if domain else domain_id}


def isotime(timestamp: float) -> str:
    """Keystone's token times: UTC, microseconds, a trailing Z."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_body(req: webob.Request) -> Any:
    """The body as JSON; like Keystone (``get_json(silent=True) or {}``), anything else is an
    empty object, refused then for what it lacks."""
    try:
        body = json.loads(req.body or b"null") or {}
    except (ValueError, UnicodeDecodeError):
        return {}
    tracing.remember_body(body)  # passwords and tokens are redacted from spans and logs
    return body
