"""The compiled check of fixtures/schema.json answers as jsonschema does.

The loader trusts the compiled check's yes (refnova.conformance.fixtures.schema_problems): a
value it accepts and jsonschema rejects would be a broken fixture loaded. Held against
jsonschema on every fixture, on broken copies of a sample of them (each value replaced,
each key removed, keys added, at every depth) and on the edges of the keywords' meanings.
"""

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from refnova.conformance import fixtures, schema_check
from refnova.conformance.fixtures import default_fixture_dir, fixture_paths

SCHEMA = json.loads(fixtures.SCHEMA_PATH.read_text(encoding="utf-8"))
CHECK = schema_check.compile_schema(SCHEMA)
JSONSCHEMA = jsonschema.Draft202012Validator(SCHEMA)
EVERY_FIXTURE = [
    json.loads(path.read_text(encoding="utf-8"))
    for contract in fixtures.CONTRACTS
    for path in fixture_paths(default_fixture_dir(contract))
]
# Values put in place of a fixture's: each type, the markers, the $repeat shapes, edges.
REPLACEMENTS = [
    None, 0, 1, -1, 1.0, 1.5, 99, 600, True, False, "", "x", "/x", "GET", "2.1", "latest",
    "2.01", "traces/x.json", "<any>", "<uid>", "<absent>", "<re:(>", "<re:a+>", [], [1],
    ["a", 2], ["a", -1], ["a", 2, 3], ["<absent>"], {}, {"x": None}, {"x": {}},
    {"$repeat": ["a", 2]}, {"$repeat": ["a", 2], "b": 1}, {"$repeat": "a"}, {"a": "<absent>"},
]  # fmt: skip
ADDED_KEYS = ["zz", "body", "body_text", "body_text_repeat", "$repeat", "undo", "exact_body"]


def paths(value: Any, where: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Where every value of a JSON document is (the document itself first)."""
    yield where
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*where, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*where, index))


def replaced(document: Any, where: tuple[Any, ...], new: Any) -> Any:
    if not where:
        return new
    copied, parent = _copy_to_parent(document, where)
    parent[where[-1]] = new
    return copied


def removed(document: Any, where: tuple[Any, ...]) -> Any:
    copied, parent = _copy_to_parent(document, where)
    del parent[where[-1]]
    return copied


def added(document: Any, where: tuple[Any, ...], key: str, new: Any) -> Any:
    copied, parent = _copy_to_parent(document, (*where, key))
    if isinstance(parent, dict):
        parent[key] = new
    return copied


def _copy_to_parent(document: Any, where: tuple[Any, ...]) -> tuple[Any, Any]:
    """A copy of the document and, in it, the container of the value at ``where``."""
    copied = copy.deepcopy(document)
    parent = copied
    for step in where[:-1]:
        parent = parent[step]
    return copied, parent


def broken_copies(document: Any, rng: random.Random) -> Iterator[Any]:
    for where in paths(document):
        for new in rng.sample(REPLACEMENTS, 2):
            yield replaced(document, where, new)
        if where:
            yield removed(document, where)
        yield added(document, where, rng.choice(ADDED_KEYS), rng.choice(REPLACEMENTS))


def test_every_fixture_is_accepted_by_both():
    assert [CHECK(data) for data in EVERY_FIXTURE] == [True] * len(EVERY_FIXTURE)
    assert all(JSONSCHEMA.is_valid(data) for data in EVERY_FIXTURE)


def test_broken_copies_get_jsonschema_s_answer():
    rng = random.Random(14)
    answers = {True: 0, False: 0}
    for document in rng.sample(EVERY_FIXTURE, 16):
        for broken in broken_copies(document, rng):
            expected = JSONSCHEMA.is_valid(broken)
            assert CHECK(broken) is expected, json.dumps(broken)[:2000]
            answers[expected] += 1
    assert min(answers.values()) > 300, answers  # both answers were asked for, many times


EDGES = [
    {"status": 200.0},  # an integral float is an integer (Draft 2020-12)
    {"status": 200.5},
    {"status": True},  # a boolean is not
    {"status": 99},
    {"status": 600},
    {"status": 200, "exact_body": True},  # exact_body needs body
    {"status": 200, "exact_body": True, "body": {"a": ["<absent>"]}},  # not a list item
    {"status": 200, "body": {"a": "<absent>", "b": ["<any>", "<re:x>", "<uid>"]}},
    {"status": 200, "headers": {"X": None}},
    {"status": 200, "text_contains": [""]},
]


@pytest.mark.parametrize("expect", EDGES)
def test_edges_of_the_keywords_get_jsonschema_s_answer(expect):
    document = dict(EVERY_FIXTURE[0], expect=expect)
    assert CHECK(document) is JSONSCHEMA.is_valid(document)


@pytest.mark.parametrize(
    "body",
    [
        {"a": {"$repeat": ["x", 3]}},
        {"a": {"$repeat": ["x", 3], "b": 1}},
        [{"$repeat": ["x", -1]}],
        {"$repeat": ["x", 3, 4]},
    ],
)
def test_repeat_generators_get_jsonschema_s_answer(body):
    request = dict(EVERY_FIXTURE[0]["request"], body=body)
    request.pop("body_text", None)
    document = dict(EVERY_FIXTURE[0], request=request)
    assert CHECK(document) is JSONSCHEMA.is_valid(document)


@pytest.mark.parametrize(
    "schema",
    [
        {"$schema": "http://json-schema.org/draft-07/schema#"},
        {"$schema": schema_check.DRAFT_2020_12, "format": "uuid"},
        {"$schema": schema_check.DRAFT_2020_12, "enum": [1, 2]},
        {"$schema": schema_check.DRAFT_2020_12, "$ref": "other.json"},
        {"$schema": schema_check.DRAFT_2020_12, "patternProperties": {}},
    ],
)
def test_what_it_does_not_compile_is_refused(schema):
    with pytest.raises(schema_check.Unsupported):
        schema_check.compile_schema(schema)


def test_a_schema_it_cannot_compile_is_checked_by_jsonschema(monkeypatch):
    def refuse(_schema):
        raise schema_check.Unsupported("for the test")

    monkeypatch.setattr(schema_check, "compile_schema", refuse)
    fixtures._compiled_check.cache_clear()
    try:
        assert fixtures._compiled_check() == fixtures._validator().is_valid
        assert fixtures.format_problems({}) != []
    finally:
        fixtures._compiled_check.cache_clear()
