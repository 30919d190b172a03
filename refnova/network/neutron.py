"""Networks, ports and security groups, as Neutron's v2 API serves them.

``NeutronClient`` speaks HTTP to a real Neutron; ``WorldNeutron`` answers the same calls from
the world in-process. ``API`` is Nova's neutronv2 API: the checks the create path makes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from refnova import exception, outside, tracing
from refnova.context import RequestContext

if TYPE_CHECKING:  # requests is imported by the calls that go out: in-process, none does
    import requests

# Neutron's resources (networks, ports, security groups) are its JSON objects.
Resource = dict[str, Any]
# A requested network of the create path: (network id, fixed IP, port id), any of them None.
RequestedNetwork = Sequence[Any]

# The Neutron v2.0 calls of the create path: each one a CLIENT span, over HTTP or in-process.
_SHOW_PORT = ("neutron", "GET", "/v2.0/ports/{port_id}")
_LIST_NETWORKS = ("neutron", "GET", "/v2.0/networks")
_LIST_PORTS = ("neutron", "GET", "/v2.0/ports")
_SHOW_QUOTA = ("neutron", "GET", "/v2.0/quotas/{project_id}")
_LIST_SECURITY_GROUPS = ("neutron", "GET", "/v2.0/security-groups")


class NeutronError(exception.NovaException):
    """An error answer from Neutron (4xx), with its status and text.

    The API maps the ones Nova understood (a 404 port is PortNotFound); any other one was a
    neutronclient exception that Icehouse let through as a generic 500, as here (R3).
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class NeutronClient:
    SERVICE = "the networking service (Neutron)"

    def __init__(
        self, endpoint: str, session: requests.Session | None = None, timeout: float = 10.0
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        import requests

        self.session = outside.ServiceSession(session or requests.Session(), self.SERVICE)
        self.timeout = timeout

    def _get(
        self, context: RequestContext, path: str, params: Mapping[str, Any] | None = None
    ) -> Any:
        headers = {"X-Auth-Token": context.auth_token or "", "Accept": "application/json"}
        response = tracing.send(
            self.session.request,
            "GET",
            "%s/v2.0/%s" % (self.endpoint, path),
            params=params,
            timeout=self.timeout,
            headers=headers,
        )
        if response.status_code >= 400:
            raise (
                outside.failed_on_its_side(response, self.SERVICE)
                or NeutronError(response.status_code, _neutron_message(response))
            )
        try:
            return response.json()
        except ValueError:
            raise exception.ServiceUnavailable(
                reason="%s answered something that is not JSON" % self.SERVICE
            )

    @tracing.client_call(*_SHOW_PORT)
    def show_port(self, context: RequestContext, port_id: str) -> Resource:
        return self._get(context, "ports/%s" % port_id)["port"]

    @tracing.client_call(*_LIST_NETWORKS)
    def list_networks(self, context: RequestContext, **filters: Any) -> list[Resource]:
        return self._get(context, "networks", filters)["networks"]

    @tracing.client_call(*_LIST_PORTS)
    def list_ports(self, context: RequestContext, **filters: Any) -> list[Resource]:
        return self._get(context, "ports", filters)["ports"]

    @tracing.client_call(*_SHOW_QUOTA)
    def show_quota(self, context: RequestContext, tenant_id: str) -> Resource:
        return self._get(context, "quotas/%s" % tenant_id)["quota"]

    @tracing.client_call(*_LIST_SECURITY_GROUPS)
    def list_security_groups(self, context: RequestContext, **filters: Any) -> list[Resource]:
        return self._get(context, "security-groups", filters)["security_groups"]


def _neutron_message(response: requests.Response) -> str:
    try:
        body = response.json()
        return body["NeutronError"]["message"]
    except (ValueError, KeyError, TypeError):
        return response.text


class WorldNeutron:
    """The world's networks, ports and groups, filtered as Neutron filters them."""

    def __init__(self, world: Mapping[str, Any]) -> None:
        self.networks: list[Resource] = world.get("networks", [])
        self.ports: list[Resource] = world.get("ports", [])
        self.security_groups: list[Resource] = world.get("security_groups", [])
        self.port_quota: int = world.get("port_quota", 50)

    @tracing.client_call(*_SHOW_PORT, in_process=True)
    def show_port(self, context: RequestContext, port_id: str) -> Resource:
        for port in self.ports:
            if port["id"] == port_id and _owned_or_admin(context, port):
                return port
        raise NeutronError(404, "Port %s could not be found" % port_id)

    @tracing.client_call(*_LIST_NETWORKS, in_process=True)
    def list_networks(self, context: RequestContext, **filters: Any) -> list[Resource]:
        return _filtered(self.networks, filters)

    @tracing.client_call(*_LIST_PORTS, in_process=True)
    def list_ports(self, context: RequestContext, **filters: Any) -> list[Resource]:
        return _filtered(self.ports, filters)

    @tracing.client_call(*_SHOW_QUOTA, in_process=True)
    def show_quota(self, context: RequestContext, tenant_id: str) -> Resource:
        return {"port": self.port_quota}

    @tracing.client_call(*_LIST_SECURITY_GROUPS, in_process=True)
    def list_security_groups(self, context: RequestContext, **filters: Any) -> list[Resource]:
        visible = [g for g in self.security_groups if _owned_or_admin(context, g)]
        return _filtered(visible, filters)


def _owned_or_admin(context: RequestContext, resource: Mapping[str, Any]) -> bool:
    return context.is_admin or resource.get("tenant_id") == context.project_id


def _filtered(resources: Iterable[Resource], filters: Mapping[str, Any]) -> list[Resource]:
    def matches(resource: Mapping[str, Any]) -> bool:
        for key, wanted in filters.items():
            wanted = wanted if isinstance(wanted, (list, tuple, set)) else [wanted]
            if resource.get(key) not in wanted:
                return False
        return True

    return [resource for resource in resources if matches(resource)]


class API:
    """The checks of nova.network.neutronv2.api (2014.1) that create makes."""

    def __init__(self, client: NeutronClient | WorldNeutron) -> None:
        self.client = client

    def _available_networks(
        self, context: RequestContext, net_ids: Iterable[str] | None = None
    ) -> list[Resource]:
        """The project's own networks, then the shared ones (as Nova asked Neutron)."""
        filters = {"id": list(net_ids)} if net_ids else {}
        own = self.client.list_networks(
            context, tenant_id=context.project_id, shared=False, **filters
        )
        shared = self.client.list_networks(context, shared=True, **filters)
        return own + shared

    def _port_for_request(self, context: RequestContext, port_id: str) -> Resource:
        try:
            port = self.client.show_port(context, port_id)
        except NeutronError as error:
            if error.status != 404:
                raise
            port = None
        if not port:
            raise exception.PortNotFound(port_id=port_id)
        if port.get("device_id"):
            raise exception.PortInUse(port_id=port_id)
        if not port.get("fixed_ips"):
            raise exception.PortRequiresFixedIP(port_id=port_id)
        return port

    def validate_networks(
        self,
        context: RequestContext,
        requested_networks: Iterable[RequestedNetwork] | None,
        num_instances: int,
        allow_duplicates: bool = False,
    ) -> int:
        """How many of ``num_instances`` the port quota allows; raises on a bad request.

        ``allow_duplicates``: a network may be requested twice (Icehouse: NetworkDuplicated).
        """
        ports_needed_per_instance = 0
        if no_allocate(requested_networks):
            return num_instances
        if auto_allocate(requested_networks):
            requested_networks = None
        if not requested_networks:
            if len(self._available_networks(context)) > 1:
                raise exception.NetworkAmbiguous(
                    "Multiple possible networks found, use a Network ID to be more specific."
                )
            ports_needed_per_instance = 1
        else:
            on_networks, requested_ids = [], []
            for net_id, _fixed_ip, port_id in requested_networks:
                if port_id:
                    net_id = self._port_for_request(context, port_id)["network_id"]
                else:
                    ports_needed_per_instance += 1
                    requested_ids.append(net_id)
                if net_id in on_networks and not allow_duplicates:
                    raise exception.NetworkDuplicated(network_id=net_id)
                on_networks.append(net_id)
            if requested_ids:
                self._check_networks_exist(context, requested_ids)
        if not ports_needed_per_instance:
            return num_instances
        return self._instances_within_port_quota(context, ports_needed_per_instance, num_instances)

    def _check_networks_exist(self, context: RequestContext, requested_ids: list[str]) -> None:
        networks = self._available_networks(context, requested_ids)
        for network in networks:
            if not network.get("subnets"):
                raise exception.NetworkRequiresSubnet(network_uuid=network["id"])
        if len(networks) != len(requested_ids):
            found = {network["id"] for network in networks}
            lost = [net_id for net_id in dict.fromkeys(requested_ids) if net_id not in found]
            if lost:  # a network requested twice is found once
                raise exception.NetworkNotFound(network_id=", ".join(lost))

    def _instances_within_port_quota(
        self, context: RequestContext, per_instance: int, num_instances: int
    ) -> int:
        quota: Any = self.client.show_quota(context, context.project_id).get("port")
        if quota == -1:
            return num_instances
        free = quota - len(self.client.list_ports(context, tenant_id=context.project_id))
        if free >= per_instance * num_instances:
            return num_instances
        return max(free, 0) // per_instance

    def get_security_group(self, context: RequestContext, name_or_id: str) -> Resource:
        """Nova's neutron security-group driver ``get``: by id, else by name."""
        groups = self.client.list_security_groups(context, id=name_or_id)
        if not groups:
            groups = self.client.list_security_groups(context, name=name_or_id)
        if not groups:
            raise exception.SecurityGroupNotFound(
                "Unable to find security_group with name '%s'" % name_or_id,
                security_group_id=name_or_id,
            )
        if len(groups) > 1:
            raise exception.NoUniqueMatch(
                "Multiple security_group matches found for name '%s', use an ID to be more "
                "specific." % name_or_id
            )
        return groups[0]

    def allocate_for_instance(
        self,
        context: RequestContext,
        instance_uuid: str,
        requested_networks: Sequence[RequestedNetwork] | None,
    ) -> list[dict[str, Any]]:
        """The addresses a fake compute reports for the instance (nothing is changed in Neutron)."""
        if no_allocate(requested_networks):
            return []
        if not requested_networks or auto_allocate(requested_networks):
            networks = self._available_networks(context)
            requested_networks = [(n["id"], None, None) for n in networks[:1]]
        info = []
        for index, (net_id, fixed_ip, port_id) in enumerate(requested_networks):
            if port_id:
                port = self._port_for_request(context, port_id)
                net_id, address = port["network_id"], port["fixed_ips"][0]["ip_address"]
                mac = port.get("mac_address", "")
            else:
                address = fixed_ip or _fake_address(instance_uuid, index)
                mac = _fake_mac(instance_uuid, index)
            network = next(iter(self.client.list_networks(context, id=net_id)), {"name": net_id})
            info.append({"network": network.get("name", net_id), "address": address, "mac": mac})
        return info


# Nova's NetworkRequest ids for a request of ``"networks": "none"`` or ``"auto"`` (2.37).
NETWORK_ID_NONE = "none"
NETWORK_ID_AUTO = "auto"


def _only_network(requested_networks: Iterable[RequestedNetwork] | None, network_id: str) -> bool:
    return [tuple(r)[0] for r in requested_networks or ()] == [network_id]


def no_allocate(requested_networks: Iterable[RequestedNetwork] | None) -> bool:
    """``"networks": "none"``: the server gets no network."""
    return _only_network(requested_networks, NETWORK_ID_NONE)


def auto_allocate(requested_networks: Iterable[RequestedNetwork] | None) -> bool:
    """``"networks": "auto"``: the network the project has (as if none were requested)."""
    return _only_network(requested_networks, NETWORK_ID_AUTO)


def _fake_address(instance_uuid: str, index: int) -> str:
    value = int(instance_uuid.replace("-", ""), 16)
    return "10.%d.%d.%d" % (index % 256, (value >> 8) % 256, value % 254 + 1)


def _fake_mac(instance_uuid: str, index: int) -> str:
    tail = instance_uuid.replace("-", "")[-6:]
    return "fa:16:3e:%s:%s:%s" % (
        tail[0:2],
        tail[2:4],
        "%02x" % ((int(tail[4:6], 16) + index) % 256),
    )
