"""Golden-fixture conformance: load fixtures, build their requests, match the responses.

A fixture (``fixtures/v2/*.json``, ``fixtures/v2.1/*.json``) is one request and the
response the reference contract gives to it. The format (see DESIGN.md, "Fixtures")::

    {"name": "C3: name key absent",
     "source": "icehouse-create-path.md §2.3 C3",     # last token: the spec row ID
     "nova_status": 500,                              # optional: what Icehouse itself answered
     "world": {...},                                  # optional: overrides merged into world.json
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

TOP_LEVEL_KEYS = frozenset({"name", "source", "nova_status", "world", "request", "expect", "trace"})
REQUEST_KEYS = frozenset({"method", "path", "headers", "body", "body_text", "body_text_repeat"})
BODY_KEYS = ("body", "body_text", "body_text_repeat")
EXPECT_KEYS = frozenset({"status", "headers", "body", "exact_body", "text_contains"})

# The last token of "source": a spec row ID (F1, C7b, A14d, V3...), or §3 for a success shape.
ROW_ID_RE = re.compile(r"[FPCAV]\d+[a-z]?|§3")
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

    @property
    def ok(self) -> bool:
        return self.outcome == PASS

    def describe(self) -> str:
        head = f"{self.outcome.upper():4} {self.fixture.id} ({self.fixture.name})"
        if self.status is not None:
            head += f" -> {self.status}"
        lines = [head]
        if self.reason:
            lines.append(f"     {self.reason}")
        lines += [f"     - {problem}" for problem in self.mismatches]
        return "\n".join(lines)


def evaluate(fixture: Fixture, response: HttpResponse, values: Mapping[str, str]) -> Result:
    """Match a response against the fixture's expectation."""
    problems = check_response(expand(fixture.expect, values), response)
    if not problems:
        return Result(fixture, PASS, response.status)
    if fixture.nova_status is not None and response.status == fixture.nova_status:
        reason = (f"answered {response.status} as Icehouse itself did; refnova's contract is "
                  f"{fixture.expect['status']}")
        return Result(fixture, NOVA, response.status, tuple(problems), reason)
    return Result(fixture, FAIL, response.status, tuple(problems))


def summarize(results: Sequence[Result]) -> str:
    """A report: one block per result that is not a pass, then the counts."""
    lines = [result.describe() for result in results if not result.ok]
    counts = {outcome: sum(1 for r in results if r.outcome == outcome)
              for outcome in (PASS, FAIL, NOVA, SKIP)}
    lines.append(", ".join(f"{count} {outcome}" for outcome, count in counts.items()))
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


# --------------------------------------------------------------------------- live runner

def live_values(given: Mapping[str, str] | None = None,
                world_loader: Callable[[Mapping[str, Any] | None], Mapping[str, Any]] | None = None,
                ) -> dict[str, str]:
    """Placeholder values for a live target: the reference world's, overridden by ``given``."""
    values = placeholder_values((world_loader or load_reference_world)(None))
    values.update({name: str(value) for name, value in (given or {}).items()})
    return values


def run_live(fixture: Fixture, base_url: str, values: Mapping[str, str],
             session: Any = None, timeout: float = 30.0, rate_limit_retries: int = 2,
             sleep: Callable[[float], None] = time.sleep, max_wait: float = 65.0) -> Result:
    """Run one fixture against a live endpoint (``base_url`` = scheme://host:port[/prefix]).

    Fixtures that need a world change are skipped. A 429 that the fixture does not expect
    (the default limiter allows 120 POSTs a minute) is waited out and retried.
    """
    if fixture.needs_world:
        keys = ", ".join(sorted(fixture.world or {}))
        return Result(fixture, SKIP, reason=f"needs a world change ({keys}); "
                                            "only the in-process reference can apply it")
    request = build_request(fixture, values)
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


# --------------------------------------------------------------------------- suites

def run_suite(fixtures: Iterable[Fixture], target: str | None = None,
              values: Mapping[str, str] | None = None) -> list[Result]:
    """Run fixtures in-process (``target`` None) or against a live endpoint.

    A live target keeps what each create leaves behind (instances, bound ports, quota
    usage), so it gets the rejections first, while the project is still unused; the
    success shapes then need quota headroom beyond Icehouse's default of 10 instances.
    """
    if target is None:
        return [run_in_process(fixture) for fixture in fixtures]
    import requests

    live = live_values(values)
    with requests.Session() as session:
        return [run_live(fixture, target, live, session=session)
                for fixture in live_order(fixtures)]


def live_order(fixtures: Iterable[Fixture]) -> list[Fixture]:
    """Rejections before successes (a stable sort: file order otherwise)."""
    return sorted(fixtures, key=lambda fixture: 200 <= fixture.expect["status"] < 300)
