"""Canary secrets sent through every path never reach a span, a trace file or a log line.

Each request carries canaries (admin password, user data, personality contents, the built-in
identity's password and token, Keystone-style token headers); the HTTP answers stay Nova's
(a /v2.1 schema error echoes the body), while every exporter's output and the DEBUG logs are
grepped for them (issue 13).
"""

import base64
import json
import logging

import pytest
import requests

from refnova.tracing import files as tracefiles
from refnova.tracing import redaction
from tests.support.deployment import Client, make_deployment
from tests.support.http import PROJECT

ADMIN_PASS = "canary-adminpass-4f1d"
USER_DATA = base64.b64encode(b"canary-userdata-9c2e").decode()
NOT_BASE64_USER_DATA = "canary-raw-userdata-!!-77aa"
CONTENTS = base64.b64encode(b"canary-personality-3b8a").decode()
IDENTITY_PASSWORD = "canary-identity-pw-5e0c"
TOKEN = "canary-token-a1b2c3"
SUBJECT_TOKEN = "canary-subject-token-d4e5"
CANARIES = (
    ADMIN_PASS,
    USER_DATA,
    NOT_BASE64_USER_DATA,
    CONTENTS,
    IDENTITY_PASSWORD,
    TOKEN,
    SUBJECT_TOKEN,
)


def _server(client, **extra):
    return {
        "name": "vm",
        "imageRef": client.defaults["image_id"],
        "flavorRef": client.defaults["flavor_id"],
        "adminPass": ADMIN_PASS,
        "user_data": USER_DATA,
        "personality": [{"path": "/etc/motd", "contents": CONTENTS}],
        **extra,
    }


def _every_path(client):
    """(method, path, body, headers, expected status) for each way a secret can go."""
    v2 = "/v2/%s/servers" % client.project_id
    identity = "/identity/v3/auth/tokens"
    password_auth = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": "demo",
                        "domain": {"id": "default"},
                        "password": IDENTITY_PASSWORD,
                    }
                },
            }
        }
    }
    token_auth = {"auth": {"identity": {"methods": ["token"], "token": {"id": TOKEN}}}}
    return [
        ("POST", v2, {"server": _server(client)}, {}, 202),  # accepted
        ("POST", "/v2.1/servers", {"server": _server(client)}, {}, 202),
        ("POST", "/v2.1/servers", {"server": _server(client, bogus=1)}, {}, 400),  # schema
        (
            "POST",
            "/v2.1/servers",
            {"server": _server(client, user_data=NOT_BASE64_USER_DATA)},
            {},
            400,
        ),
        ("POST", v2, {"server": _server(client, user_data=NOT_BASE64_USER_DATA)}, {}, 400),
        ("POST", v2, {"server": _server(client, flavorRef="nope")}, {}, 400),  # controller
        (
            "POST",
            v2,
            {"server": _server(client, imageRef="6b0b7c2a-0000-4000-8000-000000000000")},
            {},
            400,
        ),  # compute: the image is not found
        ("POST", v2, {"server": _server(client, min_count=1000)}, {}, 413),  # compute: quota
        ("POST", identity, password_auth, {}, 401),  # the built-in identity
        ("POST", identity, token_auth, {}, 404),
        ("GET", identity, None, {"X-Auth-Token": TOKEN, "X-Subject-Token": SUBJECT_TOKEN}, 401),
        ("GET", v2, None, {"X-Auth-Token": TOKEN}, 400),  # noauth2 reads no user:project
    ]


def _send_all(client):
    answers = []
    for method, path, body, headers, expected in _every_path(client):
        response = client.request(method, path, body, headers=headers)
        answers.append((method, path, expected, response.status_int, response.text))
    return answers


def _leaks(text):
    return [canary for canary in CANARIES if canary in text]


def test_no_canary_in_spans_trace_files_or_logs(spans, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    with make_deployment() as deployment:
        client = Client(deployment)
        answers = _send_all(client)
        spans.wait_for_consumers()
    statuses = [(method, path, status) for method, path, _, status, _ in answers]
    assert statuses == [(m, p, expected) for m, p, expected, _, _ in answers]
    # The answers stay Nova's: the /v2.1 schema error echoes the body, secrets and all.
    assert ADMIN_PASS in answers[2][4]

    finished = spans.finished()
    records = [tracefiles.from_readable(span) for span in finished]
    assert any(record.events for record in records), "no exception was recorded"
    tracefiles.JsonLinesSpanExporter(tmp_path / "traces.jsonl").export(finished)
    (tmp_path / "traces").mkdir()
    for trace_id, members in tracefiles.by_trace(records).items():
        tracefiles.write_trace(tmp_path / "traces", trace_id, members)
    written = [path.read_text() for path in sorted(tmp_path.rglob("*.json*"))]
    assert len(written) > 1
    in_memory = json.dumps(tracefiles.to_otlp_json(records))
    logged = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    assert _leaks(in_memory) == []
    assert _leaks("\n".join(written)) == []
    assert _leaks(logged) == []


def test_refnova_serve_writes_no_canary_to_its_traces_or_its_log(refnova_processes, tmp_path):
    api = refnova_processes.serve(
        "--tracing",
        "file",
        "--trace-file",
        str(tmp_path / "live.jsonl"),
        "--traces-dir",
        str(tmp_path / "live-traces"),
        env=refnova_processes.environment(log_level="DEBUG"),
    )
    base = api.url
    headers = {"X-Auth-Token": "demo:%s" % PROJECT, "Content-Type": "application/json"}
    server = {"name": "vm", "imageRef": "x", "adminPass": ADMIN_PASS, "user_data": USER_DATA}
    for path, body in (
        ("/v2.1/servers", {"server": {**server, "bogus": 1}}),
        ("/v2/%s/servers" % PROJECT, {"server": {**server, "user_data": NOT_BASE64_USER_DATA}}),
    ):
        response = requests.post(base + path, data=json.dumps(body), headers=headers, timeout=30)
        assert response.status_code == 400
    response = requests.get(base + "/v2/%s/servers" % PROJECT, headers={"X-Auth-Token": TOKEN})
    assert response.status_code == 400
    refnova_processes.stop()
    written = "\n".join(path.read_text() for path in sorted(tmp_path.rglob("*.json*")))
    assert "exception.stacktrace" in written
    assert _leaks(written) == []
    assert _leaks(api.output()) == []


@pytest.mark.parametrize(
    "text",
    [
        "{'server': {'adminPass': 'hunter22'}}",
        '{"admin_password": "hunter22", "x": 1}',
        "X-Auth-Token: hunter22",
        "'contents': 'hunter22'",
    ],
)
def test_a_secret_keys_value_is_masked_outside_a_request(text):
    assert "hunter22" not in redaction.redact(text)


def test_a_requests_secrets_are_masked_in_every_form_and_forgotten_after_it():
    with redaction.request_scope({"X-Auth-Token": "tok-1"}):
        redaction.remember_body({"server": {"adminPass": "pa'ss\u00e9", "name": "web"}})
        text = "%r %s %s" % ("pa'ss\u00e9", json.dumps("pa'ss\u00e9"), "tok-1 web")
        redacted = redaction.redact(text)
        assert "pa" not in redacted and "tok-1" not in redacted and "web" in redacted
    assert redaction.redact("tok-1") == "tok-1"
