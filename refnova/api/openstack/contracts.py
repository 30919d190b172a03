"""The two API contracts refnova serves, as data: /v2 (Icehouse 2014.1) and /v2.1 (today).

Everything below the servers controller is shared: one compute API, one conductor path,
one database. What differs between ``POST /v2/{project_id}/servers`` and ``POST
/v2.1/servers`` is held by a ``Contract``:

* the URL prefix of its routes;
* how a request body is read (content types, JSON) and checked: /v2 runs Icehouse's
  extension pre-processors and the controller's field checks (``V2_STEPS``); /v2.1 runs
  the JSON-Schema (``schemas/servers.py``) and the checks today's Nova still runs after it
  (``V21_STEPS``); the checks themselves are in ``compute/server_checks.py``;
* the options it asks of the compute API (``compute_options``);
* the table that turns a compute-API exception into an HTTP answer (``errors``; /v2.1's
  is derived from /v2's, ``compute/errors.py``);
* the shape of the 202 body and of a missing server's 404;
* microversions: /v2 ignores the headers, /v2.1 reads, checks and echoes them
  (``versions``: the range it announces, 2.1 to ``V21_ANNOUNCED_MAX``; refnova implements
  up to ``V21_IMPLEMENTED_MAX``); a step may apply to a range of versions only
  (``Step.versions``), and the schema is the one of the request's version;
* whether the Icehouse rate limiter applies (/v2 only).

The router picks the contract from the matched route (``for_path``) and leaves it on the
request (``contract_of``), as Nova marks a request legacy-v2 or v2.1 at version X.Y.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import webob

from refnova.api.openstack import microversions, request_body
from refnova.api.openstack.answers import Answer, set_header
from refnova.api.openstack.compute import errors, extensions, server_list, views
from refnova.api.openstack.compute import server_checks as checks
from refnova.api.openstack.compute import versioned_checks as versioned
from refnova.api.openstack.compute.around import ICEHOUSE, TODAY, AroundCreate
from refnova.api.openstack.compute.server_checks import Server, Step
from refnova.api.openstack.compute.server_list import ListRules
from refnova.compute.api import ComputeConfig
from refnova.context import RequestContext
from refnova.db import server_reads
from refnova.db.models import InstanceRecord
from refnova.exception import ApiError

ENVIRON_KEY = "refnova.contract"
VERSION_KEY = microversions.ENVIRON_KEY

V21_SUPPORTED_CONTENT_TYPES = ("application/json", "application/vnd.openstack.compute+json")
COMPUTE_REQUEST_ID = "x-compute-request-id"  # Icehouse's, all Nova had before oslo's
OPENSTACK_REQUEST_ID = "x-openstack-request-id"  # oslo.middleware's RequestId

# (req, the first instance, its admin password, the server object, config) -> the 202 body
CreateView = Callable[
    [webob.Request, Mapping[str, Any], str, Server, ComputeConfig], dict[str, Any]
]
# (req, session, instance, context, config) -> the body of GET /servers/{id}
ShowView = Callable[
    [webob.Request, server_reads.Reader, InstanceRecord, RequestContext, ComputeConfig],
    dict[str, Any],
]


@dataclasses.dataclass(frozen=True)
class Contract:
    name: str
    prefix: str  # routes under it belong to this contract
    # (body, microversion) -> the "server" object, or ApiError
    server_from_body: Callable[[Any, microversions.APIVersion | None], Server]
    create_steps: tuple[Step, ...]  # the checks, in the order Nova runs them
    errors: errors.ErrorTable  # how compute-API exceptions answer
    create_view: CreateView
    show_view: ShowView
    instance_not_found: str  # 404 text of GET /servers/{id}; %(id)s
    pre_processors: tuple[Callable[[Any], None], ...] = ()  # run on the raw body first
    read_body: Callable[[webob.Request], Any] | None = None  # None: the router's Icehouse rules
    compute_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    versions: microversions.VersionRange | None = None  # None: no microversions
    rate_limited: bool = False
    fault_content_type: str | None = None  # None: the JSON type the client accepts
    # Flavors, limits, key pairs, zones, images and quota sets (compute/around.py).
    around: AroundCreate = ICEHOUSE
    # How GET /servers reads its query string (compute/server_list.py).
    server_list: ListRules = server_list.ICEHOUSE
    # The answer's headers that carry the request id, each with the same value; with
    # request_id_needs_context only on an answer given with a request context.
    request_id_headers: tuple[str, ...] = (COMPUTE_REQUEST_ID,)
    request_id_needs_context: bool = False
    # Whether a path under the prefix that no route has is refused (401, 413, 429) as a
    # routed one is before its 404: Icehouse's router came after its whole pipeline.
    routes_after_pipeline: bool = False
    # steps_at's answers, by version: worked out once each (hashing the steps per request cost
    # more than the rest of the lookup).
    _steps_by_version: dict[Any, tuple[Step, ...]] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def owns(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")

    def steps_at(self, version: Any) -> tuple[Step, ...]:
        """The create steps that apply at a microversion (None: the contract has none)."""
        steps = self._steps_by_version.get(version)
        if steps is None:
            steps = tuple(step for step in self.create_steps if step.applies_at(version))
            self._steps_by_version[version] = steps
        return steps

    def negotiate(self, req: webob.Request) -> None:
        """Settle the request's microversion (``VERSION_KEY``); ApiError(400/406) if bad."""
        if self.versions is None:
            return
        version, error = self.versions.negotiate(req.headers)
        req.environ[VERSION_KEY] = version
        if error is not None:
            raise error

    def response_headers(self, req: webob.Request) -> dict[str, str]:
        """What every answer to the request carries: the microversion echo, once known."""
        version = req.environ.get(VERSION_KEY)
        if self.versions is None or version is None:
            return {}
        return microversions.response_headers(version)

    def finish_response(self, req: webob.Request, response: webob.Response | Answer) -> None:
        if self.versions is None:  # /v2: nothing to echo
            return
        for name, value in self.response_headers(req).items():
            set_header(response.headerlist, name, value)

    def finish_fault(self, req: webob.Request, response: webob.Response | Answer) -> None:
        if self.fault_content_type:
            set_header(response.headerlist, "Content-Type", self.fault_content_type)

    @property
    def max_version(self) -> str:
        return str(self.versions.maximum) if self.versions else ""

    @property
    def min_version(self) -> str:
        return str(self.versions.minimum) if self.versions else ""


def unsupported_content_type(req: webob.Request) -> bool:
    """Whether Nova 34.0.0's ``Request.get_content_type`` refuses the request's type: one
    of neither JSON type (a missing, empty or text/plain type is none; XML is refused)."""
    if "Content-Type" not in req.headers:
        return False
    content_type = req.content_type
    return bool(content_type) and content_type not in ("text/plain", *V21_SUPPORTED_CONTENT_TYPES)


def read_v21_body(req: webob.Request) -> Any:
    """Nova's v2.1 Resource: 415 for a type it does not serve; a missing or text/plain type
    still reads the body as JSON; an empty body is None; bad JSON is 400."""
    if unsupported_content_type(req):
        raise ApiError(415, "Unsupported Content-Type")
    if req.method not in ("POST", "PUT"):
        return None
    if not req.content_length:
        return None
    return request_body.parse(request_body.read(req))


# Nova 2014.1's evaluation order (spec §1.2); each step names the value it yields.
V2_STEPS = (
    Step("admin_password", checks.admin_password),
    Step("display_name", checks.icehouse_display_name),
    Step("image_uuid", checks.icehouse_image_uuid),
    Step("config_drive", checks.read("config_drive")),
    Step("injected_files", checks.icehouse_injected_files),
    Step("security_groups", checks.security_group_names),
    Step("requested_networks", checks.icehouse_requested_networks),
    Step("access_ip_v4", checks.icehouse_access_ip_v4),
    Step("access_ip_v6", checks.icehouse_access_ip_v6),
    Step("flavor_id", checks.flavor_id),
    Step("key_name", checks.read("key_name")),
    Step("user_data", checks.icehouse_user_data),
    Step("availability_zone", checks.read("availability_zone")),
    Step("legacy_bdm_list", checks.icehouse_legacy_block_device_mapping),
    Step(None, checks.one_bdm_syntax),
    Step("bdm_v2_list", checks.icehouse_block_device_mapping_v2),
    Step("counts", checks.icehouse_instance_counts),
    # OS-DCF and OS-SCH-HNT's pre-processors have put these into the server object.
    Step("auto_disk_config", checks.read("auto_disk_config")),
    Step("scheduler_hints", lambda server, body, config: server.get("scheduler_hints", {})),
)

# Nova 34.0.0's order (ServersController.create) after the schema of the request's version;
# a step with a range runs only at its versions (Nova's ``api_version_request.is_supported``).
V21_STEPS = (
    Step("admin_password", checks.admin_password),
    Step("display_name", checks.today_display_name),
    Step("display_description", versioned.name_as_description, versioned.BEFORE_2_19),
    Step("display_description", versioned.description, versioned.FROM_2_19),
    Step("hostname", versioned.hostname, versioned.FROM_2_90),
    Step("user_data", checks.read("user_data")),
    Step("key_name", checks.read("key_name")),
    Step("config_drive", checks.read("config_drive")),
    Step("security_groups", checks.security_group_names),
    Step("scheduler_hints", checks.today_scheduler_hints),
    Step("counts", checks.today_instance_counts),
    Step("availability_zone", checks.read("availability_zone")),
    Step("tags", versioned.tags, versioned.FROM_2_52),
    Step("auto_disk_config", checks.today_auto_disk_config),
    Step("access_ip_v4", checks.read("accessIPv4")),
    Step("access_ip_v6", checks.read("accessIPv6")),
    Step("injected_files", checks.injected_files),
    Step("trusted_certs", versioned.trusted_certs, versioned.FROM_2_63),
    Step("requested_destination", versioned.requested_destination, versioned.FROM_2_74),
    Step(None, checks.one_bdm_syntax),
    Step("legacy_bdm_list", checks.today_legacy_block_device_mapping),
    Step("bdm_v2_list", checks.today_block_device_mapping_v2),
    Step("image_uuid", checks.today_image_uuid),
    Step("requested_networks", checks.today_requested_networks),
    Step("flavor_id", checks.flavor_id),
)

# The options today's compute API applies that Icehouse's did not (see compute.api.API.create).
V21_COMPUTE_OPTIONS = {
    # Since Liberty Neutron networks may be requested twice (two ports on one network).
    "allow_duplicate_networks": True,
    # A fixed IP cannot go to several instances (InvalidFixedIpAndMaxCountRequest).
    "reject_fixed_ip_with_max_count": True,
    # Placement (since Pike) allocates a forced host's resources too: a forced host skips the
    # scheduler's filters but must be enabled and have room, or the build is NoValidHost.
    "placement_claims_forced_host": True,
}

# /v2.1's microversions: refnova implements every one of Nova 34.0.0's (2.1 to 2.104) on every
# /v2.1 route (create, the server views, the resources around create) and announces them all.
# A deployment may announce (and serve) less (Settings.max_microversion,
# REFNOVA_MAX_MICROVERSION, ``refnova serve --max-microversion``), e.g. for a client that
# negotiates ``latest`` but knows only older shapes.
V21_IMPLEMENTED_MAX = versioned.HIGHEST
V21_ANNOUNCED_MAX = V21_IMPLEMENTED_MAX

V2 = Contract(
    name="v2",
    prefix="/v2",
    server_from_body=checks.icehouse_server_from_body,
    create_steps=V2_STEPS,
    errors=errors.V2_ERRORS,
    create_view=views.create,
    show_view=views.show,
    instance_not_found="Instance could not be found",
    pre_processors=extensions.CREATE_PRE_PROCESSORS,
    rate_limited=True,
    # Icehouse's wsgi.Resource and Fault set the header from the context alone: none on a
    # 401, a 413 or an unrouted 404 (answered before keystonecontext, or by no Resource).
    request_id_needs_context=True,
    routes_after_pipeline=True,
)

V2_1 = Contract(
    name="v2.1",
    prefix="/v2.1",
    server_from_body=checks.today_server_from_body,
    create_steps=V21_STEPS,
    errors=errors.V21_ERRORS,
    create_view=views.today_create,
    show_view=views.today_show,
    instance_not_found="Instance %(id)s could not be found.",
    read_body=read_v21_body,
    compute_options=V21_COMPUTE_OPTIONS,
    versions=microversions.VersionRange("2.1", V21_ANNOUNCED_MAX),
    fault_content_type="application/json; charset=UTF-8",
    around=TODAY,
    server_list=server_list.TODAY,
    # nova.api.compute_req_id.ComputeReqIdMiddleware: oslo's RequestId, Icehouse's as compat.
    request_id_headers=(OPENSTACK_REQUEST_ID, COMPUTE_REQUEST_ID),
)

CONTRACTS = (V2_1, V2)
BY_NAME = {contract.name: contract for contract in CONTRACTS}


def with_max_microversion(maximum: str | None) -> tuple[Contract, ...]:
    """The contracts a deployment serves: /v2.1 announcing ``maximum`` (None: its own).

    ValueError for a maximum below 2.1 or above the highest version refnova implements.
    """
    if maximum is None:
        return CONTRACTS
    refused = ValueError(
        "max microversion %r: refnova serves 2.1 to %s" % (maximum, V21_IMPLEMENTED_MAX)
    )
    try:
        versions = microversions.VersionRange(V2_1.min_version, maximum.strip())
    except ApiError:  # not MajorNum.MinorNum
        raise refused from None
    highest = microversions.APIVersion.parse(V21_IMPLEMENTED_MAX)
    if not versions.minimum <= versions.maximum <= highest:
        raise refused
    return (dataclasses.replace(V2_1, versions=versions), V2)


def for_path(path: str, served: tuple[Contract, ...] = CONTRACTS) -> Contract:
    """The contract of a request path or route template; /v2 (and /v1.1) by default."""
    for contract in served:
        if contract.owns(path):
            return contract
    return V2


def contract_of(req: webob.Request) -> Contract:
    """The contract the router chose for this request (/v2 for a request it did not route)."""
    return req.environ.get(ENVIRON_KEY) or V2
