"""Every golden fixture of fixtures/v2 (the Icehouse contract), run against in-process refnova.

The well-formedness tests need only refnova.conformance; the run tests share one refnova
Deployment per world, reset before each fixture (refnova.conformance.in_process). Which spec
rows need a fixture is test_fixture_format's business: it reads them from the spec's own
tables.
"""

import re

import pytest

from refnova.conformance.fixtures import default_fixture_dir, fixture_paths, load_fixture
from refnova.conformance.runners import run_in_process

FIXTURE_DIR = default_fixture_dir("v2")
PATHS = fixture_paths(FIXTURE_DIR)
IDS = [path.name for path in PATHS]

# Rows where Icehouse answered 500 and refnova answers 400 instead.
NOVA_500_ROWS = {"C9a", "C10i", "C17e", "C18j", "A12"}

FILE_ROW_RE = re.compile(r"([FPCA])(\d{2})([a-z]?)-")


def test_fixture_directory_is_populated():
    assert len(PATHS) > 100


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_fixture_is_well_formed(path):
    fixture = load_fixture(path)  # raises FixtureError on a format problem
    # Under /v2/, or /v2 itself (the router's redirect of the empty path).
    assert fixture.request["path"] == "/v2" or fixture.request["path"].startswith("/v2/")


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_file_name_agrees_with_source_row(path):
    fixture = load_fixture(path)
    found = FILE_ROW_RE.match(path.name)
    if fixture.cites_nova_source:  # a route the spec does not cover: named after it
        assert re.fullmatch(r"[a-z0-9-]+\.json", path.name) and not found
        assert fixture.source.split()[3].startswith("nova/")
        return
    if path.name.startswith("S"):
        assert fixture.source == "icehouse-create-path.md §3"
        assert fixture.expect["status"] == 202
        return
    assert found, f"{path.name}: expected a <row>-<what>.json name"
    letter, number, suffix = found.groups()
    assert fixture.row_id == f"{letter}{int(number)}{suffix}"
    assert fixture.name.startswith(f"{fixture.row_id}: ")


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_nova_status_only_where_icehouse_crashed(path):
    fixture = load_fixture(path)
    read_from_source = fixture.source.startswith("Nova 2014.1 source:")
    if fixture.row_id in NOVA_500_ROWS or (read_from_source and fixture.nova_status):
        # Where Icehouse crashed, refnova answers 400 (a fixture citing Nova's code says so).
        assert fixture.nova_status == 500
        assert fixture.expect["status"] == 400
    else:
        assert fixture.nova_status is None


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_fixture_in_process(path, deployments):
    result = run_in_process(load_fixture(path), deployments=deployments)
    assert result.ok, result.describe()
