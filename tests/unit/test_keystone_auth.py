"""Keystone: refnova validating X-Auth-Token (`serve --auth keystone`) and the conformance
runner getting a token, against `responses` stubs shaped like Keystone's v3 API."""

import datetime
import json

import pytest
import requests
import responses
from opentelemetry.trace import SpanKind
from sqlalchemy import func, select

from refnova import cli
from refnova.api.openstack import auth
from refnova.conformance.cli import live_target
from refnova.conformance.fixtures import default_fixture_dir, load_fixture
from refnova.conformance.results import FAIL, SKIP
from refnova.conformance.runners import run_live
from refnova.db import models
from refnova.identity import keystone
from tests.support.deployment import Client, make_deployment
from tests.support.keystone import (
    KEYSTONE,
    NOT_FOUND,
    PROJECT,
    TOKENS,
    UNAUTHORIZED,
    stub_validation,
    token_body,
)

IMAGE = "155d900f-4e14-4e4c-a73d-069cbf4541e6"


@pytest.fixture(autouse=True)
def no_os_environment(monkeypatch):
    """The runner's --os-* options default to OS_* variables: keep the caller's out."""
    for name in (
        "OS_AUTH_URL",
        "OS_USERNAME",
        "OS_PASSWORD",
        "OS_PROJECT_NAME",
        "OS_USER_DOMAIN_NAME",
        "OS_PROJECT_DOMAIN_NAME",
    ):
        monkeypatch.delenv(name, raising=False)


# ----------------------------------------------------------------------------- the client


@responses.activate
def test_validate_success_reads_the_token_body():
    stub_validation({"tok": token_body(roles=("admin",))})
    info = keystone.KeystoneClient(KEYSTONE).validate("tok")
    sent = responses.calls[0].request
    assert sent.headers["X-Auth-Token"] == "tok" and sent.headers["X-Subject-Token"] == "tok"
    assert (info.user_id, info.user_name, info.project_id, info.project_name) == (
        "u-demo",
        "demo",
        PROJECT,
        "demo",
    )
    assert info.roles == ("admin",) and info.is_admin
    assert info.expires_at > datetime.datetime.utcnow()


@responses.activate
def test_validate_accepts_an_auth_url_with_v3_and_a_service_token():
    stub_validation({"svc": token_body(), "tok": token_body()})
    client = keystone.KeystoneClient(KEYSTONE + "/v3/", service_token="svc")
    assert client.validate("tok").user_id == "u-demo"
    assert responses.calls[0].request.headers["X-Auth-Token"] == "svc"


@responses.activate
@pytest.mark.parametrize("status, body", [(404, NOT_FOUND), (401, UNAUTHORIZED)])
def test_validate_not_found_or_unauthorized_is_an_invalid_token(status, body):
    responses.add(responses.GET, TOKENS, status=status, json=body)
    assert keystone.KeystoneClient(KEYSTONE).validate("tok") is None


@responses.activate
@pytest.mark.parametrize(
    "failure",
    [requests.ConnectionError("refused"), requests.Timeout("timed out"), 500, 503, "not json"],
)
def test_validate_with_keystone_down_is_unavailable_not_invalid(failure):
    if isinstance(failure, int):
        responses.add(responses.GET, TOKENS, status=failure, body="oops")
    elif isinstance(failure, str):
        responses.add(responses.GET, TOKENS, status=200, body=failure)
    else:
        responses.add(responses.GET, TOKENS, body=failure)
    with pytest.raises(keystone.KeystoneUnavailable):
        keystone.KeystoneClient(KEYSTONE).validate("tok")


@responses.activate
def test_issue_token_posts_password_credentials_and_reads_x_subject_token():
    responses.add(
        responses.POST,
        TOKENS,
        status=201,
        json=token_body(),
        headers={"X-Subject-Token": "gAAAAAB-issued"},
    )
    info = keystone.KeystoneClient(KEYSTONE).issue_token(
        "demo", "secret", "demo", "Default", "Default"
    )
    assert info.token == "gAAAAAB-issued" and info.project_id == PROJECT
    assert json.loads(responses.calls[0].request.body) == {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": "demo", "domain": {"name": "Default"}, "password": "secret"}
                },
            },
            "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}},
        }
    }


@responses.activate
def test_issue_token_refused_and_down():
    responses.add(responses.POST, TOKENS, status=401, json=UNAUTHORIZED)
    with pytest.raises(keystone.KeystoneUnauthorized):
        keystone.KeystoneClient(KEYSTONE).issue_token("demo", "wrong", "demo")
    responses.replace(responses.POST, TOKENS, body=requests.ConnectionError("refused"))
    with pytest.raises(keystone.KeystoneUnavailable):
        keystone.KeystoneClient(KEYSTONE).issue_token("demo", "secret", "demo")


# ----------------------------------------------------------------------------- the cache


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def info(token, expires_at=None):
    return keystone.TokenInfo(token, "u", "u", PROJECT, "p", ("member",), expires_at)


def test_cache_keeps_a_token_for_the_ttl():
    clock = Clock()
    cache = auth.TokenCache(ttl=60, clock=clock)
    cache.put(info("a"))
    clock.now += 59
    assert cache.get("a").token == "a"
    clock.now += 1
    assert cache.get("a") is None and len(cache) == 0


def test_cache_never_outlives_the_token():
    clock, utc = Clock(), datetime.datetime(2026, 11, 26, 12, 0, 0)
    cache = auth.TokenCache(ttl=300, clock=clock, utcnow=lambda: utc)
    cache.put(info("soon", expires_at=utc + datetime.timedelta(seconds=10)))
    cache.put(info("expired", expires_at=utc - datetime.timedelta(seconds=1)))
    assert cache.get("expired") is None
    clock.now += 9
    assert cache.get("soon") is not None
    clock.now += 1
    assert cache.get("soon") is None


def test_cache_is_bounded_least_recently_used_first():
    cache = auth.TokenCache(max_size=2, ttl=60, clock=Clock())
    cache.put(info("a"))
    cache.put(info("b"))
    cache.get("a")
    cache.put(info("c"))
    assert len(cache) == 2 and cache.get("b") is None and cache.get("a") and cache.get("c")


# ----------------------------------------------------------------------------- the API


@pytest.fixture
def keystone_api():
    with make_deployment(auth_strategy="keystone", keystone_url=KEYSTONE) as deployment:
        yield Client(deployment)


def create(client, token, server=None):
    body = {"server": {"name": "vm", "imageRef": IMAGE, "flavorRef": "1", **(server or {})}}
    return client.request("POST", "/v2/%s/servers" % PROJECT, body, headers={"X-Auth-Token": token})


@responses.activate
def test_a_valid_token_creates_as_its_user_and_project_and_is_cached(keystone_api):
    stub_validation({"tok-demo": token_body()})
    response = create(keystone_api, "tok-demo")
    assert response.status_int == 202, response.text
    with keystone_api.deployment.db.transaction() as session:
        row = session.scalar(select(models.Instance))
        assert (row.user_id, row.project_id) == ("u-demo", PROJECT)
    shown = keystone_api.request(
        "GET",
        "/v2/%s/servers/%s" % (PROJECT, response.json["server"]["id"]),
        headers={"X-Auth-Token": "tok-demo"},
    )
    assert shown.status_int == 200 and shown.json["server"]["user_id"] == "u-demo"
    assert len(responses.calls) == 1  # the second request used the cache


@responses.activate
def test_the_admin_role_makes_an_admin(keystone_api):
    stub_validation(
        {"tok-admin": token_body(user_id="u-admin", roles=("admin",)), "tok-demo": token_body()}
    )
    forced = {"availability_zone": "nova:compute1"}
    assert create(keystone_api, "tok-demo", forced).status_int == 403
    assert create(keystone_api, "tok-admin", forced).status_int == 202


@responses.activate
@pytest.mark.parametrize(
    "headers",
    [{"X-Auth-Token": "tok-forged"}, {"X-Auth-Token": None}, {"X-Auth-Token": "demo:%s" % PROJECT}],
)
def test_an_invalid_or_missing_token_is_401_with_keystone_s_challenge(keystone_api, headers):
    stub_validation({"tok-demo": token_body()})
    response = keystone_api.request(
        "POST", "/v2/%s/servers" % PROJECT, {"server": {}}, headers=headers
    )
    assert response.status_int == 401
    assert response.headers["WWW-Authenticate"] == "Keystone uri='%s'" % KEYSTONE
    assert response.json == {"unauthorized": {"message": "Authentication required", "code": 401}}


@responses.activate
@pytest.mark.parametrize(
    "failure", [requests.ConnectionError("refused"), requests.Timeout("timed out"), 503]
)
def test_keystone_down_is_503_service_unavailable_and_nothing_is_written(keystone_api, failure):
    if isinstance(failure, int):
        responses.add(responses.GET, TOKENS, status=failure, body="Service Unavailable")
    else:
        responses.add(responses.GET, TOKENS, body=failure)
    response = create(keystone_api, "tok-demo")
    assert response.status_int == 503
    assert response.json == {
        "serviceUnavailable": {"message": auth.KeystoneAuth.UNAVAILABLE, "code": 503}
    }
    with keystone_api.deployment.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(models.Instance)) == 0


def test_serve_takes_auth_keystone_and_its_url():
    args = cli.build_parser().parse_args(
        ["serve", "--auth", "keystone", "--keystone-url", KEYSTONE]
    )
    settings = cli._settings(args)
    assert settings.auth_strategy == "keystone" and settings.keystone_url == KEYSTONE
    assert isinstance(auth.authenticator_for(settings), auth.KeystoneAuth)
    plain = cli._settings(cli.build_parser().parse_args(["serve"]))
    assert isinstance(auth.authenticator_for(plain), auth.NoAuth)


def test_keystone_without_a_url_is_refused():
    with pytest.raises(ValueError, match="--keystone-url"):
        make_deployment(auth_strategy="keystone")


# ----------------------------------------------------------------------------- the runner


def runner_args(*extra):
    parser = cli.build_parser()
    return parser.parse_args(["conformance", "--target", "http://nova.test:8774/v2/x", *extra])


@responses.activate
def test_the_runner_gets_its_token_from_keystone_and_sends_it():
    responses.add(
        responses.POST,
        TOKENS,
        status=201,
        json=token_body(project_id="p-kst"),
        headers={"X-Subject-Token": "gAAAA-runner"},
    )
    target = live_target(
        runner_args(
            "--os-auth-url",
            KEYSTONE + "/v3",
            "--os-username",
            "demo",
            "--os-password",
            "secret",
            "--os-project-name",
            "demo",
            "--image",
            "img-1",
            "--flavor",
            "42",
        )
    )
    assert target.url == "http://nova.test:8774" and target.token == "gAAAA-runner"
    assert target.values["project_id"] == "p-kst" and target.values["user_id"] == "u-demo"
    assert target.values["image_id"] == "img-1" and target.values["flavor_id"] == "42"
    fixture = load_fixture(default_fixture_dir() / "C03-name-absent.json")
    responses.add(
        responses.POST,
        "http://nova.test:8774/v2/p-kst/servers",
        status=400,
        json={"badRequest": {"message": "Server name is not defined", "code": 400}},
    )
    result = run_live(fixture, target.url, target.values, target=target)
    assert responses.calls[-1].request.headers["X-Auth-Token"] == "gAAAA-runner"
    assert result.outcome == FAIL  # no x-compute-request-id in this stub
    admin_fixture = load_fixture(default_fixture_dir() / "S21-forced-host-admin.json")
    skipped = run_live(
        admin_fixture,
        target.url,
        target.values,
        target=dataclass_replace(target, reference_world=True),
    )
    assert skipped.outcome == SKIP and "--admin-token" in skipped.reason


def dataclass_replace(target, **changes):
    import dataclasses

    return dataclasses.replace(target, **changes)


@responses.activate
def test_the_runner_stops_when_keystone_refuses(capsys):
    responses.add(responses.POST, TOKENS, status=401, json=UNAUTHORIZED)
    args = runner_args(
        "--os-auth-url",
        KEYSTONE,
        "--os-username",
        "demo",
        "--os-password",
        "wrong",
        "--os-project-name",
        "demo",
    )
    assert args.handler(args) == 2
    assert "no token from Keystone" in capsys.readouterr().err


def test_the_runner_needs_a_project_for_an_opaque_token(capsys):
    args = runner_args("--token", "gAAAA-opaque")
    assert args.handler(args) == 2
    assert "--token needs --project" in capsys.readouterr().err


@responses.activate
def test_validation_is_a_client_span_that_carries_no_token(spans):
    stub_validation({"tok-secret": token_body()})
    keystone.KeystoneClient(KEYSTONE).validate("tok-secret")
    span = next(s for s in spans.finished() if s.name == "GET /v3/auth/tokens")
    assert span.kind == SpanKind.CLIENT
    assert span.attributes["service.peer.name"] == "keystone"
    assert "peer.service" not in span.attributes  # deprecated
    assert span.attributes["http.response.status_code"] == 200
    assert "tok-secret" not in repr(dict(span.attributes))
