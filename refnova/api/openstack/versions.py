"""Version discovery as Icehouse answered it: ``GET /`` (every version) and ``GET /v2/``.

Icehouse listed only v2.0 (the v3 API was off by default), and built every link from the
request's own URL: ``http://host:port/v2/``. The documents are data, so a later contract
(v2.1, with its microversion fields) is one more entry here.
"""
import copy

V2_UPDATED = "2011-01-21T11:33:21Z"

VERSIONS = {
    "v2.0": {
        "id": "v2.0",
        "status": "CURRENT",
        "updated": V2_UPDATED,
        "path": "v2",
        "links": [
            {"rel": "describedby", "type": "application/pdf",
             "href": "http://docs.openstack.org/api/openstack-compute/2/os-compute-devguide-2.pdf"},
            {"rel": "describedby", "type": "application/vnd.sun.wadl+xml",
             "href": "http://docs.openstack.org/api/openstack-compute/2/wadl/os-compute-2.wadl"},
        ],
        "media-types": [
            {"base": "application/xml",
             "type": "application/vnd.openstack.compute+xml;version=2"},
            {"base": "application/json",
             "type": "application/vnd.openstack.compute+json;version=2"},
        ],
    },
}


def _self_href(req, version):
    return "%s/%s/" % (req.host_url, version["path"])


def list_versions(req, versions=VERSIONS):
    """``GET /``: id, status, updated and a self link for each version, sorted by id."""
    return {"versions": [
        {"id": version["id"], "status": version["status"], "updated": version["updated"],
         "links": [{"rel": "self", "href": _self_href(req, version)}]}
        for _key, version in sorted(versions.items())]}


def show_version(req, version_id, versions=VERSIONS):
    """``GET /v2/``: the whole version document, its self link first."""
    version = copy.deepcopy(versions[version_id])
    version["links"].insert(0, {"rel": "self", "href": _self_href(req, version)})
    del version["path"]
    return {"version": version}
