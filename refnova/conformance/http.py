"""A fixture's request as it goes on the wire, and the response that comes back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from refnova.conformance.fixtures import Fixture
from refnova.conformance.placeholders import expand, expand_text, generate

DEFAULT_HEADERS = MappingProxyType(
    {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-Auth-Token": "{user_id}:{project_id}",
    }
)


@dataclass(frozen=True)
class HttpRequest:
    """A fixture's request with placeholders expanded and the body encoded."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    removed: tuple[str, ...]  # default headers the fixture removed (null)
    body: bytes

    def header_dict(self) -> dict[str, str]:
        return dict(self.headers)


@dataclass(frozen=True)
class HttpResponse:
    """What came back: the status, the headers as sent, the raw body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header_map(self) -> dict[str, str]:
        """Lower-cased names; repeated headers joined with ', '."""
        joined: dict[str, str] = {}
        for name, value in self.headers:
            key = name.lower()
            joined[key] = f"{joined[key]}, {value}" if key in joined else value
        return joined

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


MICROVERSION_HEADER = "OpenStack-API-Version"
LEGACY_MICROVERSION_HEADER = "X-OpenStack-Nova-API-Version"


def build_request(fixture: Fixture, values: Mapping[str, str]) -> HttpRequest:
    """The fixture's request with ``values`` in its placeholders, ready to send; at the
    fixture's ``microversion`` unless its headers name a version themselves."""
    return request_from_spec(with_microversion(fixture.request, fixture.microversion), values)


def with_microversion(spec: Mapping[str, Any], microversion: str | None) -> Mapping[str, Any]:
    """A request spec that asks for ``microversion`` (unchanged when None or already asked)."""
    headers = {name.lower() for name in spec.get("headers", {})}
    if microversion is None or headers & {
        MICROVERSION_HEADER.lower(),
        LEGACY_MICROVERSION_HEADER.lower(),
    }:
        return spec
    return {
        **spec,
        "headers": {MICROVERSION_HEADER: "compute " + microversion, **spec.get("headers", {})},
    }


def request_from_spec(spec: Mapping[str, Any], values: Mapping[str, str]) -> HttpRequest:
    """A request of the format (the fixture's, a setup step's, an undo), ready to send."""
    headers, removed = merge_headers(DEFAULT_HEADERS, spec.get("headers", {}))
    return HttpRequest(
        method=spec["method"].upper(),
        path=expand_text(spec["path"], values),
        headers=tuple((name, expand_text(value, values)) for name, value in headers.items()),
        removed=removed,
        body=encode_body(spec, values),
    )


def merge_headers(
    defaults: Mapping[str, str], overrides: Mapping[str, str | None]
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Overrides over defaults, names compared case-insensitively; null removes a header."""
    merged = {name.lower(): (name, value) for name, value in defaults.items()}
    removed = []
    for name, value in overrides.items():
        if value is None:
            merged.pop(name.lower(), None)
            removed.append(name)
        else:
            merged[name.lower()] = (name, value)
    return dict(merged.values()), tuple(removed)


def encode_body(spec: Mapping[str, Any], values: Mapping[str, str]) -> bytes:
    """The request body's bytes: JSON (expanded, then generated), or raw text."""
    if "body" in spec:
        body = generate(expand(spec["body"], values))
        return json.dumps(body, ensure_ascii=False).encode("utf-8")
    if "body_text" in spec:
        return expand_text(spec["body_text"], values).encode("utf-8")
    if "body_text_repeat" in spec:
        text, count = spec["body_text_repeat"]
        return str(text * count).encode("utf-8")
    return b""


def json_or_none(body: bytes) -> Any:
    """The body as JSON, or None when it is not JSON."""
    try:
        return json.loads(body)
    except ValueError:
        return None
