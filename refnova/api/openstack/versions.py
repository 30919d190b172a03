"""Version discovery: ``GET /`` (every version), ``GET /v2/`` and ``GET /v2.1/``, and the
multiple choices a path outside every version (``GET /v3/``, ``/foo``) is answered with.

Icehouse listed only v2.0 (the v3 API was off by default), and built every link from the
request's own URL: ``http://host:port/v2/``. The documents are data, so a later contract is
one more entry here: v2.1, today's, whose ``min_version`` and ``version`` (the maximum)
declare the microversions a deployment serves (its /v2.1 contract's ``versions``). Only entries
that have microversions carry those two fields in the ``GET /`` list.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import webob

from refnova.api.openstack import contracts
from refnova.exception import ApiError

V2_UPDATED = "2011-01-21T11:33:21Z"

VERSIONS: dict[str, dict[str, Any]] = {
    "v2.0": {
        "id": "v2.0",
        "status": "CURRENT",
        "updated": V2_UPDATED,
        "path": "v2",
        "links": [
            {
                "rel": "describedby",
                "type": "application/pdf",
                "href": "http://docs.openstack.org/api/openstack-compute/2/os-compute-devguide-2.pdf",
            },
            {
                "rel": "describedby",
                "type": "application/vnd.sun.wadl+xml",
                "href": "http://docs.openstack.org/api/openstack-compute/2/wadl/os-compute-2.wadl",
            },
        ],
        "media-types": [
            {"base": "application/xml", "type": "application/vnd.openstack.compute+xml;version=2"},
            {
                "base": "application/json",
                "type": "application/vnd.openstack.compute+json;version=2",
            },
        ],
    },
    # Today's document (Nova 34.0.0's, with refnova's own range).
    "v2.1": {
        "id": "v2.1",
        "status": "CURRENT",
        "updated": "2013-07-23T11:33:21Z",
        "path": "v2.1",
        "links": [
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
        ],
        "media-types": [
            {
                "base": "application/json",
                "type": "application/vnd.openstack.compute+json;version=2.1",
            },
        ],
        "min_version": contracts.V2_1.min_version,
        "version": contracts.V2_1.max_version,
    },
}

MICROVERSION_FIELDS = ("min_version", "version")
# Nova 34.0.0's Fault answers JSON in UTF-8, whatever the client accepts.
FAULT_CONTENT_TYPE = "application/json; charset=UTF-8"
# Icehouse's paste map served /v1.1 with the /v2 pipeline (its routes are /v2's).
LEGACY_V2_PREFIX = "/v1.1"


def documents(v21: contracts.Contract) -> dict[str, dict[str, Any]]:
    """The version documents of a deployment whose /v2.1 contract is ``v21`` (its range)."""
    served = copy.deepcopy(VERSIONS)
    served["v2.1"].update(min_version=v21.min_version, version=v21.max_version)
    return served


def _self_href(req: webob.Request, version: Mapping[str, Any]) -> str:
    return "%s/%s/" % (req.host_url, version["path"])


def list_versions(
    req: webob.Request, versions: Mapping[str, dict[str, Any]] = VERSIONS
) -> dict[str, Any]:
    """``GET /``: id, status, updated and a self link for each version, sorted by id."""
    return {
        "versions": [
            {
                "id": version["id"],
                "status": version["status"],
                "updated": version["updated"],
                "links": [{"rel": "self", "href": _self_href(req, version)}],
                **{field: version[field] for field in MICROVERSION_FIELDS if field in version},
            }
            for _key, version in sorted(versions.items())
        ]
    }


def show_version(
    req: webob.Request, version_id: str, versions: Mapping[str, dict[str, Any]] = VERSIONS
) -> dict[str, Any]:
    """``GET /v2/``: the whole version document, its self link first."""
    version = copy.deepcopy(versions[version_id])
    version["links"].insert(0, {"rel": "self", "href": _self_href(req, version)})
    del version["path"]
    return {"version": version}


def choices(
    req: webob.Request, versions: Mapping[str, dict[str, Any]] = VERSIONS
) -> dict[str, Any]:
    """A path outside every version: each version's id, status and media types, its self link
    the same path under that version (Nova's ``Versions.multi``, answered with 300)."""
    # The links drop the path's end slashes (a run inside is one already, urlmap.py): /foo/bar/
    # is /v2/foo/bar under v2.0 (tests/functional/test_request_id_headers.py).
    path = "/".join(part for part in req.path.split("/") if part)
    return {
        "choices": [
            {
                "id": version["id"],
                "status": version["status"],
                "links": [{"rel": "self", "href": _self_href(req, version) + path}],
                "media-types": version["media-types"],
            }
            for _key, version in sorted(versions.items())
        ]
    }


def contract_under(path: str, served: Iterable[contracts.Contract]) -> contracts.Contract | None:
    """The served contract whose prefix the path is under; None: outside every version."""
    if path == LEGACY_V2_PREFIX or path.startswith(LEGACY_V2_PREFIX + "/"):
        path = "/v2"
    return next((contract for contract in served if contract.owns(path)), None)


def refuse_unsupported_content_type(req: webob.Request) -> None:
    """The versions app (``/`` and every path outside a version) is a ``wsgi.Resource`` in
    Nova 34.0.0: before it answers, a Content-Type it does not serve (XML too) is a 415
    ``badMediaType`` in UTF-8 JSON, without a request id (M28, M29)."""
    if contracts.unsupported_content_type(req):
        raise ApiError(415, "Unsupported Content-Type", {"Content-Type": FAULT_CONTENT_TYPE})


def refuse_malformed_body(req: webob.Request) -> None:
    """The versions app reads a POST's or PUT's body as any ``wsgi.Resource`` does, whatever
    its size (its pipeline has no sizelimit): JSON that does not parse is a 400 in UTF-8
    JSON (M31)."""
    try:
        contracts.read_v21_body(req)
    except ApiError as error:
        raise ApiError(error.status, error.message, {"Content-Type": FAULT_CONTENT_TYPE}) from None


def outside_every_version(
    req: webob.Request, versions: Mapping[str, dict[str, Any]] = VERSIONS
) -> tuple[int, dict[str, Any]]:
    """A request outside every version, whatever its method and without credentials, as
    Icehouse's and Nova 34.0.0's ``Versions`` app answered it: ``/`` with the version list,
    any other path (``/v3/``, ``/foo``) with 300 and the choices. A run of slashes is one
    before the router sees it (``urlmap.collapse_slashes``): ``//`` is ``/`` (M27)."""
    refuse_unsupported_content_type(req)
    refuse_malformed_body(req)
    if not req.path_info.strip("/"):  # GET / is routed; the other methods get the list too
        return 200, list_versions(req, versions)
    return 300, choices(req, versions)
