"""Golden fixtures: their files, their format, and the spec row each pins.

A fixture (``fixtures/v2/*.json``, ``fixtures/v2.1/*.json``) is one request and the
response the reference contract gives to it. ``fixtures/schema.json`` (JSON Schema) is the
one definition of the format, and every fixture is validated against it as it is loaded::

    {"name": "C3: name key absent",
     "source": "icehouse-create-path.md §2.3 C3",     # last token: the spec row ID
     "nova_status": 500,                              # optional: what Nova itself answered
     "world": {...},                                  # optional: overrides merged into world.json
     "oracle": {...},                                 # optional (/v2.1): how the real Nova was
                                                      # asked (tools/oracle_check.py)
     "setup": [{"method": "POST", "path": ..., "body": ...,   # optional: sent first; their
                "expect_status": 202, "undo": {...}}],   # answers fill {setup[N].server.id}
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

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from refnova.conformance import schema_check
from refnova.conformance.matcher import is_regex_marker, regex_of
from refnova.package_data import data_dir

if TYPE_CHECKING:  # jsonschema is imported only to word the problems of a broken fixture
    import jsonschema

REPO_ROOT = Path(__file__).resolve().parents[2]  # of a source checkout (tests, tools)
SCHEMA_PATH = data_dir("fixtures") / "schema.json"
CONTRACTS = ("v2", "v2.1")
REPEAT_KEY = "$repeat"
NOVA_SOURCE_PREFIX = "Nova 2014.1 source: "


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
    def cites_nova_source(self) -> bool:
        """Whether ``source`` cites Nova 2014.1's code rather than a spec row (a /v2 route the
        Icehouse spec does not cover: ``Nova 2014.1 source: <file> <function>``)."""
        return self.source.startswith(NOVA_SOURCE_PREFIX)

    @property
    def setup(self) -> list[Mapping[str, Any]]:
        """The requests to send before the fixture's own (empty for most fixtures)."""
        return list(self.data.get("setup", []))

    @property
    def microversion(self) -> str | None:
        """The compute microversion the fixture runs at (None: no header, 2.1)."""
        return self.data.get("microversion")

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
    """``fixtures/<version>``, as the package ships it (refnova.package_data)."""
    return data_dir("fixtures") / version


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
    problems = format_problems(data)
    if problems:
        raise FixtureError(f"{path.name}: " + "; ".join(problems))
    return Fixture(path=path, data=data)


def load_fixtures(directory: Path | str) -> list[Fixture]:
    """Every fixture of a directory, in file-name order."""
    return [load_fixture(path) for path in fixture_paths(directory)]


def format_problems(data: Any) -> list[str]:
    """Every way in which ``data`` breaks the fixture format (empty if none)."""
    return schema_problems(data) + _bad_patterns(data)


def schema_problems(value: Any, definition: str | None = None) -> list[str]:
    """How ``value`` breaks ``fixtures/schema.json`` (or one of its ``$defs``)."""
    if definition is None and _compiled_check()(value):
        return []  # the compiled check accepts exactly what jsonschema accepts
    validator = _validator()
    if definition is not None:
        validator = validator.evolve(schema=validator.schema["$defs"][definition])
    errors = sorted(
        validator.iter_errors(value), key=lambda error: (_where(error.absolute_path), error.message)
    )
    return [f"{_where(error.absolute_path)}: {error.message}" for error in errors]


@functools.cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


@functools.cache
def _compiled_check() -> schema_check.Check:
    """The schema compiled to a yes/no check; jsonschema's own answer if it cannot be."""
    try:
        return schema_check.compile_schema(_schema())
    except schema_check.Unsupported:
        return _validator().is_valid


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    import jsonschema  # only a fixture the compiled check rejects needs it

    return jsonschema.Draft202012Validator(_schema())


def _where(path: Iterable[str | int]) -> str:
    """``request.body.networks[0]``: where in a fixture a problem is; ``fixture``: the top."""
    where = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)
    return where.removeprefix(".") or "fixture"


def _bad_patterns(data: Any) -> list[str]:
    """<re:REGEX> markers whose REGEX does not compile: the one rule JSON Schema cannot state
    (the patterns are Python's, for re.fullmatch, not the schema's ECMA-262 dialect)."""
    expect = data.get("expect") if isinstance(data, dict) else None
    if not isinstance(expect, dict):
        return []
    problems = []
    strings = [
        found
        for part in ("headers", "body")  # text_contains holds no markers
        for found in _strings(expect.get(part), f"expect.{part}")
    ]
    for where, text in strings:
        if is_regex_marker(text):
            try:
                re.compile(regex_of(text))
            except re.error as exc:
                problems.append(f"{where}: bad regular expression: {exc}")
    return problems


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """(where, text) for every string of a JSON value, at any depth."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")
