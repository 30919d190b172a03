"""`refnova conformance --target http://host:port/v2.1` against `refnova serve`, over HTTP.

The target URL names the contract: the runner takes fixtures/v2.1 and sends each fixture
(recorded from Nova 34.0.0) at its own microversion to the served process, which announces
every version refnova implements. Every one passes, except those that change refnova's world,
which are left to the in-process run with their reason.
"""

import requests

from refnova.api.openstack.contracts import V21_IMPLEMENTED_MAX
from refnova.conformance.fixtures import contract_for_target, default_fixture_dir, load_fixtures
from refnova.conformance.runners import target_root
from refnova.world import load_world
from tests.support.conformance import junit_outcomes, run_cli, run_conformance, summary

FIXTURES = load_fixtures(default_fixture_dir("v2.1"))
PROJECT = load_world()["defaults"]["project_id"]


def test_every_v21_fixture_passes_against_refnova_serve(serve, tmp_path):
    url = serve()  # a deployment announces every microversion refnova implements
    listed = requests.get(url + "/", timeout=10).json()["versions"]
    assert [v["version"] for v in listed if v["id"] == "v2.1"] == [V21_IMPLEMENTED_MAX]
    completed, root, report = run_conformance(
        tmp_path, url + "/v2.1", "--reference-world", "--microversion", "all"
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    passed, failed, skipped = summary(completed)
    outcomes = junit_outcomes(root)
    assert len(outcomes) == len(FIXTURES) == passed + failed + skipped
    assert failed == 0
    skipped_ids = {name for name, (outcome, _) in outcomes.items() if outcome == "skipped"}
    assert skipped_ids == {f.id for f in FIXTURES if f.needs_world} != set()
    # The fixtures where Nova 34.0.0 crashed got refnova's own answer.
    for fixture in (f for f in FIXTURES if f.nova_status is not None):
        assert (
            "the target gave refnova's answer (400)"
            in report.split("`%s`" % fixture.id, 1)[1].splitlines()[0]
        )
    listed = requests.get(
        "%s/v2.1/%s/servers/%s" % (url, PROJECT, "0" * 32),
        timeout=10,
        headers={"X-Auth-Token": "demo:%s" % PROJECT},
    )
    assert listed.status_code == 404 and listed.headers["OpenStack-API-Version"] == "compute 2.1"


def test_fixtures_above_the_announced_maximum_are_skipped_with_the_reason(serve, tmp_path):
    url = serve(None, "--max-microversion", "2.1")  # a deployment that announces less
    listed = requests.get(url + "/", timeout=10).json()["versions"]
    assert [v["version"] for v in listed if v["id"] == "v2.1"] == ["2.1"]
    completed, root, _report = run_conformance(
        tmp_path, url + "/v2.1", "--reference-world", "-k", "V01 or V02 or V35 or R01"
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    outcomes = junit_outcomes(root)
    assert {name for name, (outcome, _) in outcomes.items() if outcome == "skipped"} == {
        "V01-mv2.18-description-rejected",
        "V02-mv2.19-description",
        "V35-mvlatest-create",
    }
    assert outcomes["R01-minimal"][0] == "passed"
    assert "needs microversion 2.19; the target announces 2.1 at most" in completed.stdout
    assert "recorded at latest (Nova 34.0.0's 2.104)" in completed.stdout


def test_the_contract_comes_from_the_url_or_the_option(tmp_path):
    assert contract_for_target("http://nova:8774/v2.1") == "v2.1"
    assert contract_for_target("http://nova:8774/v2.1/") == "v2.1"
    assert contract_for_target("https://nova.example/compute/v2.1/abc") == "v2.1"
    assert contract_for_target("http://nova:8774/v2/abc") == "v2"
    assert contract_for_target("http://nova:8774") == "v2"
    assert contract_for_target(None) == "v2"
    assert target_root("http://nova:8774/v2.1/") == "http://nova:8774"


def test_contract_option_runs_the_v21_fixtures_in_process(tmp_path):
    completed = run_cli(tmp_path, "--contract", "v2.1", "-k", "R01 or M03", timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.strip().splitlines()[-1] == "2 passed, 0 failed, 0 skipped"
