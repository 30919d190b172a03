"""ServerSpanMiddleware: the SERVER span of each request, around any WSGI application."""

import pytest
import webob
from opentelemetry.trace import SpanKind, StatusCode

from refnova import tracing
from refnova.tracing import wsgi as tracing_wsgi

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"


def app_answering(status, before=None):
    """A WSGI app that runs ``before(current span)`` and answers ``status`` with a body."""

    def app(environ, start_response):
        if before is not None:
            before(tracing.current_span())
        start_response(status, [("Content-Type", "text/plain")])
        return [b"body"]

    return app


def get(app, path="/v2/p1/servers?limit=1", **headers):
    request = webob.Request.blank(path, headers=headers)
    request.environ["REMOTE_ADDR"] = "192.0.2.7"
    return request.get_response(app)


def only_span(spans):
    (span,) = spans.finished()
    return span


def test_a_request_is_one_server_span_with_http_attributes(spans):
    response = get(
        tracing.ServerSpanMiddleware(app_answering("200 OK")),
        traceparent="00-%s-%s-01" % (TRACE_ID, PARENT_ID),
        User_Agent="probe/1",
    )
    assert response.status_int == 200 and response.body == b"body"
    span = only_span(spans)
    assert (span.name, span.kind) == ("GET", SpanKind.SERVER)
    assert dict(span.attributes) == {
        "http.request.method": "GET",
        "url.path": "/v2/p1/servers",
        "url.scheme": "http",
        "server.address": "localhost",
        "server.port": 80,
        "network.protocol.name": "http",
        "network.protocol.version": "1.0",
        "url.query": "limit=1",
        "user_agent.original": "probe/1",
        "client.address": "192.0.2.7",
        "http.response.status_code": 200,
    }
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert format(span.parent.span_id, "016x") == PARENT_ID and span.parent.is_remote
    assert span.status.status_code is StatusCode.UNSET


def test_the_application_names_the_span_after_its_route(spans):
    def route(span):
        tracing.name_after_route(span, "GET", "/v2/{project_id}/servers")

    get(tracing.ServerSpanMiddleware(app_answering("200 OK", route)))
    span = only_span(spans)
    assert span.name == "GET /v2/{project_id}/servers"
    assert span.attributes["http.route"] == "/v2/{project_id}/servers"


def test_a_4xx_leaves_the_server_span_s_status_unset(spans):
    response = get(tracing.ServerSpanMiddleware(app_answering("404 Not Found")))
    assert response.status_int == 404
    span = only_span(spans)
    assert span.status.status_code is StatusCode.UNSET
    assert "error.type" not in span.attributes
    assert span.attributes["http.response.status_code"] == 404


def test_a_5xx_marks_the_server_span_with_its_status_code(spans):
    get(tracing.ServerSpanMiddleware(app_answering("503 Service Unavailable")))
    span = only_span(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "503 Service Unavailable"
    assert span.attributes["error.type"] == "503"


@pytest.mark.parametrize(
    ("status", "code", "marked"),
    [("400 Bad Request", 400, False), ("500 Internal Server Error", 500, True)],
)
def test_an_answer_the_application_marks_is_an_error_only_for_5xx(spans, status, code, marked):
    def refuse(span):
        tracing.mark_answer(span, code, ValueError("bad flavor"), **{"nova.fault": "badRequest"})

    get(tracing.ServerSpanMiddleware(app_answering(status, refuse)))
    span = only_span(spans)
    assert span.attributes["nova.fault"] == "badRequest"
    if marked:
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "bad flavor"
        assert span.attributes["error.type"] == "ValueError"
        assert [event.name for event in span.events] == ["exception"]
    else:
        assert span.status.status_code is StatusCode.UNSET
        assert "error.type" not in span.attributes and not span.events


@pytest.mark.parametrize("status", ["202 Accepted", "404 Not Found", "500 Internal Server Error"])
def test_every_answer_carries_its_server_span_in_traceresponse(spans, status):
    response = get(tracing.ServerSpanMiddleware(app_answering(status)))
    span = only_span(spans)
    assert response.headers["traceresponse"] == "00-%032x-%016x-%02x" % (
        span.context.trace_id,
        span.context.span_id,
        span.context.trace_flags,
    )
    assert span.context.trace_flags & 1  # sampled


def test_an_exception_leaving_the_application_is_recorded_and_raised(spans):
    def crash(environ, start_response):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        get(tracing.ServerSpanMiddleware(crash))
    span = only_span(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]
    assert span.attributes["error.type"] == "RuntimeError"
    assert "http.response.status_code" not in span.attributes


def test_untraced_the_application_gets_the_server_s_own_start_response(spans, monkeypatch):
    monkeypatch.setattr(tracing_wsgi, "enabled", lambda: False)
    seen = []

    def app(environ, start_response):
        seen.append(start_response)
        start_response("200 OK", [])
        return [b""]

    def start_response(status, headers, exc_info=None):
        return lambda data: None

    tracing.ServerSpanMiddleware(app)(webob.Request.blank("/").environ, start_response)
    assert seen == [start_response]  # no traceresponse either: there is no trace
    assert spans.finished() == []
