"""Every golden fixture of fixtures/v2 (the Icehouse contract), run against in-process refnova.

The well-formedness and coverage tests need only refnova.conformance; the run tests
build a fresh refnova Deployment per fixture.
"""

import re

import pytest

from refnova import conformance

FIXTURE_DIR = conformance.default_fixture_dir("v2")
PATHS = conformance.fixture_paths(FIXTURE_DIR)
IDS = [path.name for path in PATHS]

# Rows of icehouse-create-path.md §2.1-§2.4 that this deployment (all standard extensions,
# Neutron networking and security groups) can reach. Left out on purpose: C10b, C10g, A17a
# (nova-network / nova security groups only), C10h, C18e, A13, A14c (unreachable with JSON
# input), A6b, A6c (Glance 401/403/400: not reachable in-process).
REACHABLE_ROWS = (
    "F1 F2 F3 F4 F5 F6 F7 P1 P2 P3 "
    "C1 C2 C3 C4 C5 C6 C7a C7b C8a C8b C8c C8d C9a C9b "
    "C10a C10c C10d C10e C10f C10i C11 C12 C13a C13b C15a C15b "
    "C17a C17b C17c C17d C17e C18a C18b C18c C18d C18f C18g C18h C18i C18j "
    "C19a C19b C19c C19d C22 "
    "A1 A2 A3 A4 A6a A6d A6e A7 A8a A8b A9 A10 A11 A12 "
    "A14a A14b A14d A14e A14f A14g A15a A15b A15c A15d A16a A16b A16c A16d "
    "A17b A17c A18 A19 A20 A21 A22 A23a A23b A24 A25 A26"
).split()

# Rows where Icehouse answered 500 and refnova answers 400 instead.
NOVA_500_ROWS = {"C9a", "C10i", "C17e", "C18j", "A12"}

FILE_ROW_RE = re.compile(r"([FPCA])(\d{2})([a-z]?)-")


def _loaded():
    return [conformance.load_fixture(path) for path in PATHS]


def test_fixture_directory_is_populated():
    assert len(PATHS) > 100


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_fixture_is_well_formed(path):
    fixture = conformance.load_fixture(path)   # raises FixtureError on a format problem
    assert fixture.request["path"].startswith("/v2/")


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_file_name_agrees_with_source_row(path):
    fixture = conformance.load_fixture(path)
    found = FILE_ROW_RE.match(path.name)
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
    fixture = conformance.load_fixture(path)
    if fixture.row_id in NOVA_500_ROWS:
        assert fixture.nova_status == 500
        assert fixture.expect["status"] == 400
    else:
        assert fixture.nova_status is None


def test_every_reachable_row_has_a_fixture():
    covered = {fixture.row_id for fixture in _loaded()}
    assert sorted(set(REACHABLE_ROWS) - covered) == []


def test_no_fixture_pins_a_row_outside_the_reachable_set():
    rows = {fixture.row_id for fixture in _loaded()} - {"§3"}
    assert sorted(rows - set(REACHABLE_ROWS)) == []


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_fixture_in_process(path):
    result = conformance.run_in_process(conformance.load_fixture(path))
    assert result.ok, result.describe()
