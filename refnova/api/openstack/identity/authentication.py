"""``POST /v3/auth/tokens``: from Keystone's auth request to the new token's claims.

The ``password`` method (a user by id, or by name and domain) and the ``token`` method; a
project scope, a domain scope, or none (an unscoped token). As Keystone: every method must
name the same user; bad credentials, an unknown or unreachable scope and a scope the user
has no role on are all the same 401, so that nothing tells which one it was; a token that
does not verify is 404; a token method keeps the old token's expiry and its audit chain.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from refnova.api.openstack.identity.directory import (
    Directory,
    Domain,
    Project,
    User,
    check_password,
)
from refnova.api.openstack.identity.tokens import TokenClaims, TokenIssuer, new_audit_id

METHODS = ("password", "token")
UNAUTHORIZED = "The request you have made requires authentication."
VALIDATION = (
    "Expecting to find %s in %s. The server could not comply with the request since "
    "it is either malformed or otherwise incorrect. The client is assumed to be in "
    "error."
)


class KeystoneError(Exception):
    """An error answer in Keystone's form: ``{"error": {"code", "title", "message"}}``."""

    def __init__(
        self, code: int, title: str, message: str, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code, self.title, self.message = code, title, message
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {"code": self.code, "title": self.title, "message": self.message, **self.extra}
        }


def unauthorized() -> KeystoneError:
    # Keystone hides why (a SecurityError's message is never shown).
    return KeystoneError(401, "Unauthorized", UNAUTHORIZED)


def validation_error(attribute: str, target: str) -> KeystoneError:
    return KeystoneError(400, "Bad Request", VALIDATION % (attribute, target))


def token_not_found(token_id: str | None) -> KeystoneError:
    if not token_id:
        return KeystoneError(404, "Not Found", "No token in the request")
    return KeystoneError(404, "Not Found", "Could not find token: %s." % token_id)


@dataclasses.dataclass(frozen=True)
class Scope:
    project: Project | None = None
    domain: Domain | None = None


class CredentialChecker:
    """Turns an auth request into claims, with one directory and one token issuer."""

    def __init__(self, directory: Directory, issuer: TokenIssuer) -> None:
        self.directory = directory
        self.issuer = issuer

    def authenticate(self, auth: Any) -> TokenClaims:
        identity = _required_object(auth, "identity", "auth")
        methods = _methods(identity)
        user, parent = self._identify(identity, methods)
        scope = self._scope(auth.get("scope"))
        roles = self._roles(user, scope)
        now = self.issuer.now()
        audit_ids = (new_audit_id(),) + ((parent.audit_ids[-1],) if parent else ())
        return TokenClaims(
            user_id=user.id,
            user_name=user.name,
            methods=tuple(dict.fromkeys(methods + (parent.methods if parent else ()))),
            issued_at=now,
            expires_at=parent.expires_at if parent else now + self.issuer.ttl,
            audit_ids=audit_ids,
            roles=roles,
            project_id=scope.project.id if scope.project else None,
            project_name=scope.project.name if scope.project else None,
            domain_id=scope.domain.id if scope.domain else None,
        )

    def _identify(
        self, identity: Mapping[str, Any], methods: tuple[str, ...]
    ) -> tuple[User, TokenClaims | None]:
        """The one user every method names, and the token a token method presented."""
        users: list[User] = []
        parent = None
        if "password" in methods:
            users.append(self._password_user(_required_object(identity, "password", "identity")))
        if "token" in methods:
            parent = self._parent_token(_required_object(identity, "token", "identity"))
            user = self.directory.user(id=parent.user_id)
            if user is None:
                raise token_not_found(None)
            users.append(user)
        if len({user.id for user in users}) != 1 or not users[0].enabled:
            raise unauthorized()
        return users[0], parent

    def _password_user(self, password: Mapping[str, Any]) -> User:
        spec = _required_object(password, "user", "password")
        if "id" in spec:
            user = self.directory.user(id=spec["id"])
        else:
            name = _required_text(spec, "name", "user")
            domain = self._domain(_required_object(spec, "domain", "user"))
            user = self.directory.user(name=name, domain_id=domain.id)
        if user is None or not check_password(user, spec.get("password")):
            raise unauthorized()
        return user

    def _parent_token(self, token: Mapping[str, Any]) -> TokenClaims:
        token_id = _required_text(token, "id", "token")
        claims = self.issuer.verify(token_id)
        if claims is None:
            raise token_not_found(token_id)
        return claims

    def _scope(self, scope: Any) -> Scope:
        if scope is None or scope == "unscoped":
            return Scope()
        if not isinstance(scope, Mapping) or not scope:
            raise validation_error("project or domain", "scope")
        if "project" in scope and "domain" in scope:
            raise KeystoneError(
                400, "Bad Request", "Scoping to both domain and project is not allowed"
            )
        if "project" in scope:
            return Scope(project=self._project(_required_object(scope, "project", "scope")))
        if "domain" in scope:
            return Scope(domain=self._domain(_required_object(scope, "domain", "scope")))
        raise unauthorized()  # system or trust scope: no user here has either

    def _project(self, spec: Mapping[str, Any]) -> Project:
        if "id" in spec:
            project = self.directory.project(id=spec["id"])
        else:
            name = _required_text(spec, "name", "project")
            domain = self._domain(_required_object(spec, "domain", "project"))
            project = self.directory.project(name=name, domain_id=domain.id)
        if project is None:
            raise unauthorized()
        return project

    def _domain(self, spec: Mapping[str, Any]) -> Domain:
        if not ("id" in spec or "name" in spec):
            raise validation_error("id or name", "domain")
        domain = self.directory.domain(id=spec.get("id"), name=spec.get("name"))
        if domain is None:
            raise unauthorized()
        return domain

    def _roles(self, user: User, scope: Scope) -> tuple[str, ...]:
        if scope.project is None and scope.domain is None:
            return ()
        roles = self.directory.roles_on(
            user,
            project_id=scope.project.id if scope.project else None,
            domain_id=scope.domain.id if scope.domain else None,
        )
        if not roles:
            raise unauthorized()  # "User has no access to project"
        return tuple(role.name for role in roles)


def _methods(identity: Mapping[str, Any]) -> tuple[str, ...]:
    methods = _required(identity, "methods", "identity")
    if not isinstance(methods, list) or not methods:
        raise validation_error("methods", "identity")
    if any(method not in METHODS for method in methods):
        raise KeystoneError(
            401,
            "Unauthorized",
            "Attempted to authenticate with an unsupported method.",
            {"identity": {"methods": list(METHODS)}},
        )
    return tuple(dict.fromkeys(methods))


def _required(container: Any, key: str, target: str) -> Any:
    if not isinstance(container, Mapping) or container.get(key) is None:
        raise validation_error(key, target)
    return container[key]


def _required_object(container: Any, key: str, target: str) -> Mapping[str, Any]:
    value = _required(container, key, target)
    if not isinstance(value, Mapping):
        raise validation_error(key, target)
    return value


def _required_text(container: Any, key: str, target: str) -> str:
    value = _required(container, key, target)
    if not isinstance(value, str):
        raise validation_error(key, target)
    return value
