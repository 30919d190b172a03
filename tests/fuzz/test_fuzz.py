"""The fuzz suite (issue 13): hostile creates on both contracts, and hostile headers and
paths, in-process through the WSGI app. Whatever is sent: no 5xx, a Nova fault body (JSON,
Nova's key, its code) for every error, and no instance row, quota usage or reservation that
an accepted request does not explain. Profiles and figures: tests/fuzz/conftest.py."""

import json
from urllib.parse import unquote_to_bytes

import webob
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import text

from refnova.exception import FAULT_NAMES
from tests.fuzz import strategies as fuzz

TOKEN = "demo:%s" % fuzz.PROJECT
# The built-in services answer errors in their own APIs' formats (Keystone's "error").
BUILT_IN_PREFIXES = ("/identity", "/image", "/networking")


def send(deployment, method, path, body=b"", headers=None):
    request = webob.Request.blank(path, method=method, body=body)
    for name, value in (headers or {}).items():
        request.headers[name] = value
    return request.get_response(deployment.app)


def ledger(deployment):
    """What a create leaves: instance rows, quota usages (in use, reserved), reservations."""
    with deployment.db.reading() as connection:

        def one(query):
            return connection.execute(text(query)).scalar_one()

        return {
            "instances": one("SELECT count(*) FROM instances"),
            "in_use": one("SELECT coalesce(sum(in_use), 0) FROM quota_usages"),
            "instances_in_use": one(
                "SELECT coalesce(sum(in_use), 0) FROM quota_usages WHERE resource = 'instances'"
            ),
            "reserved": one("SELECT coalesce(sum(reserved), 0) FROM quota_usages"),
            "reservations": one("SELECT count(*) FROM reservations"),
        }


def assert_nova_answer(response, path):
    event("status %d" % response.status_int)  # the spread: --hypothesis-show-statistics
    assert response.status_int < 500, (response.status, response.body[:500])
    if response.status_int < 400:
        return
    assert response.content_type == "application/json" or response.content_type.endswith("+json"), (
        response.status,
        response.content_type,
        response.body[:300],
    )
    body = json.loads(response.body)
    assert isinstance(body, dict) and len(body) == 1, body
    (key, fault), *_ = body.items()
    if key == "error" and path.startswith(BUILT_IN_PREFIXES):
        fault_key_ok = True
    else:
        fault_key_ok = key == FAULT_NAMES.get(response.status_int, "computeFault")
    assert fault_key_ok, (response.status, body)
    assert fault["code"] == response.status_int, body
    assert isinstance(fault["message"], str) and fault["message"], body


def assert_explained(before, after, response):
    """A refused request changed nothing; an accepted create added its servers, each
    counted in use, and left no reservation pending."""
    if response.status_int != 202:
        assert after == before, (response.status, response.body[:300])
        return
    created = after["instances"] - before["instances"]
    assert created >= 1, response.body[:300]
    assert after["instances_in_use"] - before["instances_in_use"] == created
    assert after["reserved"] == before["reserved"]


@given(
    contract=st.sampled_from(sorted(fuzz.SERVERS)),
    body=st.data(),
    microversion=st.sampled_from(fuzz.MICROVERSIONS),
)
def test_hostile_creates(fuzz_deployment, contract, body, microversion):
    raw = body.draw(fuzz.create_bodies(contract), label="body")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    headers["X-Auth-Token"] = TOKEN
    if contract == "v2.1":
        headers["X-OpenStack-Nova-API-Version"] = microversion
    before = ledger(fuzz_deployment)
    response = send(fuzz_deployment, "POST", fuzz.SERVERS[contract], raw, headers)
    assert_nova_answer(response, fuzz.SERVERS[contract])
    assert_explained(before, ledger(fuzz_deployment), response)


@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"]),
    prefix=st.sampled_from(["/v2", "/v2.1", "/v2/" + fuzz.PROJECT, "", "/identity/v3"]),
    segments=st.lists(fuzz.path_segments, max_size=4),
    query=st.text(st.characters(codec="utf-8"), max_size=20),
    headers=st.dictionaries(fuzz.header_names, fuzz.header_values, max_size=4),
    body=st.one_of(st.just(b""), st.binary(max_size=50), fuzz.create_bodies("v2.1")),
)
def test_hostile_requests(fuzz_deployment, method, prefix, segments, query, headers, body):
    path = "/".join([prefix, *segments]) or "/"
    all_headers = {"X-Auth-Token": TOKEN, "Content-Type": "application/json", **headers}
    if "Content-Length" in headers or "Transfer-Encoding" in headers:
        all_headers.pop("Content-Length", None)  # WebOb sets it from the body
        all_headers.pop("Transfer-Encoding", None)
    before = ledger(fuzz_deployment)
    request = webob.Request.blank("/", method=method, body=body)
    # As an HTTP server hands them on (PEP 3333): the path percent-decoded, both as the
    # request line's bytes read as latin-1.
    request.environ["PATH_INFO"] = unquote_to_bytes(path.encode("utf-8")).decode("latin-1")
    request.environ["QUERY_STRING"] = query.encode("utf-8").decode("latin-1")
    for name, value in all_headers.items():
        request.headers[name] = value
    response = request.get_response(fuzz_deployment.app)
    if method != "HEAD":
        assert_nova_answer(response, path)
    else:
        event("status %d" % response.status_int)
        assert response.status_int < 500, response.status
    assert_explained(before, ledger(fuzz_deployment), response)
