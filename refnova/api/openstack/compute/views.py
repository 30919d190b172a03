"""Response bodies of the servers resource, shaped as Icehouse's views and extensions."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import webob

from refnova.api.openstack.compute.schemas import servers as schemas
from refnova.compute.api import ComputeConfig
from refnova.context import RequestContext
from refnova.db import server_reads
from refnova.db.models import InstanceRecord

# A JSON object of a response body.
Body = dict[str, Any]

_STATUS_BY_VM_STATE = {
    "building": "BUILD",
    "active": "ACTIVE",
    "error": "ERROR",
    "stopped": "SHUTOFF",
    "deleted": "DELETED",
}
_POWER_STATE_NOSTATE = 0


def _isotime(value: datetime.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def application_url(req: webob.Request) -> str:
    """The URL of the API version the request came in on, e.g. http://host:8774/v2."""
    version = req.path_info.strip("/").split("/")[0]
    return "%s/%s" % (req.host_url, version)


def resource_links(
    req: webob.Request, project_id: str, collection: str, resource_id: str
) -> list[dict[str, str]]:
    """Self and bookmark links; the bookmark drops the version from the URL."""
    project = project_id if project_id in req.path_info.split("/") else ""
    self_href = "/".join(filter(None, (application_url(req), project, collection, resource_id)))
    bookmark = "/".join(filter(None, (req.host_url, project, collection, resource_id)))
    return [{"rel": "self", "href": self_href}, {"rel": "bookmark", "href": bookmark}]


def create(
    req: webob.Request,
    instance: Mapping[str, Any],
    admin_password: str,
    server: Mapping[str, Any],
    config: ComputeConfig,
) -> Body:
    """The 202 body: only the first instance, as Nova returned it (§3)."""
    body: Body = {
        "id": instance["uuid"],
        "links": resource_links(req, instance["project_id"], "servers", instance["uuid"]),
    }
    if config.enable_instance_password:
        body["adminPass"] = admin_password
    body["OS-DCF:diskConfig"] = "AUTO" if instance["auto_disk_config"] else "MANUAL"
    # With Neutron security groups Icehouse echoed the request's value verbatim.
    body["security_groups"] = (
        server["security_groups"] if "security_groups" in server else [{"name": "default"}]
    )
    return {"server": body}


def show(
    req: webob.Request,
    session: server_reads.Reader,
    instance: InstanceRecord,
    context: RequestContext,
    config: ComputeConfig,
) -> Body:
    """GET /servers/{id}: the Icehouse detail view with its standard extensions."""
    project_id = instance.project_id
    flavorid = server_reads.flavorid(session, instance)
    body: Body = {
        "id": instance.uuid,
        "name": instance.display_name,
        "status": _STATUS_BY_VM_STATE.get(instance.vm_state, "UNKNOWN"),
        "tenant_id": project_id,
        "user_id": instance.user_id,
        "metadata": server_reads.metadata(session, instance.uuid),
        "hostId": _host_id(project_id, instance.host),
        "image": _image_ref(req, project_id, instance.image_ref),
        "flavor": {
            "id": flavorid,
            "links": [
                {
                    "rel": "bookmark",
                    "href": "%s/%sflavors/%s"
                    % (
                        req.host_url,
                        project_id + "/" if project_id in req.path_info else "",
                        flavorid,
                    ),
                }
            ],
        },
        "created": _isotime(instance.created_at),
        "updated": _isotime(instance.updated_at or instance.created_at),
        "addresses": _addresses(instance.network_info or []),
        "accessIPv4": instance.access_ip_v4 or "",
        "accessIPv6": instance.access_ip_v6 or "",
        "links": resource_links(req, project_id, "servers", instance.uuid),
        "key_name": instance.key_name,
        "config_drive": instance.config_drive or "",
        "OS-DCF:diskConfig": "AUTO" if instance.auto_disk_config else "MANUAL",
        "OS-EXT-AZ:availability_zone": instance.availability_zone or "nova",
        "OS-EXT-STS:vm_state": instance.vm_state,
        "OS-EXT-STS:task_state": instance.task_state,
        "OS-EXT-STS:power_state": instance.power_state,
        "OS-SRV-USG:launched_at": _isotime(instance.launched_at),
        "OS-SRV-USG:terminated_at": None,
        "os-extended-volumes:volumes_attached": [],
        "security_groups": [{"name": name} for name in instance.security_groups or []],
    }
    if instance.vm_state in ("building", "active"):
        body["progress"] = instance.progress or 0
    if context.is_admin:
        body.update(
            {
                "OS-EXT-SRV-ATTR:host": instance.host,
                "OS-EXT-SRV-ATTR:hypervisor_hostname": instance.node,
                "OS-EXT-SRV-ATTR:instance_name": "instance-%08x" % instance.id,
            }
        )
    if instance.vm_state == "error":
        fault = server_reads.latest_fault(session, instance.uuid)
        if fault is not None:
            body["fault"] = {
                "code": fault.code,
                "created": _isotime(fault.created_at),
                "message": fault.message,
            }
            if context.is_admin:
                body["fault"]["details"] = fault.details
    return {"server": body}


def _host_id(project_id: str, host: str | None) -> str:
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode("utf-8")).hexdigest()


def _image_ref(req: webob.Request, project_id: str, image_ref: str) -> str | Body:
    if not image_ref:
        return ""  # booted from a volume
    prefix = project_id + "/" if project_id in req.path_info else ""
    return {
        "id": image_ref,
        "links": [
            {"rel": "bookmark", "href": "%s/%simages/%s" % (req.host_url, prefix, image_ref)}
        ],
    }


def _addresses(network_info: Iterable[Mapping[str, Any]]) -> dict[str, list[Body]]:
    addresses: dict[str, list[Body]] = {}
    for vif in network_info:
        addresses.setdefault(vif["network"], []).append(
            {
                "version": 6 if ":" in vif["address"] else 4,
                "addr": vif["address"],
                "OS-EXT-IPS:type": "fixed",
                "OS-EXT-IPS-MAC:mac_addr": vif["mac"],
            }
        )
    return addresses


# --- /v2.1 at 2.1 ------------------------------------------------------------------------------


def today_create(
    req: webob.Request,
    instance: Mapping[str, Any],
    admin_password: str,
    server: Mapping[str, Any],
    config: ComputeConfig,
) -> Body:
    """The 202 body: only the keys Nova's v2.1 create response schema allows."""
    body = create(req, instance, admin_password, server, config)
    body["server"] = {
        key: value for key, value in body["server"].items() if key in schemas.CREATE_RESPONSE_KEYS
    }
    return body


def today_show(
    req: webob.Request,
    session: server_reads.Reader,
    instance: InstanceRecord,
    context: RequestContext,
    config: ComputeConfig,
) -> Body:
    """GET /servers/{id} at 2.1: the same keys as /v2; a launch time as oslo.serialization
    writes a datetime (``2026-01-02T03:04:05.000006``, no zone)."""
    body = show(req, session, instance, context, config)
    launched_at = instance.launched_at
    body["server"]["OS-SRV-USG:launched_at"] = (
        launched_at.strftime("%Y-%m-%dT%H:%M:%S.%f") if launched_at else None
    )
    return body
