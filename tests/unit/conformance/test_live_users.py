"""The live runner on a noauth2 target: each fixture calls as a user of its own, so the rate
limit (counted per user) never makes one wait for what the earlier ones used; fixtures about
their user or about the limiter keep the target's user."""

import json

import responses

from refnova.conformance.fixtures import default_fixture_dir, load_fixtures
from refnova.conformance.placeholders import placeholder_values
from refnova.conformance.runners import LiveRunner, LiveTarget, about_its_user
from refnova.world import load_world

WORLD = load_world()
VALUES = placeholder_values(WORLD)
PROJECT = VALUES["project_id"]
USER = VALUES["user_id"]
FIXTURES = {f.id: f for f in load_fixtures(default_fixture_dir("v2"))}
API = "http://nova.test:8774"
SERVERS = "%s/v2/%s/servers" % (API, PROJECT)
REJECTED = {"badRequest": {"message": "Server name is not defined", "code": 400}}
REQUEST_ID = {"x-compute-request-id": "req-0b9e2c4d-5f6a-4b7c-8d9e-0f1a2b3c4d5e"}


def target(**changes):
    return LiveTarget(**{"url": API, "values": dict(VALUES), "world": WORLD, **changes})


def no_sleep(seconds):
    raise AssertionError("the runner slept %ss" % seconds)


def posted_tokens():
    return [
        call.request.headers["X-Auth-Token"]
        for call in responses.calls
        if call.request.method == "POST"
    ]


def serve_rejections():
    responses.add(responses.GET, SERVERS, json={"servers": []})
    responses.add(responses.POST, SERVERS, status=400, headers=REQUEST_ID, json=REJECTED)


@responses.activate
def test_on_noauth_each_fixture_posts_as_a_user_of_its_own():
    serve_rejections()
    runner = LiveRunner(target(), sleep=no_sleep)
    for _ in range(3):
        assert runner.run(FIXTURES["C03-name-absent"]).ok
    users = [token.split(":")[0] for token in posted_tokens()]
    assert len(set(users)) == 3 and all(user.startswith(USER + "-") for user in users)
    assert {token.split(":")[1] for token in posted_tokens()} == {PROJECT}
    # clean-up still lists the project's servers as the target's user
    listings = [c.request for c in responses.calls if c.request.method == "GET"]
    assert {r.headers["X-Auth-Token"] for r in listings} == {"%s:%s" % (USER, PROJECT)}


@responses.activate
def test_a_429_never_comes_to_a_fixture_that_did_not_ask_for_it():
    """A target that allows one POST a minute per user: every fixture still gets its answer
    at once, because every fixture is a new user."""
    seen = set()

    def limited(request):
        user = request.headers["X-Auth-Token"].split(":")[0]
        headers = {"Content-Type": "application/json", **REQUEST_ID}
        if user in seen:
            return 429, {**headers, "Retry-After": "60"}, json.dumps({"overLimit": {"code": 429}})
        seen.add(user)
        return 400, headers, json.dumps(REJECTED)

    responses.add(responses.GET, SERVERS, json={"servers": []})
    responses.add_callback(responses.POST, SERVERS, callback=limited)
    runner = LiveRunner(target(), sleep=no_sleep)
    results = [runner.run(FIXTURES["C03-name-absent"]) for _ in range(5)]
    assert all(result.ok for result in results), [r.describe() for r in results]


@responses.activate
def test_with_a_token_every_fixture_calls_as_the_token_s_user():
    serve_rejections()
    runner = LiveRunner(target(token="tok-1"), sleep=no_sleep)
    for _ in range(2):
        assert runner.run(FIXTURES["C03-name-absent"]).ok
    assert posted_tokens() == ["tok-1", "tok-1"]


@responses.activate
def test_fresh_users_can_be_turned_off():
    serve_rejections()
    runner = LiveRunner(target(), sleep=no_sleep, fresh_users=False)
    assert runner.run(FIXTURES["C03-name-absent"]).ok
    assert posted_tokens() == ["%s:%s" % (USER, PROJECT)]


def test_fixtures_about_their_user_or_the_limiter_keep_the_target_s_user():
    runner = LiveRunner(target())
    limited = FIXTURES["F02-rate-limited"]
    key_pair = next(
        f
        for f in FIXTURES.values()
        if "key_name" in (f.request.get("body") or {}).get("server", {})
    )
    keypairs_route = next(f for f in FIXTURES.values() if "os-keypairs" in f.request["path"])
    for fixture in (limited, key_pair, keypairs_route):
        assert about_its_user(fixture), fixture.id
        assert runner.caller_for(fixture).values["user_id"] == USER
    plain = FIXTURES["C03-name-absent"]
    assert not about_its_user(plain)
    assert runner.caller_for(plain).values["user_id"] != USER
