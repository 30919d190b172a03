"""The world's networks, subnets, ports and security groups in Neutron's v2.0 shape.

The world names only what the create path needs (ids, owners, subnets, fixed IPs); the
rest is what Neutron gives an object created with its defaults (ML2 and the extensions a
devstack loads), so that clients find every key they read (openstacksdk's ``Network``,
``Subnet``, ``Port`` and ``SecurityGroup`` resources). A world object's own
values win over these defaults.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from refnova.api.openstack.service_app import WORLD_TIMESTAMP

_STAMPS = {
    "created_at": WORLD_TIMESTAMP,
    "updated_at": WORLD_TIMESTAMP,
    "revision_number": 1,
    "tags": [],
    "description": "",
}

NETWORK = {
    **_STAMPS,
    "admin_state_up": True,
    "availability_zone_hints": [],
    "availability_zones": ["nova"],
    "dns_domain": "",
    "ipv4_address_scope": None,
    "ipv6_address_scope": None,
    "l2_adjacency": True,
    "mtu": 1450,
    "name": "",
    "port_security_enabled": True,
    "qos_policy_id": None,
    "router:external": False,
    "shared": False,
    "status": "ACTIVE",
    "subnets": [],
}
SUBNET = {
    **_STAMPS,
    "allocation_pools": [],
    "dns_nameservers": [],
    "enable_dhcp": True,
    "gateway_ip": None,
    "host_routes": [],
    "ip_version": 4,
    "ipv6_address_mode": None,
    "ipv6_ra_mode": None,
    "name": "",
    "segment_id": None,
    "service_types": [],
    "subnetpool_id": None,
}
PORT = {
    **_STAMPS,
    "admin_state_up": True,
    "allowed_address_pairs": [],
    "binding:vnic_type": "normal",
    "device_id": "",
    "device_owner": "",
    "extra_dhcp_opts": [],
    "fixed_ips": [],
    "ip_allocation": "immediate",
    "name": "",
    "port_security_enabled": True,
    "propagate_uplink_status": False,
    "qos_network_policy_id": None,
    "qos_policy_id": None,
    "resource_request": None,
    "security_groups": [],
}
SECURITY_GROUP = {**_STAMPS, "name": "", "shared": False, "stateful": True}
# What every object has besides its defaults.
_OWNED = ("id", "tenant_id", "project_id")
_PARENTS = {"subnets": ("network_id", "cidr"), "ports": ("network_id", "mac_address", "status")}
_NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")


def world_objects(world: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Collection path -> the world's objects of that collection, in Neutron's shape."""
    views: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
        "networks": network_view,
        "subnets": subnet_view,
        "ports": port_view,
        "security-groups": security_group_view,
    }
    keys = {
        "networks": "networks",
        "subnets": "subnets",
        "ports": "ports",
        "security-groups": "security_groups",
    }
    return {path: [view(obj) for obj in world.get(keys[path], [])] for path, view in views.items()}


def attributes(path: str) -> set[str]:
    """The attributes an object of the collection has (what may be filtered on)."""
    defaults = {
        "networks": NETWORK,
        "subnets": SUBNET,
        "ports": PORT,
        "security-groups": SECURITY_GROUP,
    }[path]
    extra = ("security_group_rules",) if path == "security-groups" else ()
    return set(defaults) | set(_OWNED) | set(_PARENTS.get(path, ())) | set(extra)


def network_view(network: Mapping[str, Any]) -> dict[str, Any]:
    return _owned(NETWORK, network)


def subnet_view(subnet: Mapping[str, Any]) -> dict[str, Any]:
    return _owned(SUBNET, subnet)


def port_view(port: Mapping[str, Any]) -> dict[str, Any]:
    """A port bound to a server is an active compute port; a free one is down."""
    bound = bool(port.get("device_id"))
    defaults = {
        **PORT,
        "status": "ACTIVE" if bound else "DOWN",
        "device_owner": "compute:nova" if bound else "",
    }
    return _owned(defaults, port)


def security_group_view(group: Mapping[str, Any]) -> dict[str, Any]:
    """A group with the two egress rules Neutron gives every new group."""
    view = _owned(SECURITY_GROUP, group)
    view.setdefault(
        "security_group_rules", [_egress_rule(view, ethertype) for ethertype in ("IPv4", "IPv6")]
    )
    return view


def _owned(defaults: Mapping[str, Any], obj: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults, then the world's values; ``project_id`` and ``tenant_id`` both given."""
    view = copy.deepcopy({**defaults, **obj})  # no list shared between two objects
    owner = obj.get("project_id", obj.get("tenant_id"))
    view["tenant_id"] = view["project_id"] = owner
    return view


def _egress_rule(group: Mapping[str, Any], ethertype: str) -> dict[str, Any]:
    return {
        **_STAMPS,
        "id": str(uuid.uuid5(_NAMESPACE, "%s:%s" % (group["id"], ethertype))),
        "security_group_id": group["id"],
        "direction": "egress",
        "ethertype": ethertype,
        "protocol": None,
        "port_range_min": None,
        "port_range_max": None,
        "remote_ip_prefix": None,
        "remote_group_id": None,
        "remote_address_group_id": None,
        "normalized_cidr": None,
        "tenant_id": group["tenant_id"],
        "project_id": group["project_id"],
    }
