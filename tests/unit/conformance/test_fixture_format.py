"""The fixture format checks itself: a JSON Schema for fixture files, and the spec's own
tables as the list of row IDs that fixtures may pin and must cover.

The row IDs come from docs/icehouse-create-path.md (the vendored spec), parsed from its
tables. Every row of §2.1-§2.4 needs a fixture, except the ones listed below with the reason
this deployment cannot reach them, and the two Glance rows that only a real Glance reaches,
which tests cover instead.
"""

import copy
import importlib
import json
import re

import jsonschema
import pytest

from refnova.conformance.fixtures import (
    REPO_ROOT,
    Fixture,
    default_fixture_dir,
    fixture_paths,
    format_problems,
    load_fixtures,
)

SPEC = REPO_ROOT / "docs" / "icehouse-create-path.md"
SCHEMA = json.loads((REPO_ROOT / "fixtures" / "schema.json").read_text(encoding="utf-8"))
# The Icehouse contract's fixtures and today's (recorded from Nova 34.0.0); the /v2.1 rows
# are test_fixtures_v21's business.
FIXTURE_DIRS = [default_fixture_dir("v2"), default_fixture_dir("v2.1")]
PATHS = [path for directory in FIXTURE_DIRS for path in fixture_paths(directory)]
V2_FIXTURES = load_fixtures(default_fixture_dir("v2"))
CATALOGUE_SECTIONS = ("2.1", "2.2", "2.3", "2.4")

# Rows of §2.1-§2.4 that the reproduced deployment (Neutron networking and security groups,
# JSON bodies) cannot reach, each with the reason.
UNREACHABLE = {
    "C10b": "nova-network only: the deployment uses Neutron (§0)",
    "C10g": "nova-network only: the deployment uses Neutron (§0)",
    "A17a": "nova's own security-group driver only: the deployment uses Neutron's (§0)",
    "C10h": "a TypeError inside per-entry network parsing: not reachable with JSON input",
    "C18e": "not reachable through the API: C18b fires first",
    "A13": "unreachable after C15, which already rejects user_data that is not base64",
    "A14c": "a metadata key that is not a string: JSON object keys always are",
}
# Rows only a real Glance reaches (refnova serve --glance-url): tests pin them instead.
COVERED_BY_TESTS = {
    "A6b": (
        "tests.functional.test_clients_outside_services",
        "test_glance_refusing_the_token_is_a6b_nova_s_generic_500",
    ),
    "A6c": (
        "tests.functional.test_clients_outside_services",
        "test_glance_400_is_a6c_with_glance_s_text",
    ),
}

HEADING_RE = re.compile(r"^#{2,4}\s+(\d+(?:\.\d+)*)\s")
TABLE_ROW_RE = re.compile(r"^\|\s*([A-Z][0-9]+[a-z]?)\s*\|")


def spec_rows(text):
    """Row ID -> the number of the section whose table holds it, for every table row."""
    rows, section = {}, None
    for line in text.splitlines():
        heading = HEADING_RE.match(line)
        if heading:
            section = heading.group(1)
        row = TABLE_ROW_RE.match(line)
        if row:
            assert row.group(1) not in rows, "row %s appears twice in the spec" % row.group(1)
            rows[row.group(1)] = section
    return rows


def unknown_row_ids(fixtures, rows):
    """Fixtures whose source names a row the spec does not have (§3 is the success shape;
    a route the spec does not cover cites Nova's code instead)."""
    return sorted(
        "%s: %s" % (f.id, f.row_id)
        for f in fixtures
        if f.row_id != "§3" and f.row_id not in rows and not f.cites_nova_source
    )


def rows_without_fixture(fixtures, rows, left_out):
    """Rows of the catalogue that no fixture pins and that are not left out with a reason."""
    pinned = {f.row_id for f in fixtures}
    return sorted(
        row
        for row, section in rows.items()
        if section in CATALOGUE_SECTIONS and row not in pinned and row not in left_out
    )


ROWS = spec_rows(SPEC.read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- the schema


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", PATHS, ids=[p.parent.name + "/" + p.name for p in PATHS])
def test_fixture_file_follows_the_schema(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data), key=str)
    assert not errors, "\n".join("%s: %s" % (list(e.absolute_path), e.message) for e in errors)


BASE = json.loads((default_fixture_dir("v2") / "C03-name-absent.json").read_text())


def _broken(change):
    data = copy.deepcopy(BASE)
    change(data)
    return data


@pytest.mark.parametrize(
    "why, data",
    [
        ("unknown key", _broken(lambda d: d.update(comment="x"))),
        ("no expect", _broken(lambda d: d.pop("expect"))),
        ("source without a row ID", _broken(lambda d: d.update(source="icehouse-create-path.md"))),
        ("status as text", _broken(lambda d: d["expect"].update(status="400"))),
        ("nova_status as text", _broken(lambda d: d.update(nova_status="500"))),
        ("relative path", _broken(lambda d: d["request"].update(path="v2/servers"))),
        ("two bodies", _broken(lambda d: d["request"].update(body_text="{}"))),
        ("bad header value", _broken(lambda d: d["request"].update(headers={"Accept": 1}))),
        ("bad repeat", _broken(lambda d: d["request"].update(body_text_repeat=["a"]))),
        ("unknown expect key", _broken(lambda d: d["expect"].update(json={}))),
        ("trace outside traces/", _broken(lambda d: d.update(trace="/tmp/t.json"))),
    ],
)
def test_the_schema_rejects_a_broken_fixture(why, data):
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data)), why
    assert format_problems(data), why  # the loader's check is the schema


# ----------------------------------------------------------------------------- the spec rows


def test_the_spec_tables_were_read():
    for row in ("F1", "F7", "P1", "P3", "C1", "C7b", "C22", "A1", "A14g", "A26"):
        assert row in ROWS, row
    assert ROWS["F1"] == "2.1" and ROWS["P2"] == "2.2" and ROWS["C10i"] == "2.3"
    assert ROWS["A25"] == "2.4"
    assert sum(1 for section in ROWS.values() if section in CATALOGUE_SECTIONS) > 90


def test_every_fixture_names_a_row_that_the_spec_has():
    assert unknown_row_ids(V2_FIXTURES, ROWS) == []


def test_every_reachable_row_of_the_catalogue_has_a_fixture():
    assert rows_without_fixture(V2_FIXTURES, ROWS, {**UNREACHABLE, **COVERED_BY_TESTS}) == []


def test_the_rows_left_out_exist_are_in_the_catalogue_and_have_no_fixture():
    pinned = {f.row_id for f in V2_FIXTURES}
    for row in {**UNREACHABLE, **COVERED_BY_TESTS}:
        assert ROWS.get(row) in CATALOGUE_SECTIONS, row
        assert row not in pinned, "%s has a fixture: it is not unreachable" % row


@pytest.mark.parametrize("row", sorted(COVERED_BY_TESTS))
def test_rows_only_a_real_glance_reaches_are_pinned_by_tests(row):
    module_name, test_name = COVERED_BY_TESTS[row]
    module = importlib.import_module(module_name)
    assert callable(getattr(module, test_name, None)), "%s: %s.%s is gone" % (
        row,
        module_name,
        test_name,
    )


def test_the_checks_catch_an_unknown_row_and_a_row_without_fixture():
    rows = {"F1": "2.1", "C3": "2.3", "C4": "2.3", "A99": "2.4", "X1": "5"}
    fixtures = [
        Fixture(path=REPO_ROOT / "C03-x.json", data={**BASE, "source": "spec §2.3 %s" % row})
        for row in ("C3", "C5", "F1")
    ]
    assert unknown_row_ids(fixtures, rows) == ["C03-x: C5"]
    assert rows_without_fixture(fixtures, rows, {"A99": "reason"}) == ["C4"]
