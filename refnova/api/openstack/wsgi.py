"""The WSGI application: Icehouse's pipeline (faultwrap, sizelimit, auth, ratelimit,
router, resource) as one object, and Nova's fault bodies."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import webob
import webob.exc
from opentelemetry.trace import INVALID_SPAN
from webob.descriptors import parse_int_safe

from refnova import tracing
from refnova.api.openstack import auth, contracts, links, request_body, urlmap, versions
from refnova.api.openstack.answers import JSON_CONTENT_TYPES as JSON_CONTENT_TYPES
from refnova.api.openstack.answers import Answer, best_json_type, fault_answer, json_response
from refnova.api.openstack.answers import fault_body as fault_body
from refnova.api.openstack.answers import fault_response as fault_response
from refnova.api.openstack.compute.routes import (
    ANY_METHOD_ROUTES,
    PUBLIC_ROUTES,
    ROUTES,
    ROUTES_BY_METHOD,
    Route,
)
from refnova.api.openstack.ratelimit import FaultWithoutRequestId, RateLimiter
from refnova.context import RequestContext, generate_request_id
from refnova.exception import ApiError, fault_key_for
from refnova.tracing.attributes import NOVA_FAULT, NOVA_PROJECT_ID, NOVA_REQUEST_ID

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from refnova.api.openstack.compute.servers import Controller

MAX_REQUEST_BODY_SIZE = 114688
SUPPORTED_CONTENT_TYPES = (
    "application/json",
    "application/vnd.openstack.compute+json",
    "application/xml",
    "application/vnd.openstack.compute+xml",
)


class APIRouter:
    """One WSGI app serving the /v2 contract of the servers resource."""

    def __init__(
        self,
        controller: Controller,
        rate_limits: Mapping[str, int] | None = None,
        authenticator: auth.NoAuth | auth.KeystoneAuth | None = None,
        controllers: Mapping[str, Any] | None = None,
        rate_limiter: RateLimiter | None = None,
        contracts_served: tuple[contracts.Contract, ...] = contracts.CONTRACTS,
        public_url: str | None = None,
    ) -> None:
        self.controller = controller
        self.public_url = public_url  # links and Location headers (links.use_public_url)
        # /v2 and /v2.1, the latter announcing the deployment's maximum microversion.
        self.contracts = contracts_served
        self.version_documents = versions.documents(contracts.for_path("/v2.1", contracts_served))
        self.rate_limiter = rate_limiter or RateLimiter(rate_limits or {})
        self.authenticator = authenticator or auth.NoAuth()
        # The other resources' controllers, by the name their routes give ("flavors.index").
        self.controllers = dict(controllers or {})
        # By template (a route's contract is its template's): a Route's hash hashes its
        # compiled pattern's code on every lookup.
        self._route_contracts = {
            route.template: contracts.for_path(route.template, contracts_served) for route in ROUTES
        }

    def _handler(self, action: str) -> Callable[..., Any]:
        """The method a route names: ``resource.method``, or a servers controller method."""
        resource, _, method = action.rpartition(".")
        controller = self.controllers[resource] if resource else self.controller
        return getattr(controller, method)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """WSGI, as ``webob.dec.wsgify`` served it (a WebOb HTTP exception raised is the
        answer) without the empty response wsgify makes for every request: the router
        always answers with its own."""
        urlmap.collapse_slashes(environ)
        req = webob.Request(environ)
        response: webob.Response | Answer
        try:
            response = self.respond(req)
        except webob.exc.HTTPException as error:
            response = error
        return response(environ, start_response)

    def respond(self, req: webob.Request) -> webob.Response | Answer:
        # The SERVER span is tracing.ServerSpanMiddleware's: the router names it after the
        # route and adds the fault and the request's ids (nothing to do when it records not).
        route, params = self._match(req)
        # Untraced: the no-op span, which records nothing (no call to ask it).
        span = tracing.current_span()
        recording = span is not INVALID_SPAN and span.is_recording()
        if recording and route is not None:
            tracing.name_after_route(span, req.method, route.template)
        # Icehouse's request id came from its wsgi.Resource: the router's redirect has none.
        sends_request_id = route is None or route.redirect_to is None
        response: webob.Response | Answer
        try:
            response = self._handle(req, route, params)
        except ApiError as error:
            sends_request_id = not isinstance(error, FaultWithoutRequestId)  # /v2's 429, 404
            response = fault_answer(error, req)
            contract = contracts.contract_of(req)
            contract.finish_fault(req, response)
            if recording:
                fault = error.fault or fault_key_for(error.status)
                tracing.mark_answer(span, error.status, error, **{NOVA_FAULT: fault})
        else:
            contract = contracts.contract_of(req)
            if recording and response.status_code >= 400:  # refused before any handler (401)
                fault = fault_key_for(response.status_code)
                tracing.mark_answer(span, response.status_code, None, **{NOVA_FAULT: fault})
        contract.finish_response(req, response)  # /v2.1: version echo
        context = req.environ.get("nova.context")
        # The context's own id (each authenticator makes a fresh context); one made here for
        # an answer given before there is one (404, 401, 413; sent on /v2.1 only). The path,
        # not the route, says which headers carry it: Nova's paste pipeline is chosen by URL
        # prefix (a route's template begins with the path's own prefix).
        headers = self._request_id_headers(route, req, context) if sends_request_id else ()
        if not (headers or recording):
            return response
        request_id = context.request_id if context else generate_request_id()
        # Appended: no handler sets these headers, so there is none to replace.
        response.headerlist.extend([(name, request_id) for name in headers])
        if recording:
            project_id = context.project_id if context else None
            tracing.annotate({NOVA_REQUEST_ID: request_id, NOVA_PROJECT_ID: project_id}, span)
        return response

    def _request_id_headers(
        self, route: Route | None, req: webob.Request, context: RequestContext | None
    ) -> tuple[str, ...]:
        """The route's (worked out once per route), or before there is a context the path's
        contract's: none outside every version (GET / too), none on /v2 (Icehouse's came from
        the context)."""
        if route is not None and context is not None:
            return self._route_contracts[route.template].request_id_headers
        contract = versions.contract_under(req.path_info, self.contracts)
        if contract is None or contract.request_id_needs_context:
            return ()
        return contract.request_id_headers

    @staticmethod
    def _match(req: webob.Request) -> tuple[Route | None, dict[str, str]]:
        path = req.environ.get("PATH_INFO", "")
        if not path.isascii():  # bytes as latin-1 (PEP 3333): WebOb decodes them as UTF-8
            path = req.path_info
        method = req.environ.get("REQUEST_METHOD", "GET")
        for route in ROUTES_BY_METHOD.get(method, ANY_METHOD_ROUTES):
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None, {}

    def _handle(
        self, req: webob.Request, route: Route | None, params: dict[str, str]
    ) -> webob.Response:
        if route is None:
            return self._unrouted(req)
        environ = req.environ
        contract = environ[contracts.ENVIRON_KEY] = self._route_contracts[route.template]
        links.refuse_unsafe_ids(params)
        links.use_public_url(req, self.public_url)
        if route.public:  # GET /: Nova 34.0.0's versions pipeline has no sizelimit (M32)
            return self._discovery(req, route)
        if _body_too_large(req):
            return _too_large_page(req)
        context = self._admit(req, contract)
        if context is None:
            return _unauthorized(self.authenticator.challenge_headers(), req)
        return self._dispatch(req, route, params, context, contract)

    def _admit(self, req: webob.Request, contract: contracts.Contract) -> RequestContext | None:
        """authtoken, keystonecontext and (/v2) ratelimit: the request's context, None: 401."""
        context = self.authenticator.authenticate(req)  # ApiError(503) when Keystone is down
        if context is None:
            return None
        links.refuse_unsafe_id("project_id", context.project_id)
        req.environ["nova.context"] = context
        if contract.rate_limited:
            method = req.environ.get("REQUEST_METHOD", "GET")  # req.method
            wait = self.rate_limiter.check(method, context.user_id)
            if wait is not None:
                raise self.rate_limiter.error(wait)
        return context

    def _unrouted(self, req: webob.Request) -> webob.Response:
        """A path no route has: outside every version Nova's versions app answers, any
        method; under a version a 404 after sizelimit, which comes first in every version's
        pipeline (M58, M59), and after the rest of the pipeline when the contract's router
        came last (/v2: authtoken and ratelimit too, ratelimit.py)."""
        contract = versions.contract_under(req.path_info, self.contracts)
        if contract is None:
            links.use_public_url(req, self.public_url)
            status, body = versions.outside_every_version(req, self.version_documents)
            return json_response(status, body, {}, best_json_type(req))
        public = next(
            (route for route in PUBLIC_ROUTES if route.pattern.match(req.path_info)), None
        )
        if public is not None:  # Nova 34.0.0's VersionsV2 answers /v2.1/ whatever the method
            return self._handle(req, public, {})
        if _body_too_large(req):
            return _too_large_page(req)
        if not contract.routes_after_pipeline:
            raise ApiError(404)
        if self._admit(req, contract) is None:
            return _unauthorized(self.authenticator.challenge_headers(), req)
        raise FaultWithoutRequestId(404)

    def _discovery(
        self,
        req: webob.Request,
        route: Route,
        project_id: str | None = None,
        context: RequestContext | None = None,
    ) -> webob.Response:
        """``GET /`` (every version) or one version's document (also a project's root)."""
        contracts.contract_of(req).negotiate(req)  # /v2.1: the microversion (400, 406) first
        if context is not None:
            _refuse_other_project(project_id, context)
        documents = self.version_documents
        if route.public:  # Nova 34.0.0's versions apps are wsgi.Resources (M29, M33, M34)
            versions.refuse_unsupported_content_type(req)
            versions.refuse_malformed_body(req)
        if route.action == "versions":
            return json_response(
                200, versions.list_versions(req, documents), {}, best_json_type(req)
            )
        return json_response(
            200,
            versions.show_version(req, route.action.split(":", 1)[1], documents),
            {},
            best_json_type(req),
        )

    def _dispatch(
        self,
        req: webob.Request,
        route: Route,
        params: dict[str, str],
        context: RequestContext,
        contract: contracts.Contract,
    ) -> webob.Response:
        if route.redirect_to is not None:
            return _redirect(req, route.redirect_to)
        if route.action == "versions" or route.action.startswith("version:"):
            return self._discovery(req, route, params.get("project_id"), context)
        contract.negotiate(req)  # /v2.1: the microversion (400, 406) comes first
        project_id = params.pop("project_id", None)  # optional on /v2.1
        body: Any = None
        if contract.read_body is not None:
            body = contract.read_body(req)
        elif route.method == "POST":
            body = _deserialize(req)
        tracing.remember_body(body)  # its secrets are redacted from spans and logs
        _refuse_other_project(project_id, context)
        if route.action == "create":
            for pre_process in contract.pre_processors:
                pre_process(body)
            status, result, headers = self.controller.create(req, body)
        else:
            if route.method == "POST":  # the resources' creates (key pairs) read the body
                params["body"] = body
            status, result, headers = self._handler(route.action)(req, **params)
        if result is None:  # 204 (or a bodiless 202): no body
            response = webob.Response(status=status, headerlist=[], content_type=None)
            response.headers.update({name: str(value) for name, value in headers.items()})
            return response
        return json_response(status, result, headers, best_json_type(req))


def _redirect(req: webob.Request, path: str) -> webob.Response:
    """Routes' RoutesMiddleware answering a redirect route: 302 Found, text/plain, no body, the
    path under the request's SCRIPT_NAME (no query). Its Location is a path; Icehouse's
    FaultWrapper re-answered it through WebOb, which makes a Location absolute, as this
    response does when it is sent (http://host/v2/)."""
    headerlist = [
        ("Content-Type", "text/plain; charset=utf8"),
        ("Location", req.script_name + path),
    ]
    return webob.Response(status=302, headerlist=headerlist)


def _refuse_other_project(project_id: str | None, context: RequestContext) -> None:
    """Nova's wsgi.Resource: a project id in the URL must be the caller's (M16, M50)."""
    if project_id is not None and project_id != context.project_id:
        raise ApiError(
            400,
            "Malformed request URL: URL's project_id '%s' doesn't match "
            "Context's project_id '%s'" % (project_id, context.project_id),
        )


def _body_too_large(req: webob.Request) -> bool:
    """sizelimit (F1): over 114688 bytes, declared or read from a chunked body."""
    length = parse_int_safe(req.environ.get("CONTENT_LENGTH"))  # req.content_length
    if length is not None:
        return length > MAX_REQUEST_BODY_SIZE
    if req.method == "POST" and req.is_body_readable:
        data = req.body_file_raw.read(MAX_REQUEST_BODY_SIZE + 1)
        if len(data) > MAX_REQUEST_BODY_SIZE:
            return True
        req.body = data
    return False


def _too_large_page(req: webob.Request) -> webob.Response:
    """F1 as a Nova fault (Icehouse answered WebOb's own text or HTML page here)."""
    body = fault_body(413, "Request is too large.")
    return json_response(413, body, {}, best_json_type(req))


def _unauthorized(
    headers: Mapping[str, str] | None = None, req: webob.Request | None = None
) -> webob.Response:
    body = fault_body(401, "Authentication required")
    return json_response(401, body, headers, best_json_type(req))


def _deserialize(req: webob.Request) -> Any:
    """The body as JSON; F3 for an unsupported type, F4 for bad JSON, None when empty."""
    environ = req.environ  # req.content_type and req.content_length, read as WebOb reads them
    content_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0]
    if (
        content_type
        and content_type != "text/plain"
        and content_type not in SUPPORTED_CONTENT_TYPES
    ):
        raise ApiError(400, "Unsupported Content-Type")
    length = parse_int_safe(environ.get("CONTENT_LENGTH"))
    if not length:
        return None
    if not content_type or content_type == "text/plain":
        raise ApiError(400, "Unsupported Content-Type")
    if content_type.endswith("xml"):
        # refnova speaks JSON only; Icehouse also parsed XML bodies.
        raise ApiError(415, "XML request bodies are not supported")
    return request_body.parse(request_body.read(req, length))
