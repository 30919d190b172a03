"""A fixture's ``setup``: requests sent first, whose answers fill ``{setup[N]...}``.

The format (fixtures/schema.json), the steps themselves (refnova.conformance.setup), the
in-process and live runners sending them, and tools/oracle_check.py turning them into the
oracle's requests and writing their ids back when it records.
"""

import copy
import importlib.util
import json

from refnova.conformance.fixtures import REPO_ROOT, Fixture, format_problems
from refnova.conformance.http import HttpRequest, HttpResponse
from refnova.conformance.results import FAIL, PASS
from refnova.conformance.runners import LiveTarget, call_wsgi, run_in_process, run_live
from refnova.conformance.setup import answer_values, run_setup
from refnova.conformance.world import load_reference_world

TOOL = REPO_ROOT / "tools" / "oracle_check.py"
_spec = importlib.util.spec_from_file_location("oracle_check_for_setup", TOOL)
oracle_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(oracle_check)

SERVER_ID = "0c2f9a4e-5b1d-4e8f-9a3c-7d6e5f4a3b2c"
CREATE = {
    "method": "POST",
    "path": "/v2/{project_id}/servers",
    "body": {"server": {"name": "listed", "imageRef": "{image_id}", "flavorRef": "{flavor_id}"}},
}


def fixture(**changes):
    data = {
        "name": "GET /servers/{id} of a server setup created",
        "source": "Nova 2014.1 source: nova/api/openstack/compute/servers.py Controller.show",
        "setup": [copy.deepcopy(CREATE)],
        "request": {"method": "GET", "path": "/v2/{project_id}/servers/{setup[0].server.id}"},
        "expect": {
            "status": 200,
            "body": {"server": {"id": "{setup[0].server.id}", "name": "listed"}},
        },
    }
    data.update(changes)
    return Fixture(path=REPO_ROOT / "fixtures" / "v2" / "setup-example.json", data=data)


def answer(status, body=None):
    return HttpResponse(status, (), json.dumps(body).encode() if body is not None else b"")


# --- the format ----------------------------------------------------------------------------


def test_a_fixture_with_setup_follows_the_format():
    assert format_problems(dict(fixture().data)) == []


def test_a_setup_step_with_an_unknown_key_or_no_path_breaks_the_format():
    assert format_problems(dict(fixture(setup=[dict(CREATE, expect=202)]).data))
    assert format_problems(dict(fixture(setup=[{"method": "POST"}]).data))
    assert format_problems(dict(fixture(setup=[]).data))
    undo = dict(CREATE, undo={"method": "DELETE", "path": "/x", "expect_status": 204})
    assert format_problems(dict(fixture(setup=[undo]).data))


def test_a_nova_source_citation_is_a_source():
    cited = fixture()
    assert cited.cites_nova_source
    assert format_problems(dict(fixture(source="Nova 2014.1 source: servers.py").data))


# --- the steps ----------------------------------------------------------------------------


def test_answer_values_name_every_leaf():
    values = answer_values(1, {"servers": [{"id": "a", "n": 2, "ok": True, "x": None}]})
    assert values == {
        "setup[1].servers[0].id": "a",
        "setup[1].servers[0].n": "2",
        "setup[1].servers[0].ok": "true",
    }


def test_steps_run_in_order_and_fill_the_next_step():
    sent = []

    def send(request):
        sent.append(request)
        if request.method == "POST":
            return answer(202, {"server": {"id": SERVER_ID}})
        return answer(200, {"server": {"id": SERVER_ID, "status": "ACTIVE"}})

    steps = [CREATE, {"method": "GET", "path": "/v2/p/servers/{setup[0].server.id}"}]
    outcome = run_setup(steps, {"project_id": "p", "image_id": "i", "flavor_id": "1"}, send)
    assert outcome.problem is None
    assert outcome.values["setup[0].server.id"] == SERVER_ID
    assert outcome.values["setup[1].server.status"] == "ACTIVE"
    assert [r.path for r in sent][-1] == f"/v2/p/servers/{SERVER_ID}"


def test_a_server_in_build_is_waited_for():
    statuses = iter(["BUILD", "BUILD", "ACTIVE"])
    shown = []

    def send(request):
        if request.method == "POST":
            return answer(202, {"server": {"id": SERVER_ID}})
        shown.append(request.path)
        return answer(200, {"server": {"status": next(statuses)}})

    outcome = run_setup([CREATE], {"project_id": "p"}, send, sleep=lambda _s: None)
    assert outcome.problem is None
    assert shown == [f"/v2/p/servers/{SERVER_ID}"] * 3


def test_the_waits_for_a_server_in_build_start_short_and_double_up_to_half_a_second():
    statuses = iter(["BUILD"] * 12 + ["ACTIVE"])
    sleeps = []

    def send(request):
        if request.method == "POST":
            return answer(202, {"server": {"id": SERVER_ID}})
        return answer(200, {"server": {"status": next(statuses)}})

    assert run_setup([CREATE], {"project_id": "p"}, send, sleep=sleeps.append).problem is None
    assert sleeps[:3] == [0.002, 0.004, 0.008]
    assert all(b == min(2 * a, 0.5) for a, b in zip(sleeps, sleeps[1:], strict=False))
    assert sleeps[-1] == 0.5 and len(sleeps) == 12


def test_a_server_that_stays_in_build_is_a_problem():
    ticks = iter(range(100))

    def send(request):
        if request.method == "POST":
            return answer(202, {"server": {"id": SERVER_ID}})
        return answer(200, {"server": {"status": "BUILD"}})

    outcome = run_setup(
        [CREATE], {}, send, sleep=lambda _s: None, clock=lambda: next(ticks), settle_timeout=5
    )
    assert "still in BUILD" in outcome.problem


def test_a_step_that_fails_stops_setup_with_the_answer():
    def send(request):
        return answer(400, {"badRequest": {"message": "Invalid flavorRef provided.", "code": 400}})

    outcome = run_setup([CREATE, CREATE], {}, send)
    assert outcome.problem.startswith("setup[0] POST")
    assert "400 badRequest: Invalid flavorRef provided." in outcome.problem


def test_expect_status_accepts_a_refusal_and_undo_requests_come_back_reversed():
    steps = [
        dict(CREATE, expect_status=400, undo={"method": "DELETE", "path": "/a"}),
        dict(CREATE, expect_status=400, undo={"method": "DELETE", "path": "/b"}),
    ]
    outcome = run_setup(steps, {}, lambda request: answer(400, {}))
    assert outcome.problem is None
    assert [request.path for request in outcome.undo] == ["/b", "/a"]


# --- the runners ----------------------------------------------------------------------------


def test_in_process_the_fixture_sees_the_server_setup_created():
    result = run_in_process(fixture())
    assert result.outcome == PASS, result.describe()


def test_in_process_a_wrong_expectation_about_the_setup_server_fails():
    wrong = fixture(expect={"status": 200, "body": {"server": {"name": "other"}}})
    assert run_in_process(wrong).outcome == FAIL


def test_in_process_a_failing_setup_fails_the_fixture_with_the_reason():
    broken = copy.deepcopy(CREATE)
    broken["body"]["server"]["flavorRef"] = "999"
    result = run_in_process(fixture(setup=[broken]))
    assert result.outcome == FAIL
    assert "setup[0] POST" in result.reason and "400" in result.reason


class WsgiSession:
    """A requests.Session look-alike that hands each request to a WSGI app."""

    def __init__(self, app):
        self.app, self.sent = app, []

    def request(self, method, url, headers=None, data=None, **_options):
        path = "/" + url.split("/", 3)[3]
        headers = {k: v for k, v in (headers or {}).items() if v is not None}
        self.sent.append((method, path))
        got = call_wsgi(self.app, HttpRequest(method, path, tuple(headers.items()), (), data))
        return _Reply(got.status, dict(got.headers), got.body)


class _Reply:
    def __init__(self, status, headers, content):
        self.status_code, self.headers, self.content = status, headers, content


def test_live_runs_setup_first_and_sends_the_undo_afterwards():
    from refnova.conformance.placeholders import placeholder_values
    from refnova.conformance.runners import reference_deployment

    world = load_reference_world(None)
    values = placeholder_values(world)
    deployment = reference_deployment(world)
    try:
        session = WsgiSession(deployment.app)
        step = dict(
            CREATE,
            undo={"method": "DELETE", "path": "/v2/{project_id}/servers/{setup[0].server.id}"},
        )
        target = LiveTarget("http://refnova.invalid", values, reference_world=True)
        result = run_live(fixture(setup=[step]), target.url, values, session=session, target=target)
        assert result.outcome == PASS, result.describe()
        methods = [method for method, _path in session.sent]
        assert methods[0] == "POST" and methods[-1] == "DELETE"
        server_id = session.sent[-1][1].rsplit("/", 1)[1]
        gone = call_wsgi(
            deployment.app,
            HttpRequest(
                "GET",
                f"/v2/{values['project_id']}/servers/{server_id}",
                (("X-Auth-Token", f"{values['user_id']}:{values['project_id']}"),),
                (),
                b"",
            ),
        )
        assert gone.status == 404
    finally:
        deployment.close()


# --- the oracle ------------------------------------------------------------------------------


def test_the_oracle_gets_setup_first_with_its_answer_placeholders():
    values = oracle_check.reference_values()
    admin_step = dict(CREATE, headers={"X-Auth-Token": "admin:{project_id}"})
    steps = oracle_check.oracle_setup(fixture(setup=[CREATE, admin_step]), values, 3)
    assert [step["as"] for step in steps] == ["user", "admin"]
    assert all("X-Auth-Token" not in step["headers"] for step in steps)
    request = oracle_check.oracle_request(fixture(), values, 3)
    assert request["path"] == "/v2/%s/servers/{answer[3].server.id}" % values["project_id"]


def test_the_oracle_runs_a_fixture_with_setup_in_a_deployment_of_its_own():
    runs = oracle_check.plan_runs([fixture(), fixture()])
    assert [len(members) for _spec, members in runs] == [1, 1]


def test_recording_writes_setup_ids_back_as_placeholders():
    setup_answers = [{"body": {"server": {"id": SERVER_ID, "links": []}}}]
    named = oracle_check.setup_names(setup_answers)
    assert named == {"setup[0].server.id": SERVER_ID}
    host = "http://oracle"
    body = {
        "servers": [
            {
                "id": SERVER_ID,
                "links": [{"rel": "self", "href": f"{host}/v2.1/servers/{SERVER_ID}"}],
            }
        ]
    }
    values = oracle_check.reference_values()
    out = oracle_check.generalize(body, values, host, named=named)
    assert out["servers"][0]["id"] == "{setup[0].server.id}"
    assert out["servers"][0]["links"][0]["href"] == (
        r"<re:https?://[^/]+/v2\.1/servers/{setup[0].server.id}>"
    )
