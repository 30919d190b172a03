"""tools/oracle_check.py without Nova: its pieces, and whole runs against a fake oracle.

The fake oracle is a script with the real one's interface (a request file in, ``--out``
results) that answers each request from a canned table, so these tests show that the
checker reports a fixture whose expectation the "Nova" no longer meets, and that recording
writes what it answered.
"""

import importlib.util
import json
import re
import sys

import pytest

from refnova.conformance.fixtures import REPO_ROOT, Fixture, FixtureError, load_fixture
from refnova.conformance.http import build_request
from refnova.conformance.matcher import check_response, match
from refnova.conformance.placeholders import expand
from refnova.conformance.runners import run_in_process

TOOL = REPO_ROOT / "tools" / "oracle_check.py"
spec = importlib.util.spec_from_file_location("oracle_check", TOOL)
oracle_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(oracle_check)

VALUES = oracle_check.reference_values()
HOST = "http://1f2e3d4c-oracle"
SERVER_ID = "9e107d9d-372b-4c6e-8d2b-7a1f0e5c3b21"

FAKE_ORACLE = r"""
import json, os, sys
spec = json.load(open(sys.argv[1]))
answers = json.load(open(os.environ["FAKE_ANSWERS"]))
with open(os.environ["FAKE_SEEN"], "a") as seen:
    seen.write(json.dumps(spec) + "\n")
results = []
for i, request in enumerate(spec["requests"]):
    if request.get("cleanup"):
        results.append({"i": i, "name": request["name"], "method": "CLEANUP", "path": "",
                        "status": 200, "headers": {}, "body": {"deleted": 0}})
        continue
    answer = answers[request["name"]]
    results.append(dict(answer, i=i, name=request["name"], method=request["method"],
                        path=request["path"]))
json.dump(results, open(sys.argv[sys.argv.index("--out") + 1], "w"))
"""

FAULT_HEADERS = {
    "Content-Type": "application/json; charset=UTF-8",
    "OpenStack-API-Version": "compute 2.1",
    "X-OpenStack-Nova-API-Version": "2.1",
    "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
}


def fixture_data(row="J9", **extra):
    data = {
        "name": f"{row}: name is a number",
        "source": f"pending {row}",
        "request": {
            "method": "POST",
            "path": "/v2.1/servers",
            "body": {"server": {"name": 123, "imageRef": "{image_id}", "flavorRef": "{flavor_id}"}},
        },
        "expect": {
            "status": 400,
            "headers": dict(FAULT_HEADERS),
            "body": {
                "badRequest": {
                    "code": 400,
                    "message": "Invalid input for "
                    "field/attribute name. Value: 123. 123 is not of type 'string'",
                }
            },
            "exact_body": True,
        },
    }
    data.update(extra)
    return data


def write_fixture(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def nova_answer(
    message="Invalid input for field/attribute name. Value: 123. 123 is not of type 'string'",
    status=400,
):
    return {
        "status": status,
        "headers": dict(FAULT_HEADERS),
        "body": {"badRequest": {"code": status, "message": message}},
    }


@pytest.fixture
def fake(tmp_path, monkeypatch):
    script = tmp_path / "fake_oracle.py"
    script.write_text(FAKE_ORACLE)
    answers, seen = tmp_path / "answers.json", tmp_path / "seen.jsonl"
    monkeypatch.setenv("FAKE_ANSWERS", str(answers))
    monkeypatch.setenv("FAKE_SEEN", str(seen))

    def run(paths, table, *options):
        answers.write_text(json.dumps(table))
        argv = [str(p) for p in paths] + [
            "--oracle",
            str(script),
            "--python",
            sys.executable,
            "--keep",
            str(tmp_path / "work"),
            *options,
        ]
        return oracle_check.main(argv)

    run.seen = lambda: [json.loads(line) for line in seen.read_text().splitlines()]
    return run


# --- whole runs ----------------------------------------------------------------------------


def test_a_fixture_nova_still_meets_matches(fake, tmp_path, capsys):
    path = write_fixture(tmp_path, "J09-name-type.json", fixture_data())
    assert fake([path], {"J09-name-type": nova_answer()}) == 0
    assert "1 /v2.1 fixtures against real Nova 34.0.0: 1 match" in capsys.readouterr().out


def test_a_changed_nova_answer_is_reported_with_the_matcher_s_words(fake, tmp_path, capsys):
    path = write_fixture(tmp_path, "J09-name-type.json", fixture_data())
    changed = nova_answer("Invalid input for field/attribute name. Value: 123. 123 is not a string")
    assert fake([path], {"J09-name-type": changed}) == 1
    out = capsys.readouterr().out
    assert "DIFF     J09-name-type" in out and "body.badRequest.message: expected" in out
    assert "1 diff" in out


def test_a_fixture_pinning_a_nova_crash_matches_while_nova_still_crashes(fake, tmp_path, capsys):
    path = write_fixture(
        tmp_path, "K13-personality-path-missing.json", fixture_data("K13", nova_status=500)
    )
    crash = {"status": 500, "headers": {}, "body": {"computeFault": {"code": 500}}}
    assert fake([path], {"K13-personality-path-missing": crash}) == 0
    assert fake([path], {"K13-personality-path-missing": nova_answer()}) == 1
    assert "Nova answered 400, the fixture records nova_status 500" in capsys.readouterr().out


def test_the_oracle_gets_refnova_s_request_its_own_identity_and_a_cleanup(fake, tmp_path):
    data = fixture_data(oracle={"config": {"quota": {"instances": 1}}, "as": "admin"})
    data["request"]["headers"] = {"Content-Type": None, "X-Extra": "{project_id}"}
    path = write_fixture(tmp_path, "J09-name-type.json", data)
    fake([path], {"J09-name-type": nova_answer()})
    (sent,) = fake.seen()
    assert sent["config"] == {"api": {"response_validation": "warn"}, "quota": {"instances": 1}}
    request, cleanup = sent["requests"]
    refnova_request = build_request(load_fixture(path), VALUES)
    assert request["body"].encode("utf-8") == refnova_request.body
    assert request["as"] == "admin"
    assert request["headers"]["Content-Type"] is None
    assert request["headers"]["X-Extra"] == VALUES["project_id"]
    assert not any(name.lower() == "x-auth-token" for name in request["headers"])
    assert cleanup == {"name": "cleanup after J09-name-type", "cleanup": True}


def test_setup_requests_go_first_in_a_deployment_of_their_own(fake, tmp_path):
    setup = [
        {
            "name": "admin: flavor",
            "as": "admin",
            "method": "POST",
            "path": "/v2.1/flavors",
            "body": {"flavor": {"name": "f"}},
        }
    ]
    one = write_fixture(
        tmp_path, "X12-flavor-private.json", fixture_data("X12", oracle={"setup": setup})
    )
    two = write_fixture(tmp_path, "J09-name-type.json", fixture_data())
    table = {
        "X12-flavor-private": nova_answer(),
        "J09-name-type": nova_answer(),
        "admin: flavor": {"status": 200, "headers": {}, "body": {}},
    }
    assert fake([one, two], table) == 0
    runs = fake.seen()
    assert len(runs) == 2
    with_setup = next(run for run in runs if len(run["requests"]) == 3)
    assert [r.get("name") for r in with_setup["requests"]] == [
        "admin: flavor",
        "X12-flavor-private",
        "cleanup after X12-flavor-private",
    ]


def test_a_failing_setup_request_stops_the_check(fake, tmp_path):
    setup = [{"name": "admin: flavor", "method": "POST", "path": "/v2.1/flavors"}]
    path = write_fixture(
        tmp_path, "X12-flavor-private.json", fixture_data("X12", oracle={"setup": setup})
    )
    with pytest.raises(RuntimeError, match="setup request admin: flavor failed"):
        fake([path], {"X12-flavor-private": nova_answer(), "admin: flavor": nova_answer()})


def test_record_writes_nova_s_answer_as_the_expectation(fake, tmp_path):
    data = fixture_data("R1")
    data["request"]["body"]["server"]["name"] = "vm"
    data["expect"] = {"status": 400}  # a guess: --record replaces it
    path = write_fixture(tmp_path, "R01-minimal.json", data)
    location = f"{HOST}/v2.1/servers/{SERVER_ID}"
    created = {
        "status": 202,
        "headers": {
            "Content-Type": "application/json",
            "location": location,
            "OpenStack-API-Version": "compute 2.1",
            "X-OpenStack-Nova-API-Version": "2.1",
            "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
            "x-openstack-request-id": "req-" + SERVER_ID,
            "x-compute-request-id": "req-" + SERVER_ID,
        },
        "body": {
            "server": {
                "id": SERVER_ID,
                "adminPass": "a2BcDe3FgHjK",
                "links": [
                    {"rel": "self", "href": location},
                    {"rel": "bookmark", "href": f"{HOST}/servers/{SERVER_ID}"},
                ],
                "OS-DCF:diskConfig": "MANUAL",
                "security_groups": [{"name": "default"}],
            }
        },
    }
    assert fake([path], {"R01-minimal": created}, "--record") == 0
    recorded = json.loads(path.read_text())
    assert re.fullmatch(r"nova-oracle nova==34\.0\.0 run \d{8}T\d{4}Z R1", recorded["source"])
    expect = recorded["expect"]
    assert expect["status"] == 202 and expect["exact_body"] is True
    assert expect["body"]["server"]["id"] == "<uuid>"
    assert expect["body"]["server"]["adminPass"].startswith("<re:")
    assert expect["headers"]["x-openstack-request-id"] == expect["headers"]["x-compute-request-id"]
    # The recorded expectation matches what was recorded, and a fresh create of refnova's.
    assert check_response(expand(expect, VALUES), oracle_check.as_response(created)) == []
    assert run_in_process(load_fixture(path)).ok
    # ... and re-checking it against the same answer is a match.
    assert fake([path], {"R01-minimal": created}) == 0


# --- pieces --------------------------------------------------------------------------------


def test_generalize_turns_generated_values_into_markers_and_world_ids_into_placeholders():
    body = {
        "id": SERVER_ID,
        "reservation_id": "r-0l868bs3",
        "links": [{"href": f"{HOST}/v2.1/{VALUES['project_id']}/servers/{SERVER_ID}"}],
        "message": "Network %s could not be found." % VALUES["network_id"],
    }
    out = oracle_check.generalize(body, VALUES, HOST)
    assert out["id"] == "<uuid>" and out["reservation_id"] == "<re:r-[0-9a-z]{8}>"
    assert out["message"] == "Network {network_id} could not be found."
    href = expand(out["links"][0]["href"], VALUES)
    assert match(href, body["links"][0]["href"]) == []
    assert match(href, body["links"][0]["href"].replace(HOST, "https://elsewhere:8774")) == []


def test_a_long_recorded_text_becomes_an_exact_equivalent_pattern():
    text = "Value: %s. '%s' is too long" % ("QUFB" * 16384, "QUFB" * 16384)
    pattern = oracle_check.generalize(text, VALUES, HOST, "message")
    assert len(pattern) < 200
    assert match(pattern, text) == []
    assert match(pattern, text.replace("QUFB", "QUFC", 1)) != []
    assert match(pattern, text[:-1]) != []


def test_runs_group_fixtures_by_config_and_world():
    def fixture(name, oracle=None):
        data = fixture_data()
        if oracle:
            data["oracle"] = oracle
        return Fixture(path=REPO_ROOT / name, data=data)

    plain = [fixture("J01-a.json"), fixture("J02-b.json")]
    seeded = [
        fixture("X17-c.json", {"world": {"ports": [{"id": "p"}]}}),
        fixture("X18-d.json", {"world": {"ports": [{"id": "p"}]}, "note": "n"}),
    ]
    other = [fixture("X19-e.json", {"world": {"networks": [{"id": "n"}]}})]
    runs = oracle_check.plan_runs(plain + seeded + other)
    assert sorted(len(members) for _spec, members in runs) == [1, 2, 2]
    with pytest.raises(FixtureError):
        oracle_check.plan_runs([fixture("J03-f.json", {"typo": 1})])


def test_row_ids_come_from_file_names():
    assert oracle_check.row_id_of("J07-description.json") == "J7"
    assert oracle_check.row_id_of("M03a-x.json") == "M3a"
    with pytest.raises(FixtureError):
        oracle_check.row_id_of("description.json")
