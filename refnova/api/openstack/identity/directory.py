"""Who exists: the world's domains, projects, roles, users and their role assignments.

Read from ``fixtures/world.json`` (``domains``, ``projects``, ``roles``, ``users``) and never
changed: the built-in identity service has no write API. Roles imply others as devstack's
bootstrap makes them (admin implies member, member implies reader), and a token lists the
implied roles too, as Keystone's does.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Mapping
from typing import Any

DEFAULT_DOMAIN = {"id": "default", "name": "Default"}


@dataclasses.dataclass(frozen=True)
class Domain:
    id: str
    name: str


@dataclasses.dataclass(frozen=True)
class Project:
    id: str
    name: str
    domain_id: str


@dataclasses.dataclass(frozen=True)
class Role:
    id: str
    name: str
    implies: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Assignment:
    """A role on a project, or on a domain (exactly one of the two is set)."""

    role: str
    project_id: str | None = None
    domain_id: str | None = None


@dataclasses.dataclass(frozen=True)
class User:
    id: str
    name: str
    domain_id: str
    password: str = dataclasses.field(repr=False)
    enabled: bool = True
    assignments: tuple[Assignment, ...] = ()


class Directory:
    """Lookups over the world's identity objects; names are unique within a domain."""

    def __init__(self, world: Mapping[str, Any]) -> None:
        self.domains = [Domain(d["id"], d["name"]) for d in world.get("domains", [DEFAULT_DOMAIN])]
        self.projects = [
            Project(p["id"], p["name"], p.get("domain_id", "default"))
            for p in world.get("projects", [])
        ]
        self.roles = [
            Role(r["id"], r["name"], tuple(r.get("implies", ()))) for r in world.get("roles", [])
        ]
        self.users = [_user(u) for u in world.get("users", [])]

    def domain(self, id: str | None = None, name: str | None = None) -> Domain | None:
        return next((d for d in self.domains if _matches(d, id, name)), None)

    def project(
        self, id: str | None = None, name: str | None = None, domain_id: str | None = None
    ) -> Project | None:
        return next(
            (
                p
                for p in self.projects
                if _matches(p, id, name) and (id is not None or p.domain_id == domain_id)
            ),
            None,
        )

    def user(
        self, id: str | None = None, name: str | None = None, domain_id: str | None = None
    ) -> User | None:
        return next(
            (
                u
                for u in self.users
                if _matches(u, id, name) and (id is not None or u.domain_id == domain_id)
            ),
            None,
        )

    def role(self, name: str) -> Role | None:
        return next((r for r in self.roles if r.name == name), None)

    def roles_on(
        self, user: User, project_id: str | None = None, domain_id: str | None = None
    ) -> list[Role]:
        """The user's effective roles on a project or a domain, implied roles included."""
        names = [
            a.role
            for a in user.assignments
            if (project_id is not None and a.project_id == project_id)
            or (domain_id is not None and a.domain_id == domain_id)
        ]
        return [role for role in (self.role(name) for name in self._implied(names)) if role]

    def _implied(self, names: list[str]) -> list[str]:
        found: list[str] = []
        pending = list(names)
        while pending:
            name = pending.pop(0)
            if name in found:
                continue
            found.append(name)
            role = self.role(name)
            pending.extend(role.implies if role else ())
        return found


def check_password(user: User, password: Any) -> bool:
    """Constant-time comparison, so that the answer's timing says nothing of the password."""
    if not isinstance(password, str):
        return False
    return hmac.compare_digest(user.password.encode("utf-8"), password.encode("utf-8"))


def _matches(obj: Domain | Project | User, id: str | None, name: str | None) -> bool:
    if id is not None:
        return obj.id == id
    return name is not None and obj.name == name


def _user(spec: Mapping[str, Any]) -> User:
    assignments = tuple(
        Assignment(a["role"], a.get("project_id"), a.get("domain_id"))
        for a in spec.get("roles", [])
    )
    return User(
        spec["id"],
        spec["name"],
        spec.get("domain_id", "default"),
        spec["password"],
        bool(spec.get("enabled", True)),
        assignments,
    )
