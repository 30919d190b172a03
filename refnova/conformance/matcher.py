"""The matcher: an expected JSON value (with markers) against an actual one.

Markers in expected values: ``<any>`` (present, any value), ``<string>``, ``<uuid>``
(canonical lower-case), ``<absent>`` (the key or header must not be there) and
``<re:REGEX>`` (``re.fullmatch``). Expected objects match as subsets unless ``exact``;
lists match element by element and must have the same length; scalars by JSON type and
value.

The matcher works on plain JSON values and needs nothing from the application.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only a type: http imports the fixture modules, which import this one
    from refnova.conformance.http import HttpResponse

ANY = "<any>"
STRING = "<string>"
UUID = "<uuid>"
ABSENT = "<absent>"
RE_PREFIX = "<re:"
SIMPLE_MARKERS = frozenset({ANY, STRING, UUID, ABSENT})


def is_marker(value: Any) -> bool:
    """Whether an expected value is a marker rather than a literal."""
    return isinstance(value, str) and (value in SIMPLE_MARKERS or is_regex_marker(value))


def is_regex_marker(value: str) -> bool:
    return value.startswith(RE_PREFIX) and value.endswith(">")


def regex_of(marker: str) -> str:
    """The pattern of a ``<re:REGEX>`` marker."""
    return marker[len(RE_PREFIX) : -1]


def is_canonical_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def match(expected: Any, actual: Any, exact: bool = False, where: str = "$") -> list[str]:
    """How ``actual`` differs from ``expected`` (empty if it matches)."""
    if is_marker(expected):
        return _match_marker(expected, actual, where)
    if isinstance(expected, dict):
        return _match_object(expected, actual, exact, where)
    if isinstance(expected, list):
        return _match_list(expected, actual, exact, where)
    return _match_scalar(expected, actual, where)


def _match_marker(marker: str, actual: Any, where: str) -> list[str]:
    if marker == ANY:
        return []
    if marker == ABSENT:
        return [f"{where}: '<absent>' can only stand for a key or a header"]
    if marker == STRING:
        ok = isinstance(actual, str)
    elif marker == UUID:
        ok = is_canonical_uuid(actual)
    else:
        ok = _regex_matches(regex_of(marker), actual)
    return [] if ok else [f"{where}: expected {marker}, got {show(actual)}"]


def _regex_matches(pattern: str, actual: Any) -> bool:
    if not isinstance(actual, str):
        return False
    try:
        return re.fullmatch(pattern, actual) is not None
    except re.error:  # a bad pattern is a mismatch, not a crash of the run
        return False


def _match_object(expected: Mapping[str, Any], actual: Any, exact: bool, where: str) -> list[str]:
    if not isinstance(actual, dict):
        return [f"{where}: expected an object, got {show(actual)}"]
    problems = []
    for key, wanted in expected.items():
        problems += _match_member(key, wanted, actual, exact, f"{where}.{key}")
    if exact:
        extra = sorted(set(actual) - set(expected))
        if extra:
            problems.append(f"{where}: unexpected keys {extra}")
    return problems


def _match_member(
    key: str, wanted: Any, actual: Mapping[str, Any], exact: bool, where: str
) -> list[str]:
    if wanted == ABSENT:
        return [f"{where}: must be absent, got {show(actual[key])}"] if key in actual else []
    if key not in actual:
        return [f"{where}: missing"]
    return match(wanted, actual[key], exact, where)


def _match_list(expected: list[Any], actual: Any, exact: bool, where: str) -> list[str]:
    if not isinstance(actual, list):
        return [f"{where}: expected an array, got {show(actual)}"]
    if len(expected) != len(actual):
        return [f"{where}: expected {len(expected)} items, got {len(actual)}: {show(actual)}"]
    problems = []
    for index, (wanted, item) in enumerate(zip(expected, actual, strict=True)):
        problems += match(wanted, item, exact, f"{where}[{index}]")
    return problems


def _match_scalar(expected: Any, actual: Any, where: str) -> list[str]:
    if _json_type(expected) == _json_type(actual) and expected == actual:
        return []
    return [f"{where}: expected {show(expected)}, got {show(actual)}"]


def _json_type(value: Any) -> str:
    if isinstance(value, bool):  # before int: JSON's true is no 1
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


def show(value: Any, limit: int = 200) -> str:
    """A value as JSON (or repr), cut at ``limit`` characters, for messages."""
    text = json.dumps(value, ensure_ascii=False) if _is_json(value) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def match_headers(expected: Mapping[str, str], actual: Mapping[str, str]) -> list[str]:
    """Expected headers against ``actual`` (lower-cased names, see HttpResponse.header_map)."""
    problems = []
    for name, wanted in expected.items():
        key, where = name.lower(), f"header {name}"
        if wanted == ABSENT:
            if key in actual:
                problems.append(f"{where}: must be absent, got {actual[key]!r}")
        elif key not in actual:
            problems.append(f"{where}: missing")
        else:
            problems += match(wanted, actual[key], where=where)
    return problems


def check_response(expect: Mapping[str, Any], response: HttpResponse) -> list[str]:
    """Every way in which ``response`` misses ``expect`` (placeholders already expanded)."""
    problems = []
    if response.status != expect["status"]:
        problems.append(f"status: expected {expect['status']}, got {response.status}")
    problems += match_headers(expect.get("headers", {}), response.header_map())
    if "body" in expect:
        problems += _check_body(expect["body"], expect.get("exact_body", False), response)
    for snippet in expect.get("text_contains", []):
        if snippet not in response.text:
            problems.append(f"text: {snippet!r} not found in {show(response.text)}")
    return problems


def _check_body(expected: Any, exact: bool, response: HttpResponse) -> list[str]:
    try:
        actual = json.loads(response.body)
    except ValueError:
        return [f"body: not JSON: {show(response.text)}"]
    return match(expected, actual, exact, where="body")
