"""What the API does per request before its first check, kept to what the answer needs: the
admin password is drawn only for a create that passes its checks; the hostile-input scan walks
the body only when its text may hold what it refuses; secrets are still remembered in every
form they may be written in."""

import io
import json
import uuid

import pytest
import webob
from webob.request import DisconnectionError

from refnova import utils
from refnova.api.openstack import answers, request_body, wsgi
from refnova.context import generate_request_id
from refnova.exception import ApiError
from refnova.tracing import redaction
from tests.support.deployment import Client, make_deployment


@pytest.fixture(scope="module")
def client():
    deployment = make_deployment()
    yield Client(deployment)
    deployment.close()


@pytest.fixture
def draws(monkeypatch):
    """The lengths of the admin passwords drawn while a test runs."""
    drawn = []
    real = utils.generate_password

    def counting(length=12, *args, **kwargs):
        drawn.append(length)
        return real(length, *args, **kwargs)

    monkeypatch.setattr(utils, "generate_password", counting)
    return drawn


@pytest.mark.parametrize("path", ["/v2/{}/servers", "/v2.1/servers"])
def test_a_refused_create_draws_no_admin_password(client, draws, path):
    body = {"server": {"name": "vm", "imageRef": "not-an-image", "flavorRef": "1"}}
    answer = client.request("POST", path.format(client.project_id), body)
    assert answer.status_int == 400
    assert draws == []


def test_an_accepted_create_draws_one_and_answers_it(client, draws):
    answer = client.create()
    assert answer.status_int == 202
    assert draws == [12]
    assert len(answer.json["server"]["adminPass"]) == 12


def test_a_given_admin_password_is_answered_and_none_is_drawn(client, draws):
    answer = client.create({"adminPass": "s3cret"})
    assert answer.status_int == 202
    assert answer.json["server"]["adminPass"] == "s3cret"
    assert draws == []


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * request_body.MAX_DEPTH + b"]" * request_body.MAX_DEPTH,
        b'{"name": "\\\\ud800"}',  # an escaped backslash, then plain text
        b'{"name": "\\ud83d\\ude00", "k": "[{[{"}',
    ],
)
def test_a_body_the_scan_passes_parses(raw):
    assert request_body.parse(raw) is not None


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"[" * (request_body.MAX_DEPTH + 1) + b"]" * (request_body.MAX_DEPTH + 1), "nested"),
        (b'{"a": {"b": "\\ud800"}}', "lone surrogate"),
        (b'{"\\udfff": 1}', "lone surrogate"),
    ],
)
def test_a_body_the_scan_refuses_is_400(raw, words):
    with pytest.raises(ApiError) as refused:
        request_body.parse(raw)
    assert refused.value.status == 400 and words in refused.value.message


@pytest.mark.parametrize(
    "secret",
    ["hunter22", "pa'ss", 'quo"te', "back\\slash", "tab\there", "caf\u00e9", "\x7f", "a b=c/+"],
)
def test_a_secret_is_remembered_in_every_form_it_may_be_written(secret):
    with redaction.request_scope({}):
        redaction.remember_body({"server": {"adminPass": secret, "name": "web"}})
        for form in (secret, repr(secret)[1:-1], json.dumps(secret)[1:-1]):
            assert redaction.redact("at %s end" % form) == "at %s end" % redaction.MASK
        assert redaction.redact("web") == "web"


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "application/json",
        "application/vnd.openstack.compute+json",
        "application/json;q=0.5, application/vnd.openstack.compute+json",
        "*/*",
        "text/html",
        "application/xml",
        "not a ; valid = header,,",
    ],
)
def test_the_json_type_answered_is_the_one_webob_negotiates(accept):
    req = webob.Request.blank("/", headers={"Accept": accept} if accept is not None else {})
    offers = req.accept.acceptable_offers(wsgi.JSON_CONTENT_TYPES)
    assert wsgi.best_json_type(req) == (offers[0][0] if offers else "application/json")


def test_the_body_is_read_once_and_stays_readable():
    req = webob.Request({"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "7"})
    req.environ["wsgi.input"] = io.BytesIO(b'{"a": 1}trailing')
    assert request_body.read(req) == b'{"a": 1'
    assert req.body == b'{"a": 1' and request_body.read(req) == b'{"a": 1'


def test_a_body_shorter_than_its_length_is_a_disconnection_as_webob_has_it():
    req = webob.Request({"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "10"})
    req.environ["wsgi.input"] = io.BytesIO(b"{}")
    with pytest.raises(DisconnectionError):
        request_body.read(req)


def test_each_answer_has_one_request_id_that_of_the_context(client):
    first, second = client.create(), client.create({"imageRef": "not-an-image"})
    ids = {first.headers["x-compute-request-id"], second.headers["x-compute-request-id"]}
    assert len(ids) == 2 and all(i.startswith("req-") and len(i) == 40 for i in ids)


def test_a_body_s_secrets_are_found_at_the_first_redaction_and_only_then(monkeypatch):
    walks = []
    walk = redaction._find_secrets
    monkeypatch.setattr(redaction, "_find_secrets", lambda *args: walks.append(1) or walk(*args))
    with redaction.request_scope({"X-Auth-Token": "user:project"}):
        redaction.remember_body({"server": {"user_data": "c2VjcmV0", "name": "web"}})
        assert walks == []  # nothing recorded yet: no walk
        assert redaction.redact("token user:project data c2VjcmV0") == "token *** data ***"
        walked = len(walks)
        assert walked > 0
        redaction.redact("again c2VjcmV0")
        assert len(walks) == walked  # once per body
    assert redaction.redact("after c2VjcmV0") == "after c2VjcmV0"  # forgotten with the request


def test_a_request_id_is_nova_s_req_and_a_version_4_uuid():
    ids = {generate_request_id() for _ in range(2000)}
    assert len(ids) == 2000
    for request_id in ids:
        assert request_id.startswith("req-")
        value = uuid.UUID(request_id[4:])
        assert str(value) == request_id[4:]
        assert value.version == 4 and value.variant == uuid.RFC_4122


@pytest.mark.parametrize(
    "error",
    [
        ApiError(400, "Invalid imageRef provided."),
        ApiError(404, 'Flavor "\u00e9\\\n" could not be found.'),
        ApiError(413, "x", {"Retry-After": 3}),
        ApiError(429, "limited", {"Retry-After": 0}, details="Only 1 POST request(s)"),
        ApiError(503, "down", fault="serviceUnavailable"),
        ApiError(400, "injected", fault="computeFault", details="kept"),
    ],
)
def test_a_fault_is_written_as_json_dumps_writes_it(error):
    body = wsgi.fault_body(error.status, error.message, error.headers, error.fault)
    if error.details is not None:
        next(iter(body.values()))["details"] = error.details
    assert wsgi.fault_response(error).body == json.dumps(body).encode("utf-8")


def _sent(app, method, accept):
    """What ``app`` hands a WSGI server: (status line, header list, body)."""
    environ = webob.Request.blank("/", method=method, headers={"Accept": accept}).environ
    seen = []
    body = b"".join(
        app(environ, lambda status, headers, exc_info=None: seen.append((status, headers)))
    )
    return seen[0][0], seen[0][1], body


@pytest.mark.parametrize("method", ["POST", "HEAD"])
@pytest.mark.parametrize(
    "error",
    [
        ApiError(400, "Invalid imageRef provided."),
        ApiError(404, 'Flavor "\u00e9\\\n" could not be found.'),
        ApiError(400, "x" * 300),
        ApiError(400, "injected", fault="computeFault", details="kept"),
        ApiError(503, "down", fault="serviceUnavailable"),
        ApiError(429, "limited", {"Retry-After": 0}, details="Only 1 POST request(s)"),
    ],
)
def test_a_fault_is_sent_as_webob_sends_its_response(error, method):
    accept = "application/vnd.openstack.compute+json"
    req = webob.Request.blank("/", headers={"Accept": accept})
    for _ in range(2):  # the second one written from the cache
        answer = answers.fault_answer(error, req)
        assert _sent(answer, method, accept) == _sent(
            wsgi.fault_response(error, req), method, accept
        )


def test_a_header_is_set_on_a_list_as_webob_sets_it():
    response = webob.Response()
    response.headerlist[:] = [("Content-Type", "a"), ("X-A", "1"), ("content-type", "b")]
    headerlist = list(response.headerlist)
    response.headers["CONTENT-TYPE"] = "c"
    answers.set_header(headerlist, "CONTENT-TYPE", "c")
    assert headerlist == response.headerlist == [("X-A", "1"), ("CONTENT-TYPE", "c")]
