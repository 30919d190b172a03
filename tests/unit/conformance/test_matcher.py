"""Unit tests of refnova.conformance: matcher, expansion, request building, runners.

None of these needs the refnova application: the runners get a fake WSGI app or a
mocked HTTP endpoint.
"""

import json
from pathlib import Path

import pytest
import responses

from refnova.conformance.fixtures import (
    Fixture,
    FixtureError,
    fixture_paths,
    format_problems,
    load_fixture,
)
from refnova.conformance.http import HttpResponse, build_request
from refnova.conformance.matcher import check_response, match
from refnova.conformance.placeholders import expand, generate
from refnova.conformance.report import summarize
from refnova.conformance.results import FAIL, NOVA, PASS, SKIP, Result, evaluate
from refnova.conformance.runners import live_values, run_in_process, run_live

UUID = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
VALUES = {
    "project_id": "p1",
    "user_id": "demo",
    "image_id": UUID,
    "flavor_id": "1",
    "network_id": "n1",
}
WORLD = {"defaults": VALUES}


def make_fixture(tmp_path=None, **overrides):
    data = {
        "name": "C3: name key absent",
        "source": "icehouse-create-path.md §2.3 C3",
        "request": {
            "method": "POST",
            "path": "/v2/{project_id}/servers",
            "body": {"server": {"imageRef": "{image_id}", "flavorRef": "{flavor_id}"}},
        },
        "expect": {
            "status": 400,
            "body": {"badRequest": {"message": "Server name is not defined", "code": 400}},
            "exact_body": True,
        },
    }
    data.update(overrides)
    assert format_problems(data) == []
    path = (tmp_path / "C03-x.json") if tmp_path else Path("C03-x.json")
    return Fixture(path=path, data=data)


def response(status=200, body=b"", headers=()):
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return HttpResponse(status, tuple(headers), body)


# ----------------------------------------------------------------------------- markers


@pytest.mark.parametrize(
    "marker, good, bad",
    [
        ("<string>", "x", 1),
        ("<string>", "", None),
        ("<uuid>", UUID, UUID.upper()),
        ("<uuid>", UUID, UUID.replace("-", "")),
        ("<uuid>", UUID, "not-a-uuid"),
        ("<uuid>", UUID, 42),
        ("<re:r-[0-9a-z]{8}>", "r-abc12345", "r-abc1234"),
        ("<re:r-[0-9a-z]{8}>", "r-abc12345", "xr-abc12345"),  # fullmatch, not search
        ("<re:r-[0-9a-z]{8}>", "r-abc12345", "r-abc12345x"),
        ("<re:\\d+>", "12", 12),  # a regex needs a string
    ],
)
def test_marker_matches_and_fails(marker, good, bad):
    assert match({"k": marker}, {"k": good}) == []
    problems = match({"k": marker}, {"k": bad})
    assert len(problems) == 1 and problems[0].startswith("$.k:")


@pytest.mark.parametrize("value", [None, 0, "", [], {}, "x"])
def test_any_matches_every_value(value):
    assert match({"k": "<any>"}, {"k": value}) == []


def test_any_fails_when_the_key_is_missing():
    assert match({"k": "<any>"}, {}) == ["$.k: missing"]


def test_absent_key():
    assert match({"k": "<absent>"}, {"other": 1}) == []
    assert match({"k": "<absent>"}, {"k": None}) == ["$.k: must be absent, got null"]


def test_absent_key_in_exact_mode():
    assert match({"a": 1, "k": "<absent>"}, {"a": 1}, exact=True) == []
    assert match({"a": 1, "k": "<absent>"}, {"a": 1, "k": 2}, exact=True)


def test_absent_outside_a_mapping_never_matches():
    assert match(["<absent>"], ["x"])
    assert match("<absent>", None)


def test_regex_placeholders_are_expanded_before_matching():
    expected = expand({"href": "<re:http://[^/]+/v2/{project_id}/servers/.+>"}, VALUES)
    assert match(expected, {"href": "http://h:1/v2/p1/servers/x"}) == []
    assert match(expected, {"href": "http://h:1/v2/p2/servers/x"})


def test_bad_regex_is_a_mismatch_not_a_crash():
    assert match("<re:(>", "(")


# ----------------------------------------------------------------------------- structure


def test_objects_match_as_subsets_by_default():
    assert match({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}, "d": 3}) == []


def test_missing_key_fails():
    assert match({"a": {"b": 1}}, {"a": {"c": 1}}) == ["$.a.b: missing"]


def test_exact_rejects_extra_keys_at_every_depth():
    assert match({"a": {"b": 1}}, {"a": {"b": 1}}, exact=True) == []
    assert match({"a": {"b": 1}}, {"a": {"b": 1}, "z": 0}, exact=True) == [
        "$: unexpected keys ['z']"
    ]
    assert match({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}}, exact=True) == [
        "$.a: unexpected keys ['c']"
    ]


def test_object_against_non_object():
    assert match({"a": 1}, [1])
    assert match({"a": 1}, None)


def test_lists_match_element_wise_with_equal_length():
    assert match([{"name": "default"}], [{"name": "default", "x": 1}]) == []
    assert match([1, 2], [1, 2, 3])[0].startswith("$: expected 2 items, got 3")
    assert match([1, 2], [1]) != []
    assert match([1, 2], [2, 1]) == ["$[0]: expected 1, got 2", "$[1]: expected 2, got 1"]
    assert match([1], {"0": 1}) != []


def test_markers_inside_lists():
    assert match(["<uuid>", "<string>"], [UUID, "s"]) == []
    assert match(["<uuid>", "<string>"], [UUID, 5]) == ["$[1]: expected <string>, got 5"]


@pytest.mark.parametrize(
    "expected, actual",
    [
        (400, "400"),
        (1, True),
        (True, 1),
        (0, False),
        (None, "null"),
        ("0", 0),
        ("a", "b"),
        (1, 2),
        (None, 0),
    ],
)
def test_scalars_compare_by_json_type_and_value(expected, actual):
    assert match(expected, actual) != []
    assert match(expected, expected) == []


def test_int_and_float_are_both_numbers():
    assert match(1, 1.0) == []


def test_crlf_text_must_match_exactly():
    generic = "The server could not comply with the request since\r\nit is either malformed."
    assert match(generic, generic) == []
    assert match(generic, generic.replace("\r\n", "\n"))


# ----------------------------------------------------------------------------- responses


def test_header_names_are_case_insensitive():
    actual = response(headers=[("content-type", "application/json"), ("Retry-After", "0")])
    expect = {
        "status": 200,
        "headers": {"Content-Type": "<re:application/json(;.*)?>", "retry-after": "0"},
    }
    assert check_response(expect, actual) == []


def test_header_value_mismatch_missing_and_absent():
    actual = response(headers=[("Retry-After", "5"), ("Location", "http://x")])
    expect = {
        "status": 200,
        "headers": {"Retry-After": "0", "X-Missing": "<any>", "location": "<absent>"},
    }
    problems = check_response(expect, actual)
    assert problems == [
        'header Retry-After: expected "0", got "5"',
        "header X-Missing: missing",
        "header location: must be absent, got 'http://x'",
    ]


def test_repeated_headers_are_joined():
    actual = response(headers=[("Vary", "a"), ("vary", "b")])
    assert actual.header_map() == {"vary": "a, b"}


def test_status_mismatch():
    assert check_response({"status": 202}, response(400)) == ["status: expected 202, got 400"]


def test_body_subset_and_exact():
    actual = response(400, {"badRequest": {"message": "m", "code": 400}})
    assert check_response({"status": 400, "body": {"badRequest": {"code": 400}}}, actual) == []
    assert check_response(
        {"status": 400, "body": {"badRequest": {"code": 400}}, "exact_body": True}, actual
    ) == ["body.badRequest: unexpected keys ['message']"]


def test_body_expected_but_response_is_not_json():
    problems = check_response({"status": 413, "body": {}}, response(413, b"<html>"))
    assert problems and problems[0].startswith("body: not JSON")


def test_text_contains():
    page = response(413, b"413 Request Entity Too Large\n\nRequest is too large.\n")
    expect = {"status": 413, "text_contains": ["Request is too large."]}
    assert check_response(expect, page) == []
    expect["text_contains"].append("Something else")
    assert len(check_response(expect, page)) == 1


def test_body_not_checked_when_not_expected():
    assert check_response({"status": 413}, response(413, b"not json")) == []


# ----------------------------------------------------------------------------- expansion


def test_expand_replaces_placeholders_everywhere_and_leaves_others():
    value = {"{user_id}": ["{project_id}/{image_id}", "{unknown}", 5, None, True]}
    assert expand(value, VALUES) == {"demo": [f"p1/{UUID}", "{unknown}", 5, None, True]}


def test_generate_repeat_anywhere_in_the_body():
    body = {"server": {"user_data": {"$repeat": ["QUFB", 3]}, "p": [{"$repeat": ["a", 0]}]}}
    assert generate(body) == {"server": {"user_data": "QUFBQUFBQUFB", "p": [""]}}


@pytest.mark.parametrize(
    "spec",
    [
        {"$repeat": ["a"]},
        {"$repeat": ["a", -1]},
        {"$repeat": [1, 2]},
        {"$repeat": ["a", 2], "extra": 1},
        {"$repeat": ["a", True]},
    ],
)
def test_generate_rejects_malformed_repeat(spec):
    with pytest.raises(FixtureError):
        generate({"x": spec})


def test_build_request_defaults_and_expansion():
    request = build_request(make_fixture(), VALUES)
    assert request.method == "POST"
    assert request.path == "/v2/p1/servers"
    assert request.header_dict() == {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-Auth-Token": "demo:p1",
    }
    assert json.loads(request.body) == {"server": {"imageRef": UUID, "flavorRef": "1"}}


def test_build_request_header_override_is_case_insensitive_and_null_removes():
    fixture = make_fixture(
        request={
            "method": "POST",
            "path": "/v2/{project_id}/servers",
            "headers": {
                "content-type": "text/plain",
                "Accept": None,
                "X-Auth-Token": "admin:{project_id}",
            },
            "body": {},
        }
    )
    request = build_request(fixture, VALUES)
    assert request.header_dict() == {"content-type": "text/plain", "X-Auth-Token": "admin:p1"}
    assert request.removed == ("Accept",)
    assert request.method == "POST"


def test_build_request_raw_bodies():
    text = make_fixture(
        request={
            "method": "POST",
            "path": "/v2/{project_id}/servers",
            "body_text": '{"server": "{user_id}"',
        }
    )
    assert build_request(text, VALUES).body == b'{"server": "demo"'
    big = make_fixture(
        request={
            "method": "POST",
            "path": "/v2/{project_id}/servers",
            "body_text_repeat": ["a", 114689],
        }
    )
    assert build_request(big, VALUES).body == b"a" * 114689
    empty = make_fixture(
        request={"method": "POST", "path": "/v2/{project_id}/servers", "body_text": ""}
    )
    assert build_request(empty, VALUES).body == b""


def test_build_request_generates_after_expanding():
    fixture = make_fixture(
        request={"method": "POST", "path": "/x", "body": {"n": {"$repeat": ["{flavor_id}", 3]}}}
    )
    assert json.loads(build_request(fixture, VALUES).body) == {"n": "111"}


# ----------------------------------------------------------------------------- fixture format


def test_format_problems_accepts_the_documented_format():
    assert format_problems(make_fixture().data) == []


@pytest.mark.parametrize(
    "change, problem",
    [
        (
            {"source": "icehouse-create-path.md §2.3"},
            "source: 'icehouse-create-path.md §2.3' does not",
        ),
        ({"source": "icehouse-create-path.md §2.3 name-absent"}, "source: "),
        ({"surprise": 1}, "fixture: Additional properties are not allowed ('surprise' was"),
        ({"nova_status": "500"}, "nova_status: '500' is not of type 'integer'"),
        ({"world": []}, "world: [] is not of type 'object'"),
        ({"expect": {"status": "400"}}, "expect.status: "),
        ({"expect": {"status": 400, "body": {"id": "<uid>"}}}, "expect.body.id: '<uid>' does not"),
        (
            {"expect": {"status": 400, "body": {"id": "<re:(>"}}},
            "expect.body.id: bad regular expression",
        ),
        (
            {"expect": {"status": 400, "body": ["<absent>"]}},
            "expect.body[0]: '<absent>' should not",
        ),
        ({"expect": {"status": 400, "exact_body": True}}, "'body' is a dependency of 'exact_body'"),
        ({"expect": {"status": 400, "text_contains": "x"}}, "expect.text_contains: "),
        ({"request": {"method": "POST", "path": "/x", "body": {}, "body_text": ""}}, "request: "),
        ({"request": {"method": "POST", "path": "x"}}, "request.path: "),
        ({"request": {"method": "POST", "path": "/x", "headers": {"A": 1}}}, "request.headers.A: "),
        (
            {"request": {"method": "POST", "path": "/x", "body": {"a": {"$repeat": "x"}}}},
            "request.body.a.$repeat: ",
        ),
        (
            {"request": {"method": "POST", "path": "/x", "body_text_repeat": ["a"]}},
            "request.body_text_repeat: ",
        ),
        ({"request": {"method": "post", "path": "/x"}}, "request.method: "),
        (
            {"expect": {"status": 400, "headers": {"Location": "<uid>"}}},
            "expect.headers.Location: ",
        ),
    ],
)
def test_format_problems_reports_problems(change, problem):
    data = dict(make_fixture().data, **change)
    problems = format_problems(data)
    assert any(problem in p for p in problems), problems


def test_format_problems_requires_the_four_keys():
    assert format_problems({}) == [
        "fixture: 'expect' is a required property",
        "fixture: 'name' is a required property",
        "fixture: 'request' is a required property",
        "fixture: 'source' is a required property",
    ]
    assert format_problems([]) == ["fixture: [] is not of type 'object'"]


def test_re_marker_text_is_checked_in_headers_and_body_only():
    expect = {"status": 400, "headers": {"X": "<re:[>"}, "text_contains": ["<re:[>"]}
    assert format_problems(dict(make_fixture().data, expect=expect)) == [
        "expect.headers.X: bad regular expression: unterminated character set at position 0"
    ]


@pytest.mark.parametrize(
    "source, row",
    [
        ("icehouse-create-path.md §2.1 F1", "F1"),
        ("x §2.3 C7b", "C7b"),
        ("x §2.4 A14d", "A14d"),
        ("x §2.4 A25", "A25"),
        ("icehouse-create-path.md §3", "§3"),
    ],
)
def test_row_id_is_the_last_token(source, row):
    fixture = make_fixture(source=source)
    assert fixture.row_id == row


def test_load_fixture_round_trip_and_errors(tmp_path):
    good = tmp_path / "C03-ok.json"
    good.write_text(json.dumps(make_fixture().data))
    assert load_fixture(good).id == "C03-ok"
    broken = tmp_path / "C03-broken.json"
    broken.write_text("{")
    with pytest.raises(FixtureError, match="not valid JSON"):
        load_fixture(broken)
    wrong = tmp_path / "C03-wrong.json"
    wrong.write_text(json.dumps(dict(make_fixture().data, source="nothing")))
    with pytest.raises(FixtureError, match="C03-wrong.json: source: 'nothing' does not match"):
        load_fixture(wrong)
    assert [p.name for p in fixture_paths(tmp_path)] == [
        "C03-broken.json",
        "C03-ok.json",
        "C03-wrong.json",
    ]


# ----------------------------------------------------------------------------- evaluation


def test_evaluate_pass_fail_and_nova_status():
    crash = make_fixture(
        nova_status=500,
        expect={
            "status": 400,
            "body": {"badRequest": {"message": "<string>", "code": 400}},
            "exact_body": True,
        },
    )
    good = response(
        400, {"badRequest": {"message": "security_groups entries must be objects", "code": 400}}
    )
    assert evaluate(crash, good, VALUES).outcome == PASS
    nova = evaluate(crash, response(500, {"computeFault": {"message": "x", "code": 500}}), VALUES)
    assert nova.outcome == NOVA and not nova.ok and "Icehouse" in nova.reason
    other = evaluate(crash, response(502, b""), VALUES)
    assert other.outcome == FAIL and other.mismatches


def test_evaluate_expands_placeholders_in_expectations():
    fixture = make_fixture(expect={"status": 400, "body": {"m": "project {project_id}"}})
    assert evaluate(fixture, response(400, {"m": "project p1"}), VALUES).ok
    assert not evaluate(fixture, response(400, {"m": "project {project_id}"}), VALUES).ok


def test_summarize_counts_and_lists_non_passes():
    fixture = make_fixture()
    results = [
        Result(fixture, PASS, 400),
        Result(fixture, FAIL, 500, ("status",)),
        Result(fixture, SKIP, reason="needs a world change"),
    ]
    text = summarize(results)
    assert "FAIL C03-x" in text and "- status" in text and "needs a world change" in text
    assert text.endswith("\n1 passed, 1 failed, 1 skipped")


def test_summarize_counts_icehouse_s_own_answer_as_passed_and_says_so():
    fixture = make_fixture(nova_status=500)
    results = [
        Result(fixture, NOVA, 500, reason="answered 500 as Icehouse itself did"),
        Result(fixture, PASS, 400),
    ]
    text = summarize(results)
    assert "NOVA C03-x" in text and "answered 500 as Icehouse itself did" in text
    assert "1 of the passes gave Icehouse's own answer" in text
    assert text.endswith("\n2 passed, 0 failed, 0 skipped")


# ----------------------------------------------------------------------------- runners


class FakeDeployment:
    """Records the world and the WSGI environ it was given; answers the C3 fault."""

    def __init__(self, world, seen):
        self.seen = seen
        self.seen["world"] = world
        self.closed = False

    def app(self, environ, start_response):
        self.seen["environ"] = environ
        self.seen["body"] = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        payload = json.dumps(
            {"badRequest": {"message": "Server name is not defined", "code": 400}}
        ).encode()
        start_response(
            "400 Bad Request",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def close(self):
        self.seen["closed"] = True


def fake_world_loader(overrides):
    return dict(WORLD, **(overrides or {}))


def test_run_in_process_uses_a_fresh_deployment_and_closes_it():
    seen = {}
    fixture = make_fixture(world={"quotas": {"instances": 2}})
    result = run_in_process(fixture, lambda world: FakeDeployment(world, seen), fake_world_loader)
    assert result.ok, result.describe()
    assert seen["closed"] is True
    assert seen["world"]["quotas"] == {"instances": 2}
    environ = seen["environ"]
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["PATH_INFO"] == "/v2/p1/servers"
    assert environ["HTTP_X_AUTH_TOKEN"] == "demo:p1"
    assert environ["CONTENT_TYPE"] == "application/json"
    assert json.loads(seen["body"])["server"]["imageRef"] == UUID


def test_run_in_process_reports_a_mismatch():
    seen = {}
    fixture = make_fixture(expect={"status": 400, "body": {"badRequest": {"code": 401}}})
    result = run_in_process(fixture, lambda world: FakeDeployment(world, seen), fake_world_loader)
    assert result.outcome == FAIL
    assert result.mismatches == ("body.badRequest.code: expected 401, got 400",)


def test_run_in_process_closes_the_deployment_when_the_app_raises():
    seen = {}

    class Broken(FakeDeployment):
        def app(self, environ, start_response):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run_in_process(make_fixture(), lambda world: Broken(world, seen), fake_world_loader)
    assert seen["closed"] is True


def test_run_in_process_without_content_type():
    seen = {}
    fixture = make_fixture(
        request={
            "method": "POST",
            "path": "/v2/{project_id}/servers",
            "headers": {"Content-Type": None},
            "body_text": "{}",
        }
    )
    run_in_process(fixture, lambda world: FakeDeployment(world, seen), fake_world_loader)
    assert "CONTENT_TYPE" not in seen["environ"]
    assert seen["body"] == b"{}"


FAULT = {"badRequest": {"message": "Server name is not defined", "code": 400}}


@responses.activate
def test_run_live_sends_the_request_and_matches():
    responses.add(responses.POST, "http://api:8774/v2/p1/servers", json=FAULT, status=400)
    result = run_live(make_fixture(), "http://api:8774/", VALUES)
    assert result.ok, result.describe()
    sent = responses.calls[0].request
    assert sent.headers["X-Auth-Token"] == "demo:p1"
    assert sent.headers["Accept"] == "application/json"
    assert json.loads(sent.body) == {"server": {"imageRef": UUID, "flavorRef": "1"}}


@responses.activate
def test_run_live_removed_headers_are_not_added_back_by_requests():
    responses.add(responses.POST, "http://api/v2/p1/servers", json=FAULT, status=400)
    fixture = make_fixture(
        request={
            "method": "POST",
            "path": "/v2/{project_id}/servers",
            "headers": {"Accept": None, "Content-Type": None},
            "body_text": "{}",
        }
    )
    run_live(fixture, "http://api", VALUES)
    sent = responses.calls[0].request
    assert "Accept" not in sent.headers and "Content-Type" not in sent.headers


def test_run_live_skips_fixtures_that_need_a_world_change():
    result = run_live(make_fixture(world={"port_quota": 3}), "http://api", VALUES)
    assert result.outcome == SKIP and "port_quota" in result.reason


@responses.activate
def test_run_live_waits_out_an_unexpected_rate_limit():
    url = "http://api/v2/p1/servers"
    responses.add(
        responses.POST,
        url,
        status=429,
        headers={"Retry-After": "7"},
        json={"overLimit": {"code": 429}},
    )
    responses.add(responses.POST, url, json=FAULT, status=400)
    waits = []
    result = run_live(make_fixture(), "http://api", VALUES, sleep=waits.append)
    assert result.ok and waits == [7.0] and len(responses.calls) == 2


@responses.activate
def test_run_live_does_not_retry_an_expected_rate_limit():
    url = "http://api/v2/p1/servers"
    responses.add(responses.POST, url, status=429, json={"overLimit": {"code": 429}})
    fixture = make_fixture(expect={"status": 429})
    waits = []
    assert run_live(fixture, "http://api", VALUES, sleep=waits.append).ok
    assert waits == [] and len(responses.calls) == 1


def test_live_values_override_the_world_defaults():
    values = live_values({"project_id": "other"}, world_loader=fake_world_loader)
    assert values["project_id"] == "other" and values["image_id"] == UUID
