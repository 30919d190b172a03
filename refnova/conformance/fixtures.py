"""Golden fixtures: their files, their format, and the spec row each pins.

A fixture (``fixtures/v2/*.json``, ``fixtures/v2.1/*.json``) is one request and the
response the reference contract gives to it. Its format (``fixtures/schema.json``)::

    {"name": "C3: name key absent",
     "source": "icehouse-create-path.md §2.3 C3",     # last token: the spec row ID
     "nova_status": 500,                              # optional: what Nova itself answered
     "world": {...},                                  # optional: overrides merged into world.json
     "oracle": {...},                                 # optional (/v2.1): how the real Nova was
                                                      # asked (tools/oracle_check.py)
     "request": {"method": "POST", "path": "/v2/{project_id}/servers",
                 "headers": {...},                    # merged over DEFAULT_HEADERS, null removes
                 "body": {...} | "body_text": "..." | "body_text_repeat": ["a", 114689]},
     "expect": {"status": 400, "headers": {...}, "body": {...},
                "exact_body": true, "text_contains": ["..."]},
     "trace": "traces/x.json"}                        # optional

Placeholders and ``$repeat`` generators: see ``refnova.conformance.placeholders``; markers
in expected values: see ``refnova.conformance.matcher``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from refnova.conformance.matcher import ABSENT, RE_PREFIX, SIMPLE_MARKERS, regex_of

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ("v2", "v2.1")
REPEAT_KEY = "$repeat"

TOP_LEVEL_KEYS = frozenset({"name", "source", "nova_status", "world", "oracle", "request",
                            "expect", "trace"})
REQUEST_KEYS = frozenset({"method", "path", "headers", "body", "body_text", "body_text_repeat"})
BODY_KEYS = ("body", "body_text", "body_text_repeat")
EXPECT_KEYS = frozenset({"status", "headers", "body", "exact_body", "text_contains"})

# The last token of "source": a spec row ID (F1, C7b, A14d, V3...), or §3 for a success shape.
# /v2.1 rows (docs/v2.1-create-contract.md): J schema, K controller, X exception table,
# M microversions and media, R responses.
ROW_ID_RE = re.compile(r"[FPCAVJKMRX]\d+[a-z]?|§3")
# Something that looks like a marker but is none of ours (a typo such as "<uid>").
MARKER_LIKE_RE = re.compile(r"<[a-z]+(?::.*)?>", re.DOTALL)


class FixtureError(ValueError):
    """A fixture file that does not follow the format."""


@dataclass(frozen=True)
class Fixture:
    """One golden fixture, as loaded from its file (so ``data`` follows the format)."""

    path: Path
    data: Mapping[str, Any]

    @property
    def id(self) -> str:
        return self.path.stem

    @property
    def name(self) -> str:
        name: str = self.data["name"]
        return name

    @property
    def source(self) -> str:
        source: str = self.data["source"]
        return source

    @property
    def row_id(self) -> str:
        """The spec row this fixture pins: the last token of ``source``."""
        return self.source.split()[-1]

    @property
    def nova_status(self) -> int | None:
        return self.data.get("nova_status")

    @property
    def world(self) -> Mapping[str, Any] | None:
        return self.data.get("world")

    @property
    def needs_world(self) -> bool:
        return "world" in self.data

    @property
    def request(self) -> Mapping[str, Any]:
        request: Mapping[str, Any] = self.data["request"]
        return request

    @property
    def expect(self) -> Mapping[str, Any]:
        expect: Mapping[str, Any] = self.data["expect"]
        return expect


def default_fixture_dir(version: str = "v2") -> Path:
    """``fixtures/<version>`` of the source checkout."""
    return REPO_ROOT / "fixtures" / version


def contract_for_target(url: str | None) -> str:
    """The contract a target URL names: ``.../v2.1[/...]`` is today's, anything else /v2."""
    path = re.sub(r"^[a-z]+://[^/]*", "", (url or "").rstrip("/"))
    return "v2.1" if re.search(r"(^|/)v2\.1(/|$)", path) else "v2"


def fixture_paths(directory: Path | str) -> list[Path]:
    """The fixture files of a directory, sorted by file name."""
    return sorted(Path(directory).glob("*.json"))


def load_fixture(path: Path | str) -> Fixture:
    """Read one fixture file; raise FixtureError if it breaks the format."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise FixtureError(f"{path.name}: not valid JSON: {exc}") from exc
    problems = check_fixture(data)
    if problems:
        raise FixtureError(f"{path.name}: " + "; ".join(problems))
    return Fixture(path=path, data=data)


def load_fixtures(directory: Path | str) -> list[Fixture]:
    """Every fixture of a directory, in file-name order."""
    return [load_fixture(path) for path in fixture_paths(directory)]


def check_fixture(data: Any) -> list[str]:
    """Every way in which ``data`` breaks the fixture format (empty if none)."""
    if not isinstance(data, dict):
        return ["a fixture must be a JSON object"]
    problems = [f"unknown key {key!r}" for key in sorted(set(data) - TOP_LEVEL_KEYS)]
    problems += [f"missing key {key!r}" for key in ("name", "source", "request", "expect")
                 if key not in data]
    problems += _check_source(data.get("source"))
    if "nova_status" in data and not is_int(data["nova_status"]):
        problems.append("nova_status must be an integer")
    if "world" in data and not isinstance(data["world"], dict):
        problems.append("world must be an object")
    if "oracle" in data and not isinstance(data["oracle"], dict):
        problems.append("oracle must be an object")
    if isinstance(data.get("request"), dict):
        problems += _check_request(data["request"])
    elif "request" in data:
        problems.append("request must be an object")
    if isinstance(data.get("expect"), dict):
        problems += _check_expect(data["expect"])
    elif "expect" in data:
        problems.append("expect must be an object")
    return problems


def _check_source(source: Any) -> list[str]:
    if not isinstance(source, str) or not source.split():
        return ["source must be a non-empty string"]
    if not ROW_ID_RE.fullmatch(source.split()[-1]):
        return [f"source must end with a spec row ID, not {source.split()[-1]!r}"]
    return []


def _check_request(request: Mapping[str, Any]) -> list[str]:
    problems = [f"request: unknown key {key!r}" for key in sorted(set(request) - REQUEST_KEYS)]
    if not isinstance(request.get("method"), str):
        problems.append("request.method must be a string")
    if not isinstance(request.get("path"), str) or not request.get("path", "").startswith("/"):
        problems.append("request.path must be a string starting with '/'")
    headers = request.get("headers", {})
    if not isinstance(headers, dict) or not all(
            value is None or isinstance(value, str) for value in headers.values()):
        problems.append("request.headers must map names to strings or null")
    bodies = [key for key in BODY_KEYS if key in request]
    if len(bodies) > 1:
        problems.append(f"request has more than one of {bodies}")
    if "body_text" in request and not isinstance(request["body_text"], str):
        problems.append("request.body_text must be a string")
    if "body_text_repeat" in request and not is_repeat_args(request["body_text_repeat"]):
        problems.append("request.body_text_repeat must be [string, count]")
    if "body" in request:
        problems += _check_generators(request["body"], "request.body")
    return problems


def _check_generators(value: Any, where: str) -> list[str]:
    if isinstance(value, dict):
        if REPEAT_KEY in value:
            if set(value) != {REPEAT_KEY} or not is_repeat_args(value[REPEAT_KEY]):
                return [f"{where}: a $repeat object must be exactly "
                        "{\"$repeat\": [string, count]}"]
            return []
        return [problem for key, item in value.items()
                for problem in _check_generators(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [problem for index, item in enumerate(value)
                for problem in _check_generators(item, f"{where}[{index}]")]
    return []


def _check_expect(expect: Mapping[str, Any]) -> list[str]:
    problems = [f"expect: unknown key {key!r}" for key in sorted(set(expect) - EXPECT_KEYS)]
    if not is_int(expect.get("status")):
        problems.append("expect.status must be an integer")
    if "exact_body" in expect and not isinstance(expect["exact_body"], bool):
        problems.append("expect.exact_body must be a boolean")
    if "exact_body" in expect and "body" not in expect:
        problems.append("expect.exact_body without expect.body")
    contains = expect.get("text_contains", [])
    if not isinstance(contains, list) or not all(isinstance(item, str) for item in contains):
        problems.append("expect.text_contains must be a list of strings")
    headers = expect.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        problems.append("expect.headers must map names to strings")
    problems += _check_markers(headers, "expect.headers")
    problems += _check_markers(expect.get("body"), "expect.body")
    return problems


def _check_markers(value: Any, where: str) -> list[str]:
    if isinstance(value, dict):
        return [problem for key, item in value.items()
                for problem in _check_markers(item, f"{where}.{key}")]
    if isinstance(value, list):
        problems = [f"{where}[{index}]: <absent> can only stand for a key"
                    for index, item in enumerate(value) if item == ABSENT]
        return problems + [problem for index, item in enumerate(value)
                           for problem in _check_markers(item, f"{where}[{index}]")]
    if not isinstance(value, str):
        return []
    if value.startswith(RE_PREFIX) and value.endswith(">"):
        try:
            re.compile(regex_of(value))
        except re.error as exc:
            return [f"{where}: bad regular expression: {exc}"]
        return []
    if MARKER_LIKE_RE.fullmatch(value) and value not in SIMPLE_MARKERS:
        return [f"{where}: unknown marker {value!r}"]
    return []


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_repeat_args(args: Any) -> bool:
    return (isinstance(args, list) and len(args) == 2 and isinstance(args[0], str)
            and is_int(args[1]) and args[1] >= 0)
