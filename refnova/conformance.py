"""Golden-fixture conformance: load fixtures, build their requests, match the responses.

A fixture (``fixtures/v2/*.json``, ``fixtures/v2.1/*.json``) is one request and the
response the reference contract gives to it. The format (see DESIGN.md, "Fixtures")::

    {"name": "C3: name key absent",
     "source": "icehouse-create-path.md §2.3 C3",     # last token: the spec row ID
     "nova_status": 500,                              # optional: what Icehouse itself answered
     "world": {...},                                  # optional: overrides merged into world.json
     "oracle": {...},                                 # optional (/v2.1): how the real Nova was
                                                      # asked (tools/oracle_check.py)
     "request": {"method": "POST", "path": "/v2/{project_id}/servers",
                 "headers": {...},                    # merged over DEFAULT_HEADERS, null removes
                 "body": {...} | "body_text": "..." | "body_text_repeat": ["a", 114689]},
     "expect": {"status": 400, "headers": {...}, "body": {...},
                "exact_body": true, "text_contains": ["..."]},
     "trace": "traces/x.json"}                        # optional

Placeholders ``{project_id}``, ``{user_id}``, ``{image_id}``, ``{flavor_id}`` and
``{network_id}`` are replaced (plain string replacement) in the path, header values,
body strings and expected strings. ``{"$repeat": ["QUFB", 16384]}`` anywhere in a request
body becomes ``"QUFB" * 16384``.

Markers in expected values: ``<any>`` (present, any value), ``<string>``, ``<uuid>``
(canonical lower-case), ``<absent>`` (the key or header must not be there) and
``<re:REGEX>`` (``re.fullmatch``). Expected objects match as subsets unless
``exact_body``; lists match element by element and must have the same length.

The matcher works on plain JSON values and needs nothing from the application. The
runners send a fixture to an in-process WSGI app (a fresh ``refnova.service.Deployment``
by default) or to a live endpoint over HTTP with ``requests``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, Sequence

PLACEHOLDER_NAMES = ("project_id", "user_id", "image_id", "flavor_id", "network_id")

DEFAULT_HEADERS = MappingProxyType({
    "Content-Type": "application/json",
    "Accept": "application/json",
    "X-Auth-Token": "{user_id}:{project_id}",
})

ANY = "<any>"
STRING = "<string>"
UUID = "<uuid>"
ABSENT = "<absent>"
RE_PREFIX = "<re:"
SIMPLE_MARKERS = frozenset({ANY, STRING, UUID, ABSENT})

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

PASS = "pass"
FAIL = "fail"
NOVA = "nova"      # the answer Icehouse itself gave (fixture "nova_status"), not refnova's
SKIP = "skip"

REPO_ROOT = Path(__file__).resolve().parent.parent


class FixtureError(ValueError):
    """A fixture file that does not follow the format."""


# --------------------------------------------------------------------------- fixtures

@dataclass(frozen=True)
class Fixture:
    """One golden fixture, as loaded from its file."""

    path: Path
    data: Mapping[str, Any]

    @property
    def id(self) -> str:
        return self.path.stem

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def source(self) -> str:
        return self.data["source"]

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
        return self.data["request"]

    @property
    def expect(self) -> Mapping[str, Any]:
        return self.data["expect"]


def default_fixture_dir(version: str = "v2") -> Path:
    """``fixtures/<version>`` of the source checkout."""
    return REPO_ROOT / "fixtures" / version


CONTRACTS = ("v2", "v2.1")


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
    return [load_fixture(path) for path in fixture_paths(directory)]


def check_fixture(data: Any) -> list[str]:
    """Every way in which ``data`` breaks the fixture format (empty if none)."""
    if not isinstance(data, dict):
        return ["a fixture must be a JSON object"]
    problems = [f"unknown key {key!r}" for key in sorted(set(data) - TOP_LEVEL_KEYS)]
    problems += [f"missing key {key!r}" for key in ("name", "source", "request", "expect")
                 if key not in data]
    problems += _check_source(data.get("source"))
    if "nova_status" in data and not _is_int(data["nova_status"]):
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
    if "body_text_repeat" in request and not _is_repeat_args(request["body_text_repeat"]):
        problems.append("request.body_text_repeat must be [string, count]")
    if "body" in request:
        problems += _check_generators(request["body"], "request.body")
    return problems


def _check_generators(value: Any, where: str) -> list[str]:
    if isinstance(value, dict):
        if REPEAT_KEY in value:
            if set(value) != {REPEAT_KEY} or not _is_repeat_args(value[REPEAT_KEY]):
                return [f"{where}: a $repeat object must be exactly {{\"$repeat\": [string, count]}}"]
            return []
        return [problem for key, item in value.items()
                for problem in _check_generators(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [problem for index, item in enumerate(value)
                for problem in _check_generators(item, f"{where}[{index}]")]
    return []


def _check_expect(expect: Mapping[str, Any]) -> list[str]:
    problems = [f"expect: unknown key {key!r}" for key in sorted(set(expect) - EXPECT_KEYS)]
    if not _is_int(expect.get("status")):
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
            re.compile(value[len(RE_PREFIX):-1])
        except re.error as exc:
            return [f"{where}: bad regular expression: {exc}"]
        return []
    if MARKER_LIKE_RE.fullmatch(value) and value not in SIMPLE_MARKERS:
        return [f"{where}: unknown marker {value!r}"]
    return []


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_repeat_args(args: Any) -> bool:
    return (isinstance(args, list) and len(args) == 2 and isinstance(args[0], str)
            and _is_int(args[1]) and args[1] >= 0)


# --------------------------------------------------------------------------- expansion

def placeholder_values(world: Mapping[str, Any]) -> dict[str, str]:
    """The placeholder values a world defines (its ``defaults``)."""
    return {name: str(value) for name, value in world.get("defaults", {}).items()}


def expand(value: Any, values: Mapping[str, str]) -> Any:
    """Replace ``{name}`` placeholders in every string (keys included) of a JSON value."""
    if isinstance(value, str):
        return _expand_text(value, values)
    if isinstance(value, list):
        return [expand(item, values) for item in value]
    if isinstance(value, dict):
        return {_expand_text(key, values): expand(item, values) for key, item in value.items()}
    return value


def _expand_text(text: str, values: Mapping[str, str]) -> str:
    for name, replacement in values.items():
        text = text.replace("{" + name + "}", str(replacement))
    return text


def generate(value: Any) -> Any:
    """Replace every ``{"$repeat": [text, count]}`` object with ``text * count``."""
    if isinstance(value, dict):
        if REPEAT_KEY in value:
            return _repeat(value)
        return {key: generate(item) for key, item in value.items()}
    if isinstance(value, list):
        return [generate(item) for item in value]
    return value


def _repeat(spec: Mapping[str, Any]) -> str:
    if set(spec) != {REPEAT_KEY} or not _is_repeat_args(spec[REPEAT_KEY]):
        raise FixtureError(f"bad generator {spec!r}: expected {{\"$repeat\": [string, count]}}")
    text, count = spec[REPEAT_KEY]
    return text * count


# --------------------------------------------------------------------------- requests

@dataclass(frozen=True)
class HttpRequest:
    """A fixture's request with placeholders expanded and the body encoded."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    removed: tuple[str, ...]          # default headers the fixture removed (null)
    body: bytes

    def header_dict(self) -> dict[str, str]:
        return dict(self.headers)


def build_request(fixture: Fixture, values: Mapping[str, str]) -> HttpRequest:
    spec = fixture.request
    headers, removed = merge_headers(DEFAULT_HEADERS, spec.get("headers", {}))
    return HttpRequest(
        method=spec["method"].upper(),
        path=_expand_text(spec["path"], values),
        headers=tuple((name, _expand_text(value, values)) for name, value in headers.items()),
        removed=removed,
        body=encode_body(spec, values),
    )


def merge_headers(defaults: Mapping[str, str], overrides: Mapping[str, str | None]
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
    if "body" in spec:
        return json.dumps(generate(expand(spec["body"], values)), ensure_ascii=False).encode("utf-8")
    if "body_text" in spec:
        return _expand_text(spec["body_text"], values).encode("utf-8")
    if "body_text_repeat" in spec:
        text, count = spec["body_text_repeat"]
        return (text * count).encode("utf-8")
    return b""


# --------------------------------------------------------------------------- responses

@dataclass(frozen=True)
class HttpResponse:
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


# --------------------------------------------------------------------------- matching

def is_marker(value: Any) -> bool:
    return isinstance(value, str) and (
        value in SIMPLE_MARKERS or (value.startswith(RE_PREFIX) and value.endswith(">")))


def is_canonical_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def match(expected: Any, actual: Any, exact: bool = False, where: str = "$") -> list[str]:
    """How ``actual`` differs from ``expected`` (empty if it matches).

    Objects match as subsets unless ``exact``; lists element by element with equal
    length; scalars by JSON type and value; marker strings as described in the module doc.
    """
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
        ok = _regex_matches(marker[len(RE_PREFIX):-1], actual)
    return [] if ok else [f"{where}: expected {marker}, got {_show(actual)}"]


def _regex_matches(pattern: str, actual: Any) -> bool:
    if not isinstance(actual, str):
        return False
    try:
        return re.fullmatch(pattern, actual) is not None
    except re.error:
        return False


def _match_object(expected: Mapping[str, Any], actual: Any, exact: bool, where: str) -> list[str]:
    if not isinstance(actual, dict):
        return [f"{where}: expected an object, got {_show(actual)}"]
    problems = []
    for key, wanted in expected.items():
        problems += _match_member(key, wanted, actual, exact, f"{where}.{key}")
    if exact:
        extra = sorted(set(actual) - set(expected))
        if extra:
            problems.append(f"{where}: unexpected keys {extra}")
    return problems


def _match_member(key: str, wanted: Any, actual: Mapping[str, Any], exact: bool,
                  where: str) -> list[str]:
    if wanted == ABSENT:
        return [f"{where}: must be absent, got {_show(actual[key])}"] if key in actual else []
    if key not in actual:
        return [f"{where}: missing"]
    return match(wanted, actual[key], exact, where)


def _match_list(expected: list, actual: Any, exact: bool, where: str) -> list[str]:
    if not isinstance(actual, list):
        return [f"{where}: expected an array, got {_show(actual)}"]
    if len(expected) != len(actual):
        return [f"{where}: expected {len(expected)} items, got {len(actual)}: {_show(actual)}"]
    problems = []
    for index, (wanted, item) in enumerate(zip(expected, actual)):
        problems += match(wanted, item, exact, f"{where}[{index}]")
    return problems


def _match_scalar(expected: Any, actual: Any, where: str) -> list[str]:
    if _json_type(expected) == _json_type(actual) and expected == actual:
        return []
    return [f"{where}: expected {_show(expected)}, got {_show(actual)}"]


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


def _show(value: Any, limit: int = 200) -> str:
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
            problems.append(f"text: {snippet!r} not found in {_show(response.text)}")
    return problems


def _check_body(expected: Any, exact: bool, response: HttpResponse) -> list[str]:
    try:
        actual = json.loads(response.body)
    except ValueError:
        return [f"body: not JSON: {_show(response.text)}"]
    return match(expected, actual, exact, where="body")


# --------------------------------------------------------------------------- results

@dataclass(frozen=True)
class Result:
    fixture: Fixture
    outcome: str                       # PASS, FAIL, NOVA or SKIP
    status: int | None = None
    mismatches: tuple[str, ...] = ()
    reason: str = ""
    got: str = ""                      # the answer, in one line: "400 badRequest: ..."
    notes: tuple[str, ...] = ()        # what else the run saw (nova_status, clean-up)

    @property
    def ok(self) -> bool:
        """Refnova's contract met exactly."""
        return self.outcome == PASS

    @property
    def passed(self) -> bool:
        """No departure from Nova: refnova's answer, or Icehouse's own where they differ."""
        return self.outcome in (PASS, NOVA)

    def describe(self) -> str:
        head = f"{self.outcome.upper():4} {self.fixture.id} ({self.fixture.name})"
        if self.status is not None:
            head += f" -> {self.status}"
        lines = [head]
        if self.reason:
            lines.append(f"     {self.reason}")
        lines += [f"     - {problem}" for problem in self.mismatches]
        lines += [f"     note: {note}" for note in self.notes]
        return "\n".join(lines)


def evaluate(fixture: Fixture, response: HttpResponse, values: Mapping[str, str]) -> Result:
    """Match a response against the fixture's expectation."""
    problems = check_response(expand(fixture.expect, values), response)
    got = answer_summary(response)
    if not problems:
        notes = ()
        if fixture.nova_status is not None:
            notes = (f"gave refnova's answer ({response.status}), not Icehouse's own "
                     f"({fixture.nova_status})",)
        return Result(fixture, PASS, response.status, got=got, notes=notes)
    if fixture.nova_status is not None and response.status == fixture.nova_status:
        reason = (f"answered {response.status} as Icehouse itself did; refnova's contract is "
                  f"{fixture.expect['status']}")
        return Result(fixture, NOVA, response.status, tuple(problems), reason, got=got)
    return Result(fixture, FAIL, response.status, tuple(problems), got=got)


def answer_summary(response: HttpResponse, limit: int = 160) -> str:
    """``400 badRequest: Invalid flavorRef provided.``, or the status and the start of the text."""
    return _answer_line(response.status, _json_or_none(response.body), response.text, limit)


def expected_summary(fixture: Fixture, values: Mapping[str, str], limit: int = 160) -> str:
    """The fixture's expected answer in the same one-line form as ``answer_summary``."""
    expect = expand(fixture.expect, values)
    text = " ".join(expect.get("text_contains", []))
    return _answer_line(expect["status"], expect.get("body"), text, limit)


def _answer_line(status: int, body: Any, text: str, limit: int) -> str:
    line = str(status)
    if isinstance(body, dict) and len(body) == 1:
        key, fault = next(iter(body.items()))
        if isinstance(fault, dict) and "message" in fault:
            line += f" {key}: {fault['message']}"
        else:
            line += f" {key}"
    elif text.strip():
        line += " " + " ".join(text.split())
    return line if len(line) <= limit else line[:limit] + "..."


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def counts(results: Sequence[Result]) -> dict[str, int]:
    """passed (refnova's answer or Icehouse's own), failed, skipped, and nova (of the passed)."""
    return {"passed": sum(1 for r in results if r.passed),
            "failed": sum(1 for r in results if r.outcome == FAIL),
            "skipped": sum(1 for r in results if r.outcome == SKIP),
            "nova": sum(1 for r in results if r.outcome == NOVA)}


def summary_line(results: Sequence[Result]) -> str:
    found = counts(results)
    return f"{found['passed']} passed, {found['failed']} failed, {found['skipped']} skipped"


def summarize(results: Sequence[Result]) -> str:
    """A report: one block per result that is not a plain pass, then the counts."""
    lines = [result.describe() for result in results if not result.ok or result.notes]
    nova = counts(results)["nova"]
    if nova:
        lines.append(f"{nova} of the passes gave Icehouse's own answer where refnova's differs "
                     "(nova_status)")
    lines.append(summary_line(results))
    return "\n".join(lines)


# --------------------------------------------------------------------------- in-process runner

def load_reference_world(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """world.json merged with ``overrides`` (refnova.world.load_world)."""
    from refnova.world import load_world
    return load_world(dict(overrides) if overrides is not None else None)


def reference_deployment(world: Mapping[str, Any]) -> Any:
    """A fresh in-process refnova: in-memory SQLite, kombu memory:// transport."""
    from refnova.config import Settings
    from refnova.service import Deployment
    return Deployment(Settings(db_url="sqlite://", transport_url="memory://"), world=world)


def run_in_process(fixture: Fixture,
                   deployment_factory: Callable[[Mapping[str, Any]], Any] | None = None,
                   world_loader: Callable[[Mapping[str, Any] | None], Mapping[str, Any]] | None = None,
                   ) -> Result:
    """Run one fixture against a fresh deployment (anything with ``.app`` and ``.close()``)."""
    world = (world_loader or load_reference_world)(fixture.world)
    values = placeholder_values(world)
    request = build_request(fixture, values)
    deployment = (deployment_factory or reference_deployment)(world)
    try:
        response = call_wsgi(deployment.app, request)
    finally:
        deployment.close()
    return evaluate(fixture, response, values)


def call_wsgi(app: Callable, request: HttpRequest) -> HttpResponse:
    import webob

    blank = webob.Request.blank(request.path, method=request.method,
                                headers=request.header_dict(), body=request.body)
    response = blank.get_response(app)
    return HttpResponse(response.status_int, tuple(response.headerlist), response.body)


# --------------------------------------------------------------------------- the reference world

# Where a fixture names an object of the reference world: (JSON path in the body, kind).
# "*" is every item of a list. The last '/' segment of refs (URLs) and the zone before ':'
# are what is looked up.
REFERENCE_FIELDS = (
    (("server", "imageRef"), "image"),
    (("server", "flavorRef"), "flavor"),
    (("server", "networks", "*", "uuid"), "network"),
    (("server", "networks", "*", "port"), "port"),
    (("server", "security_groups", "*", "name"), "security group"),
    (("server", "key_name"), "key pair"),
    (("server", "availability_zone"), "availability zone"),
    (("server", "block_device_mapping", "*", "volume_id"), "volume"),
    (("server", "block_device_mapping", "*", "snapshot_id"), "snapshot"),
    (("server", "block_device_mapping_v2", "*", "uuid"), "image"),
    (("server", "block_device_mapping_v2", "*", "uuid"), "volume"),
    (("os:scheduler_hints", "group"), "server group"),
    (("server", "scheduler_hints", "group"), "server group"),
)
# Names every Icehouse deployment has: not the reference world's own.
COMMON_NAMES = {"security group": {"default"}, "availability zone": {"nova"}}


def reference_objects(world: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """kind -> {id or name: description} for the objects of the reference world that a
    fixture may name literally (the placeholders' own objects excluded)."""
    defaults = set((world.get("defaults") or {}).values())
    objects: dict[str, dict[str, str]] = {}

    def add(kind: str, key: Any, text: str) -> None:
        if key is not None and str(key) not in defaults and str(key) not in COMMON_NAMES.get(kind, ()):
            objects.setdefault(kind, {})[str(key)] = text

    for image in world.get("images", []):
        add("image", image["id"], f"image {image['id']} ({image.get('name')}, "
                                  f"{image.get('status')}, {image.get('visibility', 'public')})")
    for flavor in world.get("flavors", []):
        add("flavor", flavor["flavorid"], f"flavor {flavor['flavorid']} ({flavor['name']})")
    for network in world.get("networks", []):
        add("network", network["id"], f"network {network['id']} ({network.get('name')})")
    for port in world.get("ports", []):
        state = "in use" if port.get("device_id") else "free"
        add("port", port["id"], f"port {port['id']} ({state})")
    for group in world.get("security_groups", []):
        add("security group", group["name"], f"security group {group['name']!r}")
    for keypair in world.get("keypairs", []):
        add("key pair", keypair["name"], f"key pair {keypair['name']!r} of user {keypair['user_id']}")
    zones = set(world.get("availability_zones", [])) | {
        host.get("availability_zone", "nova") for host in world.get("hosts", [])}
    for zone in sorted(zones):
        add("availability zone", zone, f"availability zone {zone!r}")
    for volume in world.get("volumes", []):
        add("volume", volume["id"], f"volume {volume['id']}")
    for snapshot in world.get("snapshots", []):
        add("snapshot", snapshot["id"], f"snapshot {snapshot['id']}")
    for group in world.get("server_groups", []):
        add("server group", group["uuid"], f"server group {group['uuid']}")
    return objects


def world_references(fixture: Fixture, world: Mapping[str, Any]) -> list[str]:
    """The objects of the reference world that the fixture's request names, described."""
    body = fixture.request.get("body")
    if not isinstance(body, dict):
        return []
    objects = reference_objects(world)
    found: list[str] = []
    for path, kind in REFERENCE_FIELDS:
        for value in _values_at(body, path):
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                continue
            text = str(value)
            key = text.split(":")[0] if kind == "availability zone" else text.rstrip("/").split("/")[-1]
            described = objects.get(kind, {}).get(key)
            if described and described not in found:
                found.append(described)
    return found


def _values_at(value: Any, path: Sequence[str]) -> list[Any]:
    if not path:
        return [value]
    head, rest = path[0], path[1:]
    if head == "*":
        return [found for item in value for found in _values_at(item, rest)] \
            if isinstance(value, list) else []
    if isinstance(value, dict) and head in value:
        return _values_at(value[head], rest)
    return []


# --------------------------------------------------------------------------- live runner

def live_values(given: Mapping[str, str] | None = None,
                world_loader: Callable[[Mapping[str, Any] | None], Mapping[str, Any]] | None = None,
                ) -> dict[str, str]:
    """Placeholder values for a live target: the reference world's, overridden by ``given``."""
    values = placeholder_values((world_loader or load_reference_world)(None))
    values.update({name: str(value) for name, value in (given or {}).items() if value is not None})
    return values


def target_root(url: str) -> str:
    """The endpoint's root: ``http://h:8774/v2/<project>`` and ``http://h:8774/v2`` give
    ``http://h:8774`` (the fixtures' paths start with ``/v2/``)."""
    url = url.rstrip("/")
    found = re.match(r"^(.*?)/v(?:1\.1|2\.1|2)(?:/.*)?$", url)
    return found.group(1) if found else url


@dataclass(frozen=True)
class LiveTarget:
    """An endpoint to run the fixtures against, and what the runner knows of it.

    ``token`` None means noauth2: the fixtures' own ``X-Auth-Token: user:project`` headers
    go as they are. With a token (Keystone), the default user's header carries ``token`` and
    the admin's ``admin_token``; fixtures that need the admin are skipped without one.
    ``reference_world``: the target was seeded from fixtures/world.json (``refnova serve``),
    so fixtures that name its objects (a queued image, a port in use...) can run.
    """

    url: str
    values: Mapping[str, str]
    token: str | None = None
    admin_token: str | None = None
    reference_world: bool = False
    world: Mapping[str, Any] | None = None     # the reference world (default: world.json)


def live_skip_reason(fixture: Fixture, target: LiveTarget) -> str | None:
    """Why a live target cannot run this fixture, or None."""
    if fixture.needs_world:
        changes = ", ".join(_world_change_lines(fixture.world or {}))
        return (f"needs a world change ({changes}) that a live target cannot be given; "
                "it runs against the in-process reference")
    if not target.reference_world:
        references = world_references(fixture, target.world or load_reference_world(None))
        if references:
            return ("names objects of the reference world (" + "; ".join(references) + "); "
                    "they run with --reference-world against a target seeded from "
                    "fixtures/world.json")
    return None


def _world_change_lines(changes: Mapping[str, Any], prefix: str = "") -> list[str]:
    lines = []
    for key, value in changes.items():
        if isinstance(value, dict) and value:
            lines += _world_change_lines(value, f"{prefix}{key}.")
        elif isinstance(value, list):
            lines.append(f"{prefix}{key} replaced by a list of {len(value)}")
        else:
            lines.append(f"{prefix}{key} = {_show(value, 60)}")
    return lines


def authorize(request: HttpRequest, target: LiveTarget) -> HttpRequest | str:
    """The request with the target's tokens in X-Auth-Token, or a skip reason."""
    if target.token is None:
        return request
    user = f"{target.values['user_id']}:{target.values['project_id']}"
    admin = f"admin:{target.values['project_id']}"
    headers = []
    for name, value in request.headers:
        if name.lower() == "x-auth-token":
            if value == user:
                value = target.token
            elif value == admin:
                if not target.admin_token:
                    return "needs the project's admin (give an admin token with --admin-token)"
                value = target.admin_token
        headers.append((name, value))
    return HttpRequest(request.method, request.path, tuple(headers), request.removed, request.body)


def run_live(fixture: Fixture, base_url: str, values: Mapping[str, str],
             session: Any = None, timeout: float = 30.0, rate_limit_retries: int = 2,
             sleep: Callable[[float], None] = time.sleep, max_wait: float = 65.0,
             target: LiveTarget | None = None) -> Result:
    """Send one fixture to a live endpoint (``base_url`` = scheme://host:port) and match.

    Fixtures a live target cannot run are skipped (``live_skip_reason``). A 429 that the
    fixture does not expect (the default limiter allows 120 POSTs a minute) is waited out
    and retried.
    """
    target = target or LiveTarget(base_url, values, reference_world=True)
    reason = live_skip_reason(fixture, target)
    request = build_request(fixture, values)
    if reason is None:
        authorized = authorize(request, target)
        if isinstance(authorized, str):
            reason = authorized
        else:
            request = authorized
    if reason is not None:
        return Result(fixture, SKIP, reason=reason)
    response = send_http(base_url, request, session, timeout)
    for _ in range(rate_limit_retries):
        if response.status != 429 or fixture.expect["status"] == 429:
            break
        sleep(_retry_after(response, max_wait))
        response = send_http(base_url, request, session, timeout)
    return evaluate(fixture, response, values)


def _retry_after(response: HttpResponse, max_wait: float) -> float:
    try:
        wait = float(response.header_map().get("retry-after", "1"))
    except ValueError:
        wait = 1.0
    return min(max(wait, 0.0), max_wait)


def send_http(base_url: str, request: HttpRequest, session: Any = None,
              timeout: float = 30.0) -> HttpResponse:
    import requests

    headers: dict[str, str | None] = request.header_dict()
    for name in request.removed:           # keep requests' own defaults out as well
        headers[name] = None
    client = session or requests.Session()
    try:
        reply = client.request(request.method, base_url.rstrip("/") + request.path,
                               headers=headers, data=request.body, timeout=timeout,
                               allow_redirects=False)
    finally:
        if session is None:
            client.close()
    return HttpResponse(reply.status_code, tuple(reply.headers.items()), reply.content)


class LiveRunner:
    """Runs fixtures against a live target, leaving the project as it found it.

    Before each fixture it lists the project's servers (``GET /v2/{project}/servers``);
    after it, it deletes every server that was not there before and waits until they are
    gone, so that quota fixtures ("already used 0") see an unused project. Run it against a
    project of its own: a server that someone else creates meanwhile would be deleted too.
    """

    def __init__(self, target: LiveTarget, session: Any = None, timeout: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, cleanup_timeout: float = 120.0,
                 poll_interval: float = 0.5, rate_limit_retries: int = 2, max_wait: float = 65.0):
        self.target = target
        self.session = session
        self.timeout = timeout
        self.sleep = sleep
        self.clock = clock
        self.cleanup_timeout = cleanup_timeout
        self.poll_interval = poll_interval
        self.rate_limit_retries = rate_limit_retries
        self.max_wait = max_wait
        self.cleanup_problem: str | None = None     # set once listing servers does not work

    @property
    def servers_path(self) -> str:
        return f"/v2/{self.target.values['project_id']}/servers"

    def _admin_request(self, method: str, path: str) -> HttpResponse:
        token = self.target.token or f"{self.target.values['user_id']}:{self.target.values['project_id']}"
        request = HttpRequest(method, path, (("Accept", "application/json"),
                                             ("X-Auth-Token", token)), (), b"")
        return send_http(self.target.url, request, self.session, self.timeout)

    def server_ids(self) -> set[str] | None:
        """The ids of the project's servers, or None when the target cannot list them."""
        try:
            response = self._admin_request("GET", self.servers_path)
        except OSError as error:
            self.cleanup_problem = f"listing servers failed: {error}"
            return None
        body = _json_or_none(response.body)
        if response.status != 200 or not isinstance(body, dict) or \
                not isinstance(body.get("servers"), list):
            self.cleanup_problem = (f"GET {self.servers_path} answered {answer_summary(response)}: "
                                    "servers the fixtures create are not cleaned up")
            return None
        return {server["id"] for server in body["servers"]
                if isinstance(server, dict) and "id" in server}

    def clean_up(self, before: set[str]) -> tuple[str, ...]:
        """Delete the servers that appeared since ``before``; notes on what did not go well."""
        after = self.server_ids()
        if after is None:
            return (self.cleanup_problem or "could not list servers",)
        created = sorted(after - before)
        notes = []
        for server_id in created:
            response = self._admin_request("DELETE", f"{self.servers_path}/{server_id}")
            if response.status not in (202, 204, 404):
                notes.append(f"deleting server {server_id} answered {answer_summary(response)}")
        deadline = self.clock() + self.cleanup_timeout
        remaining = set(created)
        while remaining:
            current = self.server_ids()
            if current is None:
                notes.append(self.cleanup_problem or "could not list servers")
                break
            remaining &= current
            if not remaining:
                break
            if self.clock() >= deadline:
                notes.append(f"servers still there after {self.cleanup_timeout:.0f}s: "
                             + ", ".join(sorted(remaining)))
                break
            self.sleep(self.poll_interval)
        return tuple(notes)

    def run(self, fixture: Fixture) -> Result:
        before = self.server_ids() if live_skip_reason(fixture, self.target) is None else None
        result = run_live(fixture, self.target.url, self.target.values, session=self.session,
                          timeout=self.timeout, rate_limit_retries=self.rate_limit_retries,
                          sleep=self.sleep, max_wait=self.max_wait, target=self.target)
        if result.outcome == SKIP:
            return result
        notes = self.clean_up(before) if before is not None else (
            self.cleanup_problem or "could not list servers",)
        return dataclasses.replace(result, notes=result.notes + notes) if notes else result

    def run_all(self, fixtures: Iterable[Fixture],
                progress: Callable[[Result], None] | None = None) -> list[Result]:
        results = []
        for fixture in fixtures:
            result = self.run(fixture)
            if progress is not None:
                progress(result)
            results.append(result)
        return results


# --------------------------------------------------------------------------- suites

def run_suite(fixtures: Iterable[Fixture], target: str | LiveTarget | None = None,
              values: Mapping[str, str] | None = None,
              progress: Callable[[Result], None] | None = None, **runner_options: Any
              ) -> list[Result]:
    """Run fixtures in-process (``target`` None) or against a live endpoint.

    ``target`` is a URL (noauth2, a target seeded from the reference world, ``values``
    over the world's placeholders) or a ``LiveTarget``.
    """
    if target is None:
        results = []
        for fixture in fixtures:
            results.append(run_in_process(fixture))
            if progress is not None:
                progress(results[-1])
        return results
    import requests

    if isinstance(target, str):
        target = LiveTarget(target_root(target), live_values(values), reference_world=True)
    with requests.Session() as session:
        return LiveRunner(target, session=session, **runner_options).run_all(fixtures, progress)


def select(fixtures: Iterable[Fixture], expression: str | None) -> list[Fixture]:
    """The fixtures that a pytest-like ``-k`` expression selects.

    Words match case-insensitively as substrings of the file name, the fixture's name and its
    source; ``and``, ``or``, ``not`` and parentheses combine them.
    """
    fixtures = list(fixtures)
    if not expression or not expression.strip():
        return fixtures
    predicate = _compile_selection(expression)
    return [f for f in fixtures if predicate(" ".join((f.id, f.name, f.source)).lower())]


def _compile_selection(expression: str) -> Callable[[str], bool]:
    tokens = re.findall(r"\(|\)|[^\s()]+", expression)
    words: list[str] = []
    code = []
    for token in tokens:
        if token in ("(", ")") or token.lower() in ("and", "or", "not"):
            code.append(token.lower())
        else:
            words.append(token.lower())
            code.append(f"(_w[{len(words) - 1}] in _t)")
    source = " ".join(code)
    try:
        compiled = compile(source, "<-k>", "eval")
        eval(compiled, {"__builtins__": {}}, {"_w": words, "_t": ""})
    except (SyntaxError, TypeError) as error:   # e.g. "A24 and (", or two bare words
        raise ValueError(f"bad -k expression {expression!r}") from error
    return lambda text: bool(eval(compiled, {"__builtins__": {}}, {"_w": words, "_t": text}))
