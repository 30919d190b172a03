"""The live runner's parts: clean-up, skips, tokens, selection and the three reports."""

import itertools
import json
import re
import xml.etree.ElementTree as ET

import pytest
import responses

from refnova import cli
from refnova.conformance import report
from refnova.conformance.fixtures import default_fixture_dir, load_fixtures
from refnova.conformance.http import build_request
from refnova.conformance.placeholders import placeholder_values
from refnova.conformance.results import FAIL, NOVA, PASS, SKIP, Result
from refnova.conformance.runners import (
    LiveRunner,
    LiveTarget,
    authorize,
    live_skip_reason,
    target_root,
)
from refnova.conformance.selection import select
from refnova.world import load_world

WORLD = load_world()
VALUES = placeholder_values(WORLD)
PROJECT = VALUES["project_id"]
FIXTURES = {f.id: f for f in load_fixtures(default_fixture_dir("v2"))}
API = "http://nova.test:8774"
SERVERS = "%s/v2/%s/servers" % (API, PROJECT)
REQUEST_ID = {"x-compute-request-id": "req-0b9e2c4d-5f6a-4b7c-8d9e-0f1a2b3c4d5e"}
NEW = "11111111-2222-4333-8444-555555555555"
OLD = "99999999-2222-4333-8444-555555555555"


def target(**changes):
    values = dict(VALUES)
    return LiveTarget(**{"url": API, "values": values, "world": WORLD, **changes})


def servers_body(*ids):
    return {"servers": [{"id": i, "name": "x", "links": []} for i in ids]}


def created_body():
    return {
        "server": {
            "id": NEW,
            "links": [
                {"rel": "self", "href": "%s/v2/%s/servers/%s" % (API, PROJECT, NEW)},
                {"rel": "bookmark", "href": "%s/%s/servers/%s" % (API, PROJECT, NEW)},
            ],
            "adminPass": "Ab3defGhJk2M",
            "OS-DCF:diskConfig": "MANUAL",
            "security_groups": [{"name": "default"}],
        }
    }


# ----------------------------------------------------------------------------- clean-up


def serve_creates(listings):
    """A target whose listings are the next of ``listings``, whose create makes NEW and
    whose delete of NEW is accepted."""
    responses.add_callback(
        responses.GET, SERVERS, callback=lambda req: (200, {}, json.dumps(next(listings)))
    )
    responses.add(
        responses.POST,
        SERVERS,
        status=202,
        json=created_body(),
        headers={**REQUEST_ID, "Location": "%s/%s" % (SERVERS, NEW)},
    )
    responses.add(responses.DELETE, "%s/%s" % (SERVERS, NEW), status=204)


@responses.activate
def test_runner_deletes_the_servers_a_fixture_created_and_waits_until_they_are_gone():
    listings = iter(
        [servers_body(OLD), servers_body(OLD, NEW), servers_body(OLD, NEW), servers_body(OLD)]
    )
    serve_creates(listings)
    sleeps = []
    result = LiveRunner(target(), sleep=sleeps.append).run(FIXTURES["S01-minimal"])
    assert result.ok, result.describe()
    deletes = [c.request for c in responses.calls if c.request.method == "DELETE"]
    assert [d.url for d in deletes] == ["%s/%s" % (SERVERS, NEW)]  # never the old one
    assert deletes[0].headers["X-Auth-Token"] == "demo:%s" % PROJECT
    assert sleeps == [0.5] and result.notes == ()


def methods():
    return [c.request.method for c in responses.calls]


@responses.activate
def test_the_next_fixture_starts_from_what_the_clean_up_last_listed():
    listings = iter(
        [servers_body(OLD), servers_body(OLD, NEW), servers_body(OLD)]
        + [servers_body(OLD, NEW), servers_body(OLD)]
    )
    serve_creates(listings)
    runner = LiveRunner(target(), sleep=lambda seconds: None)
    assert runner.run(FIXTURES["S01-minimal"]).ok
    assert runner.run(FIXTURES["S01-minimal"]).ok
    # A listing before the first fixture; before the second, what the clean-up last listed.
    first = ["GET", "POST", "GET", "DELETE", "GET"]
    assert methods() == first + first[1:]
    deletes = [c.request.url for c in responses.calls if c.request.method == "DELETE"]
    assert deletes == ["%s/%s" % (SERVERS, NEW)] * 2  # never OLD


@responses.activate
def test_a_fixture_that_posts_nothing_is_not_followed_by_a_listing():
    flavor = "%s/v2/%s/flavors/%s" % (API, PROJECT, VALUES["flavor_id"])
    responses.add(responses.GET, SERVERS, json=servers_body())
    responses.add(responses.GET, flavor, status=404, json={})
    runner = LiveRunner(target(), sleep=lambda seconds: None)
    runner.run(FIXTURES["flavor-show"])
    runner.run(FIXTURES["flavor-show"])
    assert [c.request.url for c in responses.calls] == [SERVERS, flavor, flavor]


@responses.activate
def test_a_skipped_fixture_leaves_the_last_listing_to_the_next_one():
    listings = iter([servers_body(), servers_body(), servers_body()])
    responses.add_callback(
        responses.GET, SERVERS, callback=lambda req: (200, {}, json.dumps(next(listings)))
    )
    responses.add(responses.POST, SERVERS, status=400, headers=REQUEST_ID, json={})
    runner = LiveRunner(target(), sleep=lambda seconds: None)
    runner.run(FIXTURES["C03-name-absent"])
    assert runner.run(FIXTURES["A16a-image-not-active"]).outcome == SKIP  # no reference world
    runner.run(FIXTURES["C03-name-absent"])
    assert methods() == ["GET", "POST", "GET", "POST", "GET"]


@responses.activate
def test_a_server_that_appears_between_two_fixtures_is_deleted_after_the_second():
    listings = iter([servers_body(), servers_body(), servers_body(OLD), servers_body()])
    responses.add_callback(
        responses.GET, SERVERS, callback=lambda req: (200, {}, json.dumps(next(listings)))
    )
    responses.add(responses.POST, SERVERS, status=400, headers=REQUEST_ID, json={})
    responses.add(responses.DELETE, "%s/%s" % (SERVERS, OLD), status=204)
    runner = LiveRunner(target(), sleep=lambda seconds: None)
    runner.run(FIXTURES["C03-name-absent"])
    runner.run(FIXTURES["C03-name-absent"])  # OLD appeared before it: deleted after it
    assert methods() == ["GET", "POST", "GET", "POST", "GET", "DELETE", "GET"]


@responses.activate
def test_after_a_clean_up_that_did_not_finish_the_next_fixture_lists_again():
    listings = itertools.chain([servers_body()], itertools.repeat(servers_body(NEW)))
    serve_creates(listings)
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    runner = LiveRunner(target(), sleep=sleep, clock=lambda: now[0], cleanup_timeout=0.5)
    result = runner.run(FIXTURES["S01-minimal"])
    assert any("still there" in note for note in result.notes), result.notes
    calls = len(responses.calls)
    runner.run(FIXTURES["C03-name-absent"])
    assert responses.calls[calls].request.method == "GET"  # listed again, not carried


@responses.activate
def test_runner_says_when_servers_do_not_go_away():
    responses.add(responses.GET, SERVERS, json=servers_body())
    responses.add(responses.GET, SERVERS, json=servers_body(NEW))
    responses.add(responses.POST, SERVERS, status=202, json=created_body(), headers=REQUEST_ID)
    responses.add(responses.DELETE, "%s/%s" % (SERVERS, NEW), status=500, json={})
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    runner = LiveRunner(target(), sleep=sleep, clock=lambda: now[0], cleanup_timeout=2)
    result = runner.run(FIXTURES["S01-minimal"])
    assert any("deleting server %s answered 500" % NEW in note for note in result.notes)
    assert any("still there after 2s" in note for note in result.notes)


@responses.activate
def test_runner_reports_a_target_that_cannot_list_servers():
    responses.add(
        responses.GET,
        SERVERS,
        status=404,
        json={"itemNotFound": {"message": "The resource could not be found.", "code": 404}},
    )
    responses.add(
        responses.POST,
        SERVERS,
        status=400,
        headers=REQUEST_ID,
        json={"badRequest": {"message": "Server name is not defined", "code": 400}},
    )
    result = LiveRunner(target()).run(FIXTURES["C03-name-absent"])
    assert result.ok and "not cleaned up" in result.notes[0]


# ----------------------------------------------------------------------------- skips


def test_fixtures_naming_reference_world_objects_are_skipped_unless_the_target_has_them():
    queued = FIXTURES["A16a-image-not-active"]
    reason = live_skip_reason(queued, target())
    assert "image a2459075-d96c-40d5-893e-577ff92e721c (queued-image, queued, public)" in reason
    assert "--reference-world" in reason
    assert live_skip_reason(queued, target(reference_world=True)) is None
    in_use = live_skip_reason(FIXTURES["A18-port-in-use"], target())
    assert "port 88c6e0f6-5a79-4d4e-9a55-2a1c1d0e7b3a (in use)" in in_use
    assert "flavor 92 (m1.huge)" in live_skip_reason(FIXTURES["A24-quota-ram"], target())


@pytest.mark.parametrize(
    "fixture_id",
    [
        "C03-name-absent",
        "A06a-image-not-found",
        "A24-quota-instances",
        "C09a-security-groups-string-item",
        "A10-availability-zone-unknown",
        "S18-image-ref-url",
    ],
)
def test_fixtures_on_placeholders_or_unknown_ids_run_anywhere(fixture_id):
    assert live_skip_reason(FIXTURES[fixture_id], target()) is None


def test_world_changes_are_always_skipped_live_with_what_they_change():
    reason = live_skip_reason(FIXTURES["A24-quota-instances-world"], target(reference_world=True))
    assert "needs a world change (quotas.instances = 2)" in reason


def test_a_keystone_token_replaces_the_noauth_headers_and_admin_needs_its_own():
    request = build_request(FIXTURES["S21-forced-host-admin"], VALUES)
    assert "--admin-token" in authorize(request, target(token="tok"))
    admin = authorize(request, target(token="tok", admin_token="tok-admin"))
    assert admin.header_dict()["X-Auth-Token"] == "tok-admin"
    plain = authorize(build_request(FIXTURES["S01-minimal"], VALUES), target(token="tok"))
    assert plain.header_dict()["X-Auth-Token"] == "tok"
    noauth = build_request(FIXTURES["S01-minimal"], VALUES)
    assert authorize(noauth, target()) is noauth


@pytest.mark.parametrize(
    "url, root",
    [
        ("http://h:8774", "http://h:8774"),
        ("http://h:8774/", "http://h:8774"),
        ("http://h:8774/v2", "http://h:8774"),
        ("http://h:8774/v2/abc", "http://h:8774"),
        ("https://h/compute/v2/abc/", "https://h/compute"),
        ("http://h/v1.1/p", "http://h"),
    ],
)
def test_target_root(url, root):
    assert target_root(url) == root


# ----------------------------------------------------------------------------- -k


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("C03", {"C03-name-absent"}),
        ("A24 and cores", {"A24-quota-cores"}),
        (
            "(A14b or A15a) and not content",
            {"A14b-metadata-too-many-items", "A15a-personality-too-many-files"},
        ),
        ("§2.1 and F5", {"F05-project-id-mismatch"}),
        ("a24 AND CORES", {"A24-quota-cores"}),  # keywords in any case
        ("A24 and cores or C03", {"A24-quota-cores", "C03-name-absent"}),
        ("not C03 and C03", set()),  # not binds tighter than and
    ],
)
def test_select_with_k_expressions(expression, expected):
    assert {f.id for f in select(FIXTURES.values(), expression)} == expected


@pytest.mark.parametrize(
    "expression",
    ["A24 and (", "A24 cores", "or", "not", "()", "A24 (cores)", "(A24) cores", "A24 and not", ")"],
)
def test_select_rejects_a_broken_expression(expression):
    with pytest.raises(ValueError):
        select(FIXTURES.values(), expression)


# ----------------------------------------------------------------------------- reports


def _results():
    crash = FIXTURES["C09a-security-groups-string"]
    quota = FIXTURES["A24-quota-instances"]
    return [
        Result(FIXTURES["C03-name-absent"], PASS, 400, got="400 badRequest: x"),
        Result(
            crash,
            NOVA,
            500,
            ("status: expected 400, got 500",),
            "answered 500 as Icehouse itself did",
            got="500 computeFault: boom",
        ),
        Result(
            quota,
            FAIL,
            403,
            ("status: expected 413, got 403",),
            got="403 forbidden: Quota exceeded for instances",
        ),
        Result(FIXTURES["F02-rate-limited"], SKIP, reason="needs a world change (x)"),
    ]


def test_text_report_names_each_failure_its_source_expected_and_got():
    text = report.text_report(_results(), VALUES, API)
    assert text.splitlines()[-1] == "2 passed, 1 failed, 1 skipped"
    assert "FAIL A24-quota-instances  [icehouse-create-path.md §2.4 A24]" in text
    assert (
        "expected: 413 overLimit: Quota exceeded for instances: Requested 11, but already "
        "used 0 of 10 instances"
    ) in text
    assert "got:      403 forbidden: Quota exceeded for instances" in text
    assert "Icehouse answered 500: the target gave Icehouse's own answer (500)" in text
    assert "skipped: needs a world change (x)" in text


def test_junit_xml_has_a_case_per_fixture_failures_and_skips():
    root = ET.fromstring(report.junit_xml(_results(), VALUES, API))
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "1", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    failure = cases["A24-quota-instances"].find("failure")
    assert "icehouse-create-path.md §2.4 A24" in failure.get("message")
    assert "got 403 forbidden" in failure.get("message")
    assert cases["F02-rate-limited"].find("skipped").get("message") == "needs a world change (x)"
    assert (
        "the target gave Icehouse's own answer (500)"
        in cases["C09a-security-groups-string"].find("system-out").text
    )


def test_markdown_report_is_a_table_with_every_fixture():
    text = report.markdown_report(_results(), VALUES, API)
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == 4 and all(row.count(" | ") == 5 for row in rows)
    failed = next(row for row in rows if "A24-quota-instances" in row)
    assert "| failed |" in failed and "403 forbidden" in failed and "§2.4 A24" in failed
    assert text.strip().endswith("2 passed, 1 failed, 1 skipped")


def test_in_process_cli_run_writes_the_reports(tmp_path, capsys):
    junit, markdown = tmp_path / "j.xml", tmp_path / "r.md"
    args = cli.build_parser().parse_args(
        ["conformance", "-k", "C19 or S06", "--junit", str(junit), "--report", str(markdown)]
    )
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    assert re.search(r"^7 passed, 0 failed, 0 skipped$", out, re.MULTILINE)
    assert ET.parse(junit).getroot().find("testsuite").get("tests") == "7"
    assert markdown.read_text().count("| `") == 7


def test_cli_exit_status_is_1_when_a_fixture_fails(tmp_path, capsys):
    broken = json.loads((default_fixture_dir() / "C03-name-absent.json").read_text())
    broken["expect"]["status"] = 418
    (tmp_path / "C03-name-absent.json").write_text(json.dumps(broken))
    args = cli.build_parser().parse_args(["conformance", "--fixtures", str(tmp_path)])
    assert args.handler(args) == 1
    out = capsys.readouterr().out
    assert "FAIL C03-name-absent" in out and out.strip().endswith("0 passed, 1 failed, 0 skipped")


# ----------------------------------------------------------------------------- the session


def test_a_live_run_reads_the_environment_s_proxy_and_ca_settings_once(monkeypatch):
    from refnova.conformance.runners import _session_for

    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/our-ca.pem")
    session = _session_for("https://nova.example:8774")
    assert session.proxies.get("https") == "http://proxy.example:3128"
    assert session.verify == "/etc/ssl/our-ca.pem"
    assert session.trust_env is False  # not read again on each request
    monkeypatch.setenv("NO_PROXY", "nova.example")
    assert "https" not in _session_for("https://nova.example:8774").proxies
