"""The request id's headers: today's Nova answers /v2.1 with oslo's ``x-openstack-request-id``
and its own ``x-compute-request-id`` (nova.api.compute_req_id.ComputeReqIdMiddleware, the same
id in both); Icehouse's /v2 sent only ``x-compute-request-id``, and only with a request context."""

import re

import pytest
from opentelemetry import trace

from tests.support.deployment import Client, make_deployment

OSLO = "x-openstack-request-id"
COMPUTE = "x-compute-request-id"
REQUEST_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def client(spans):
    with make_deployment() as deployment:
        yield Client(deployment)


def v21_create(client):
    headers = {"OpenStack-API-Version": "compute 2.37"}
    return client.create({"networks": "auto"}, path="/v2.1/servers", headers=headers)


@pytest.mark.parametrize(
    "path",
    [
        "/v2.1/flavors",  # answered with a context
        "/v2.1/servers/no-such-server",  # 404 from a handler
        "/v2.1/no-such-resource",  # 404 before any context
        "/v2.1/",  # the version document
        "/v2.1",  # the same, without the slash (Nova 34.0.0's oscomputeversion_v2 pipeline)
    ],
)
def test_every_v21_answer_carries_both_headers_with_one_id(client, path):
    response = client.request("GET", path)
    assert REQUEST_ID.match(response.headers[COMPUTE])
    assert response.headers[OSLO] == response.headers[COMPUTE]


@pytest.mark.parametrize("path", ["/v2/{project_id}/flavors", "/v2/"])
def test_v2_answers_carry_only_icehouse_s_header(client, path):
    response = client.request("GET", path.format(project_id=client.project_id))
    assert REQUEST_ID.match(response.headers[COMPUTE])
    assert OSLO not in response.headers


def test_v2_s_redirect_carries_no_request_id(client):
    # Routes' middleware answers the redirect of /v2 itself: no wsgi.Resource, no context's id.
    response = client.request("GET", "/v2")
    assert response.status_int == 302
    assert COMPUTE not in response.headers and OSLO not in response.headers


@pytest.mark.parametrize(
    ("path", "headers", "body", "status"),
    [
        ("/v2/{project_id}/servers", {"X-Auth-Token": None}, None, 401),
        ("/v2/{project_id}/no-such", {}, None, 404),
        ("/v1.1/{project_id}/no-such", {}, None, 404),
        ("/v2/{project_id}/servers", {}, {"pad": "a" * 114688}, 413),
    ],
)
def test_a_v2_answer_given_before_there_is_a_context_carries_no_request_id(
    client, path, headers, body, status
):
    # Icehouse's header came from the request context (wsgi.Resource, Fault): authtoken's
    # 401, sizelimit's 413 and the router's 404 had none. /v2.1 sends one on them (above).
    path = path.format(project_id=client.project_id)
    response = client.request("POST" if body else "GET", path, body, headers)
    assert response.status_int == status
    assert COMPUTE not in response.headers and OSLO not in response.headers


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [({"X-Auth-Token": None}, None, 401), ({}, {"pad": "a" * 114688}, 413)],
)
def test_a_v21_answer_given_before_there_is_a_context_carries_both(client, headers, body, status):
    response = client.request("POST" if body else "GET", "/v2.1/servers", body, headers)
    assert response.status_int == status
    assert REQUEST_ID.match(response.headers[COMPUTE])
    assert response.headers[OSLO] == response.headers[COMPUTE]


def test_the_version_list_carries_no_request_id(client):
    # GET / is outside every version's pipeline: Nova 34.0.0's oscomputeversions sends
    # neither header (its oracle), nor did Icehouse's (no context, so wsgi.Resource added none).
    response = client.request("GET", "/")
    assert response.status_int == 200
    assert OSLO not in response.headers and COMPUTE not in response.headers


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/foo", 300),
        ("GET", "/v3/", 300),
        ("PUT", "/v2.1x/servers", 300),
        ("POST", "/", 200),
        # Nova 34.0.0's urlmap reads a run of slashes as one (M27): // and /// are /.
        ("GET", "//", 200),
        ("POST", "//", 200),
        ("DELETE", "///", 200),
        ("GET", "//foo", 300),
    ],
)
def test_outside_every_version_the_versions_app_answers_without_a_request_id(
    client, method, path, status
):
    # Nova 34.0.0's versions app (M25, M26): the choices (the list on /), whatever the method.
    response = client.request(method, path, headers={"X-Auth-Token": None})
    assert response.status_int == status
    assert ("choices" if status == 300 else "versions") in response.json
    assert OSLO not in response.headers and COMPUTE not in response.headers


def test_two_requests_have_two_ids_and_a_client_s_id_is_not_taken(client):
    chosen = "req-00000000-0000-4000-8000-000000000000"
    first = client.request("GET", "/v2.1/flavors", headers={OSLO: chosen})
    second = client.request("GET", "/v2.1/flavors")
    assert first.headers[OSLO] != chosen
    assert first.headers[OSLO] != second.headers[OSLO]


def test_the_server_span_s_request_id_is_the_answer_s(client, spans):
    response = v21_create(client)
    assert response.status_int == 202
    spans.wait_for_consumers()
    (server,) = [s for s in spans.finished() if s.kind == trace.SpanKind.SERVER]
    assert server.attributes["nova.request_id"] == response.headers[OSLO]
    assert server.attributes["nova.request_id"] == response.headers[COMPUTE]


def test_a_v2_rate_limited_answer_carries_no_request_id_though_its_span_has_the_ids(spans):
    # Icehouse's ratelimit answered with RateLimitFault, which (unlike Fault) set no header;
    # the context existed, so the SERVER span still names its request and project.
    with make_deployment({"rate_limits": {"POST": 0}}) as deployment:
        client = Client(deployment)
        response = client.create(path="/v2/%s/servers" % client.project_id)
    assert response.status_int == 429
    assert COMPUTE not in response.headers and OSLO not in response.headers
    (server,) = [s for s in spans.finished() if s.kind == trace.SpanKind.SERVER]
    assert REQUEST_ID.match(server.attributes["nova.request_id"])
    assert server.attributes["nova.project_id"] == client.project_id
    assert server.attributes["nova.fault"] == "overLimit"


@pytest.mark.parametrize("prefix", ["/v2/{project_id}", "/v1.1/{project_id}", "/v2"])
def test_an_unrouted_v2_path_is_refused_before_its_404_as_a_routed_one(client, prefix):
    # Icehouse's /v2 pipeline ran authtoken (401) and sizelimit (413) before its router.
    path = prefix.format(project_id=client.project_id) + "/no-such"
    anonymous = client.request("GET", path, headers={"X-Auth-Token": None})
    too_large = client.request("POST", path, {"pad": "a" * 114688})
    assert (anonymous.status_int, too_large.status_int) == (401, 413)
    assert anonymous.json == {"unauthorized": {"message": "Authentication required", "code": 401}}
    assert COMPUTE not in anonymous.headers and COMPUTE not in too_large.headers


def test_an_unrouted_v2_post_counts_against_the_rate_limit():
    # ratelimit came before the router: over the limit even a POST to no route is a 429.
    with make_deployment({"rate_limits": {"POST": 1}}) as deployment:
        client = Client(deployment)
        path = "/v2/%s/no-such" % client.project_id
        first, second = (client.request("POST", path, {}) for _ in range(2))
    assert (first.status_int, second.status_int) == (404, 429)
    assert COMPUTE not in first.headers and COMPUTE not in second.headers


def test_a_choice_links_the_path_with_its_runs_of_slashes_read_as_one(client):
    response = client.request("GET", "/foo//bar/", headers={"X-Auth-Token": None})
    hrefs = [choice["links"][0]["href"] for choice in response.json["choices"]]
    assert hrefs == ["http://localhost/v2/foo/bar", "http://localhost/v2.1/foo/bar"]


@pytest.mark.parametrize("path", ["/", "//", "/v3/", "/foo"])
@pytest.mark.parametrize(
    "content_type",
    ["application/xml", "application/vnd.openstack.compute+xml", "image/png", "APPLICATION/JSON"],
)
def test_the_versions_app_refuses_a_type_it_does_not_serve(client, path, content_type):
    # Nova 34.0.0's versions app is a wsgi.Resource: 415 before it answers (M28, M29).
    response = client.request("GET", path, headers={"Content-Type": content_type})
    assert response.status_int == 415
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert response.json == {"badMediaType": {"message": "Unsupported Content-Type", "code": 415}}
    assert OSLO not in response.headers and COMPUTE not in response.headers


@pytest.mark.parametrize(
    "content_type",
    ["", "text/plain", "application/json; charset=UTF-8", "application/vnd.openstack.compute+json"],
)
def test_the_versions_app_reads_no_type_text_or_json_as_fine(client, content_type):
    answers = [
        client.request("GET", path, headers={"Content-Type": content_type}).status_int
        for path in ("/", "/foo")
    ]
    assert answers == [200, 300]
