"""How the resources around create (flavors, key pairs, limits, quota sets, images, zones)
change with the microversion, as data.

A resource's controller keeps one table of ``(since, change)`` rows, as ``server_views``
does for a server: a request gets the rows its version reaches, in order. /v2 requests
have no version and reach none. A resource's query string is checked by a table of
``QueryRule`` rows: from its version on, a parameter the rule does not know is a 400 with
jsonschema's text (Nova's query schemas with ``additionalProperties: False``, from 2.75 for
most resources and from 2.102 for all).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

import webob

from refnova.api.openstack import microversions
from refnova.api.openstack.microversions import APIVersion
from refnova.exception import ApiError

T = TypeVar("T")
PAGINATION = frozenset({"limit", "marker"})


def version_of(req: webob.Request) -> APIVersion | None:
    """The request's microversion (None: /v2, which has none)."""
    version = req.environ.get(microversions.ENVIRON_KEY)
    return version if isinstance(version, APIVersion) else None


def reaches(req: webob.Request, since: str) -> bool:
    """Nova's ``api_version_request.is_supported(req, since)``; False on /v2."""
    version = version_of(req)
    return version is not None and version >= APIVersion.parse(since)


@dataclass(frozen=True)
class Row(Generic[T]):
    since: APIVersion
    change: T


def rows(table: Iterable[tuple[str, T]]) -> tuple[Row[T], ...]:
    return tuple(Row(APIVersion.parse(since), change) for since, change in table)


def rows_at(req: webob.Request, table: tuple[Row[T], ...]) -> tuple[T, ...]:
    """The changes of the rows the request's version reaches, in the table's order."""
    version = version_of(req)
    if version is None:
        return ()
    return tuple(row.change for row in table if row.since <= version)


@dataclass(frozen=True)
class QueryRule:
    """From ``since`` on, the query parameters a route knows; ``strict``: the others are a
    400 (else Nova strips them before the controller sees them)."""

    since: APIVersion
    known: frozenset[str]
    strict: bool
    allowed_prefix: str | None = None  # the schema's patternProperties ("^_": "_")


def query_rules(
    *table: tuple[str, Iterable[str], bool], allowed_prefix: str | None = None
) -> tuple[QueryRule, ...]:
    return tuple(
        QueryRule(APIVersion.parse(since), frozenset(known), strict, allowed_prefix)
        for since, known, strict in table
    )


def kept_params(req: webob.Request, rules: tuple[QueryRule, ...]) -> list[tuple[str, str]]:
    """The request's parameters Nova keeps after its query schema (all of them on /v2, or
    when no rule applies): the known ones, and those its ``patternProperties`` let through."""
    rule = _rule_at(version_of(req), rules)
    return [
        (name, value)
        for name, value in req.GET.items()
        if rule is None
        or name in rule.known
        or (rule.allowed_prefix is not None and name.startswith(rule.allowed_prefix))
    ]


def check_query(req: webob.Request, rules: tuple[QueryRule, ...]) -> None:
    """ApiError(400) for a parameter a strict rule of the request's version does not know."""
    rule = _rule_at(version_of(req), rules)
    if rule is None or not rule.strict:
        return
    unknown = sorted(name for name in set(req.GET.keys()) if name not in rule.known)
    if unknown and rule.allowed_prefix is not None:
        unknown = [name for name in unknown if not name.startswith(rule.allowed_prefix)]
        if unknown:  # jsonschema's text when the schema has patternProperties
            verb = "does" if len(unknown) == 1 else "do"
            raise ApiError(
                400,
                "%s %s not match any of the regexes: '^%s'"
                % (", ".join(repr(name) for name in unknown), verb, rule.allowed_prefix),
            )
    if unknown:
        verb = "was" if len(unknown) == 1 else "were"
        raise ApiError(
            400,
            "Additional properties are not allowed (%s %s unexpected)"
            % (", ".join(repr(name) for name in unknown), verb),
        )


def _rule_at(version: APIVersion | None, rules: tuple[QueryRule, ...]) -> QueryRule | None:
    if version is None:
        return None
    reached = [rule for rule in rules if rule.since <= version]
    return reached[-1] if reached else None
