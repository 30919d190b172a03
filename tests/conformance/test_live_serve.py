"""`refnova conformance --target` against `refnova serve`, over real HTTP, in two processes.

The first run is the reference itself: every fixture passes or is skipped with a reason.
The second serves a world whose API answers quota overruns with 403 instead of Icehouse's
413: exactly the quota fixtures must fail, and the reports must name them.
"""

import requests

from refnova.conformance.fixtures import default_fixture_dir, load_fixtures
from refnova.conformance.matcher import ABSENT
from refnova.world import load_world
from tests.support.conformance import junit_outcomes, run_conformance, summary

FIXTURES = load_fixtures(default_fixture_dir("v2"))
PROJECT = load_world()["defaults"]["project_id"]


def test_every_fixture_passes_or_is_skipped_with_a_reason_against_refnova_serve(serve, tmp_path):
    url = serve()
    completed, root, report = run_conformance(tmp_path, url, "--reference-world")
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    passed, failed, skipped = summary(completed)
    outcomes = junit_outcomes(root)
    assert len(outcomes) == len(FIXTURES) == passed + failed + skipped
    assert failed == 0
    # Only the fixtures that change the world are left to the in-process reference, each
    # with its reason printed; every other one went over HTTP to the served process.
    needs_world = {f.id for f in FIXTURES if f.needs_world}
    skipped_ids = {name for name, (outcome, _) in outcomes.items() if outcome == "skipped"}
    assert skipped_ids == needs_world and skipped == len(needs_world)
    for name in skipped_ids:
        reason = outcomes[name][1].get("message")
        assert "needs a world change" in reason
        assert "SKIP %s" % name in completed.stdout
    # The fixtures where Icehouse crashed say which answer the target gave.
    crashed = [f for f in FIXTURES if f.nova_status is not None]
    assert crashed
    for fixture in crashed:
        assert (
            "the target gave refnova's answer (400)"
            in report.split("`%s`" % fixture.id, 1)[1].splitlines()[0]
        )
    # The runner deleted every server the success fixtures created.
    listed = requests.get(
        "%s/v2/%s/servers" % (url, PROJECT),
        timeout=10,
        headers={"X-Auth-Token": "demo:%s" % PROJECT},
    )
    assert listed.status_code == 200 and listed.json() == {"servers": []}


def quota_fixture_ids():
    """The fixtures that a live run sends and that expect a quota overrun: 413 + Retry-After."""

    def retry_after(fixture):
        return next(
            (
                value
                for name, value in fixture.expect.get("headers", {}).items()
                if name.lower() == "retry-after"
            ),
            ABSENT,
        )

    return {
        f.id
        for f in FIXTURES
        if not f.needs_world and f.expect["status"] == 413 and retry_after(f) != ABSENT
    }


def test_a_403_quota_variant_fails_exactly_the_quota_fixtures(serve, tmp_path):
    expected = quota_fixture_ids()
    assert {"A14b", "A15a", "A15b", "A15c", "A24"} <= {
        f.row_id for f in FIXTURES if f.id in expected
    }
    world = load_world(
        {
            "api": {"quota_error_status": 403},
            # Not the variant under test: only so that the run does not wait
            # out the 120-POSTs-a-minute limiter (F2 has its own fixture).
            "rate_limits": {"POST": -1},
        }
    )
    url = serve(world)
    completed, root, report = run_conformance(tmp_path, url, "--reference-world")
    assert completed.returncode == 1, completed.stdout[-3000:] + completed.stderr[-2000:]
    outcomes = junit_outcomes(root)
    failed = {name for name, (outcome, _) in outcomes.items() if outcome == "failed"}
    assert failed == expected
    assert summary(completed)[1] == len(expected)
    by_id = {f.id: f for f in FIXTURES}
    for name in expected:
        fixture = by_id[name]
        message = outcomes[name][1].get("message")
        assert fixture.source in message and "expected 413 overLimit" in message
        assert "got 403 forbidden" in message
        row = report.split("`%s`" % name, 1)[1].splitlines()[0]
        assert "| failed |" in row and fixture.source in row and "403 forbidden" in row
        assert "FAIL %s  [%s]" % (name, fixture.source) in completed.stdout
