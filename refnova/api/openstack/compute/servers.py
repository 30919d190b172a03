"""servers.Controller: the servers resource of both API contracts (/v2 and /v2.1).

One controller serves both, as Nova serves its versions from one controller with a schema
per version range: each request brings its contract (``contracts.contract_of``), which
names the body check, the field checks to run at the request's microversion
(``server_checks.py``), the error table (``errors.py``) and the views.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import webob

from refnova import exception, tracing, utils
from refnova.api.openstack import contracts, wsgi
from refnova.api.openstack.compute import errors, resource_versions, server_list, server_views
from refnova.api.openstack.compute import server_checks as checks
from refnova.api.openstack.compute.server_checks import Server
from refnova.compute.api import API as ComputeAPI
from refnova.compute.api import ComputeConfig
from refnova.context import RequestContext
from refnova.db import api as db_api
from refnova.db import server_reads
from refnova.exception import ApiError

if TYPE_CHECKING:
    from refnova.db.models import FlavorRecord, Instance, InstanceRecord

# What a controller method answers: the status, the JSON body (None: no body), the headers.
Answer = tuple[int, dict[str, Any] | None, Mapping[str, str]]
# From 2.102 a server's show takes no query parameter (Nova's show_query_v2102).
SHOW_QUERY = resource_versions.query_rules(("2.102", (), True))


class Controller:
    """The servers resource; each request brings its API contract (/v2 or /v2.1).

    ``api_options`` is the world's ``api`` object; it may change how quota errors answer
    (``errors.with_quota_status``).
    """

    def __init__(
        self,
        compute_api: ComputeAPI,
        config: ComputeConfig,
        api_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.compute_api = compute_api
        self.config = config
        self._error_tables = {
            contract.name: errors.with_quota_status(contract.errors, api_options)
            for contract in contracts.CONTRACTS
        }

    def _errors(self, contract: contracts.Contract) -> errors.ErrorTable:
        return self._error_tables[contract.name]

    @tracing.traced("servers.Controller.create")
    def create(self, req: webob.Request, body: Any) -> Answer:
        contract = contracts.contract_of(req)
        context = req.environ["nova.context"]
        try:
            server, values = self._check_fields(contract, req, body)
            flavor = self._flavor(context, values["flavor_id"])
            instances, reservation_id = self.compute_api.create(
                context,
                flavor,
                values["image_uuid"],
                **self._create_kwargs(server, values),
                **contract.compute_options,
            )
        except exception.NovaException as error:
            raise errors.to_api_error(error, self._errors(contract))
        if utils.py2_truthy(server.get("return_reservation_id", False)):
            return 202, {"reservation_id": reservation_id}, {}
        body = self._create_view(contract, req, instances[0], values["admin_password"], server)
        return 202, body, {"Location": body["server"]["links"][0]["href"]}

    @tracing.traced("views.servers.ViewBuilder.create")
    def _create_view(
        self,
        contract: contracts.Contract,
        req: webob.Request,
        instance: Mapping[str, Any],
        admin_password: str,
        server: Server,
    ) -> dict[str, Any]:
        """The 202 body, the contract's view of the new server."""
        return contract.create_view(req, instance, admin_password, server, self.config)

    # Nova's create checks its body inline; refnova's span of them is named after this method.
    @tracing.traced("servers.Controller._check_fields")
    def _check_fields(
        self, contract: contracts.Contract, req: webob.Request, body: Any
    ) -> tuple[Server, dict[str, Any]]:
        """The body's ``server`` object, then every step of the contract at the request's
        version, in order: (the server object, the values)."""
        version = req.environ.get(contracts.VERSION_KEY)
        server = contract.server_from_body(body, version)
        values: dict[str, Any] = {}
        for step in contract.steps_at(version):
            value = step.check(server, body, self.config)
            if step.name is not None:
                values[step.name] = value
        values["admin_password"] = checks.generated_admin_password(
            values["admin_password"], self.config
        )
        return server, values

    @tracing.traced("compute.flavors.get_flavor_by_flavor_id")
    def _flavor(self, context: RequestContext, flavorid: str) -> FlavorRecord:
        with self.compute_api.db.reading() as connection:
            return db_api.flavor_get_by_flavor_id(connection, flavorid, context)

    @staticmethod
    def _create_kwargs(server: Server, values: Mapping[str, Any]) -> dict[str, Any]:
        min_count, max_count = values["counts"]
        return dict(
            display_name=values["display_name"],
            display_description=values.get("display_description", values["display_name"]),
            key_name=values["key_name"],
            metadata=server.get("metadata", {}),
            access_ip_v4=values["access_ip_v4"],
            access_ip_v6=values["access_ip_v6"],
            injected_files=values["injected_files"],
            admin_password=values["admin_password"],
            min_count=min_count,
            max_count=max_count,
            requested_networks=values["requested_networks"],
            security_group=values["security_groups"],
            user_data=values["user_data"],
            availability_zone=values["availability_zone"],
            config_drive=values["config_drive"],
            block_device_mapping=values["legacy_bdm_list"] or values["bdm_v2_list"],
            auto_disk_config=values["auto_disk_config"],
            scheduler_hints=values["scheduler_hints"],
            legacy_bdm=not values["bdm_v2_list"],
            **_versioned_kwargs(values),
        )

    @tracing.traced("servers.Controller.index")
    def index(self, req: webob.Request) -> Answer:
        """GET /servers: id, name and links of each server the query asks for."""
        return self._list(req, detail=False)

    @tracing.traced("servers.Controller.detail")
    def detail(self, req: webob.Request) -> Answer:
        """GET /servers/detail: each server the query asks for, as show shows it."""
        return self._list(req, detail=True)

    def _list(self, req: webob.Request, detail: bool) -> Answer:
        contract = contracts.contract_of(req)
        context = req.environ["nova.context"]
        rules = contract.server_list
        filters = server_list.filters_from_query(req, context, rules, detail)
        if filters is None:  # a status no server can have
            return 200, {"servers": []}, {}
        try:
            instances = self.compute_api.get_all(context, filters)
        except exception.MarkerNotFound:
            raise ApiError(400, "marker [%s] not found" % filters.marker)
        except exception.NovaException as error:
            raise errors.to_api_error(error, self._errors(contract))
        if not detail:
            return 200, server_list.page(req, context, rules, instances, None), {}
        with self.compute_api.db.reading() as connection:

            def show(instance: Instance) -> dict[str, Any]:
                view = self._server_view(req, connection, instance, detail=True)
                server: dict[str, Any] = view["server"]
                return server

            body = server_list.page(req, context, rules, instances, show)
        return 200, body, {}

    @tracing.traced("servers.Controller.delete")
    def delete(self, req: webob.Request, server_id: str) -> Answer:
        """DELETE /servers/{id}: 204 with no body; the server's quota is released."""
        contract = contracts.contract_of(req)
        context = req.environ["nova.context"]
        try:
            self.compute_api.delete(context, server_id)
        except exception.InstanceNotFound:
            raise ApiError(404, contract.instance_not_found % {"id": server_id})
        except exception.NovaException as error:
            raise errors.to_api_error(error, self._errors(contract))
        # Nova's serializer types even an empty answer (both contracts).
        return 204, None, {"Content-Type": wsgi.best_json_type(req)}

    @tracing.traced("servers.Controller.show")
    def show(self, req: webob.Request, server_id: str) -> Answer:
        resource_versions.check_query(req, SHOW_QUERY)
        context = req.environ["nova.context"]
        with self.compute_api.db.reading() as connection:
            try:
                instance = server_reads.instance(connection, server_id, context.project_id)
            except exception.InstanceNotFound:
                raise ApiError(
                    404, contracts.contract_of(req).instance_not_found % {"id": server_id}
                )
            body = self._server_view(req, connection, instance, detail=False)
        return 200, body, {}

    def _server_view(
        self,
        req: webob.Request,
        session: server_reads.Reader,
        instance: InstanceRecord,
        detail: bool,
    ) -> dict[str, Any]:
        """A server as the contract shows it, then as the request's microversion does."""
        context = req.environ["nova.context"]
        body = contracts.contract_of(req).show_view(req, session, instance, context, self.config)
        shown = server_views.Shown(req, session, instance, context, detail)
        server_views.apply(req.environ.get(contracts.VERSION_KEY), shown, body["server"])
        return body


def _versioned_kwargs(values: Mapping[str, Any]) -> dict[str, Any]:
    """What later microversions add to the compute API's create, when the request has it."""
    kwargs = {key: values[key] for key in ("hostname", "tags", "trusted_certs") if key in values}
    if "requested_destination" in values:
        host, node = values["requested_destination"]
        kwargs.update(requested_host=host, requested_hypervisor_hostname=node)
    return kwargs
