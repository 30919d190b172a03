"""Every golden fixture of fixtures/v2.1 (today's contract, recorded from Nova 34.0.0), run
against in-process refnova, and the checks that keep the set honest.

The rows come from docs/v2.1-create-contract.md's tables: a fixture naming a row the
catalogue lacks fails, and so does a row without a fixture. Each fixture names the oracle run
it was recorded in. Where refnova's expectation is not Nova's literal answer (a pattern
where the two differ, refnova's 400 where Nova crashed), the fixture says why in
``oracle.note``.
"""

import re

import pytest

from refnova.conformance.fixtures import REPO_ROOT, default_fixture_dir, fixture_paths, load_fixture
from refnova.conformance.matcher import RE_PREFIX
from refnova.conformance.runners import run_in_process

FIXTURE_DIR = default_fixture_dir("v2.1")
PATHS = fixture_paths(FIXTURE_DIR)
IDS = [path.name for path in PATHS]
FIXTURES = [load_fixture(path) for path in PATHS]
CATALOGUE = REPO_ROOT / "docs" / "v2.1-create-contract.md"

TABLE_ROW_RE = re.compile(r"^\|\s*([GJKLMRVWXY][0-9]+[a-z]?)\s*\|", re.MULTILINE)
FILE_ROW_RE = re.compile(r"([GJKLMRVWXY])(\d{2})([a-z]?)-")
SOURCE_RE = re.compile(r"nova-oracle nova==34\.0\.0 run \d{8}T\d{4}Z ([GJKLMRVWXY]\d+[a-z]?)")
# Rows where Nova 34.0.0 answers 500 and refnova 400 (docs/v2.1-create-contract.md).
NOVA_500_ROWS = {"J88", "J89", "K13", "K14"}
# Markers the recorder writes for values that differ on every run (ids, passwords, links).
GENERATED_KEYS = {
    *("id", "adminpass", "href", "reservation_id", "location"),
    *("x-openstack-request-id", "x-compute-request-id"),
}
VERSION_HEADERS = ("OpenStack-API-Version", "X-OpenStack-Nova-API-Version", "Vary")


def catalogue_rows():
    return TABLE_ROW_RE.findall(CATALOGUE.read_text(encoding="utf-8"))


def custom_markers(value, key=None):
    """Regex markers in an expectation other than the recorder's generated-value ones."""
    if isinstance(value, dict):
        return [m for k, v in value.items() for m in custom_markers(v, k)]
    if isinstance(value, list):
        return [m for v in value for m in custom_markers(v, key)]
    if (
        isinstance(value, str)
        and value.startswith(RE_PREFIX)
        and (key or "").lower() not in GENERATED_KEYS
    ):
        return [(key, value)]
    return []


def test_fixture_directory_is_populated():
    assert len(PATHS) >= 150


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_fixture_is_well_formed_and_targets_v21(path):
    fixture = load_fixture(path)  # raises FixtureError on a format problem
    # /v2.1, or a path outside every version (today's Nova's versions app answers it: M25, M26)
    assert not re.match(r"/(v2|v1\.1)(/|$)", fixture.request["path"])


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_file_name_source_and_name_agree_on_the_row(path):
    fixture = load_fixture(path)
    letter, number, suffix = FILE_ROW_RE.match(path.name).groups()
    row = f"{letter}{int(number)}{suffix}"
    found = SOURCE_RE.fullmatch(fixture.source)
    assert found, f"source must name the oracle run: {fixture.source!r}"
    assert found.group(1) == row == fixture.row_id
    assert fixture.name.startswith(f"{row}: ")


def test_the_catalogue_rows_and_the_fixtures_are_the_same_set():
    rows = catalogue_rows()
    assert len(rows) == len(set(rows)), "a row appears twice in the catalogue"
    assert sorted(rows) == sorted(f.row_id for f in FIXTURES)


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_nova_status_only_where_nova_crashed(path):
    fixture = load_fixture(path)
    if fixture.row_id in NOVA_500_ROWS:
        assert fixture.nova_status == 500
        assert fixture.expect["status"] == 400
    else:
        assert fixture.nova_status is None


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_departures_from_nova_s_literal_answer_are_explained(path):
    fixture = load_fixture(path)
    departs = fixture.nova_status is not None or custom_markers(fixture.expect)
    note = (fixture.data.get("oracle") or {}).get("note")
    if departs:
        assert note, f"{fixture.id}: {departs} needs an oracle.note"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_every_answer_says_whether_it_echoes_the_microversion(path):
    headers = load_fixture(path).expect["headers"]
    assert all(name in headers for name in VERSION_HEADERS)
    assert headers["Content-Type"].startswith("application/")


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_fixture_in_process(path, deployments):
    result = run_in_process(load_fixture(path), deployments=deployments)
    assert result.ok, result.describe()
