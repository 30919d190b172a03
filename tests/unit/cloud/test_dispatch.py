"""The dispatcher in front: each prefix to its service (whole segments only), the rest to
compute; each built-in service's request is one SERVER span named after its route."""

from opentelemetry.trace import SpanKind

from refnova.api.openstack.urlmap import PrefixDispatcher

from .conftest import DEMO_PROJECT, Cloud


def echo(name):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [("%s %s %s" % (name, environ["SCRIPT_NAME"], environ["PATH_INFO"])).encode()]

    return app


def call(app, path, script_name=""):
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": script_name,
        "SERVER_NAME": "h",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
    }
    return b"".join(app(environ, lambda status, headers, exc_info=None: None)).decode()


def test_a_prefix_moves_into_script_name_and_matches_whole_segments():
    app = PrefixDispatcher(
        {"/image": echo("image"), "/image/v2/tasks/": echo("tasks")}, echo("compute")
    )
    assert call(app, "/image") == "image /image "
    assert call(app, "/image/v2/images") == "image /image /v2/images"
    assert call(app, "/image/v2/tasks/1") == "tasks /image/v2/tasks /1"  # longest first
    assert call(app, "/images") == "compute  /images"
    assert call(app, "/v2.1/servers") == "compute  /v2.1/servers"
    assert call(app, "/image/x", script_name="/cloud") == "image /cloud/image /x"


def test_everything_else_reaches_the_compute_api_unchanged(cloud):
    assert cloud.get("/v2.1/servers").text == "compute  /v2.1/servers"
    assert cloud.get("/").text == "compute  /"


def test_each_built_in_service_request_is_one_server_span_named_after_its_route(spans):
    cloud = Cloud()
    cloud.get("/image/v2/images/x", "demo:%s" % DEMO_PROJECT)
    cloud.get("/networking/v2.0/networks", "demo:%s" % DEMO_PROJECT)
    cloud.request("POST", "/identity/v3/auth/tokens", {"auth": {}})
    found = [
        (span.name, span.kind, span.attributes.get("http.response.status_code"))
        for span in spans.finished()
    ]
    assert found == [
        ("GET /image/v2/images/{image_id}", SpanKind.SERVER, 404),
        ("GET /networking/v2.0/{collection}", SpanKind.SERVER, 200),
        ("POST /identity/v3/auth/tokens", SpanKind.SERVER, 400),
    ]
