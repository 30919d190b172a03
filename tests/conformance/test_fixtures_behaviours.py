"""The behaviours' golden fixtures (fixtures/behaviours): the control API's answers and each
API-hop behaviour's effect, run against in-process refnova.

They are refnova's own, so ``refnova conformance`` never sends them to a target (it runs
fixtures/v2 or fixtures/v2.1): a Nova without behaviours still passes the suite. Each cites a
row of docs/behaviours.md.
"""

import re
from pathlib import Path

import pytest

from refnova.conformance.fixtures import default_fixture_dir, fixture_paths, load_fixture
from refnova.conformance.runners import run_in_process

FIXTURE_DIR = default_fixture_dir("behaviours")
PATHS = fixture_paths(FIXTURE_DIR)
IDS = [path.name for path in PATHS]
ROWS_DOC = Path(__file__).resolve().parents[2] / "docs" / "behaviours.md"


def test_every_row_has_a_fixture_and_every_fixture_a_row():
    rows = re.findall(r"^\| (B\d+) \|", ROWS_DOC.read_text(encoding="utf-8"), re.MULTILINE)
    cited = [load_fixture(path).row_id for path in PATHS]
    assert sorted(cited) == sorted(rows) and len(set(rows)) == len(rows)


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_fixture_is_well_formed_and_named_after_its_row(path):
    fixture = load_fixture(path)
    assert fixture.source == "behaviours.md %s" % fixture.row_id
    assert path.name.startswith("B%02d-" % int(fixture.row_id[1:]))
    assert fixture.name.startswith(fixture.row_id + ": ")


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_fixture_in_process(path, deployments):
    result = run_in_process(load_fixture(path), deployments=deployments)
    assert result.ok, result.describe()
