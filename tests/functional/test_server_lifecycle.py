"""GET /servers, DELETE /servers/{id} and version discovery: what the conformance runner and
the OpenStack clients need besides create and show."""

import json

import webob
from sqlalchemy import select

from refnova.db import api as db_api
from refnova.db import models


def _servers(client):
    response = client.request("GET", "/v2/%s/servers" % client.project_id)
    assert response.status_int == 200, response.text
    return response.json["servers"]


def _usage(deployment, project_id):
    with deployment.db.transaction() as session:
        return {
            usage.resource: usage.in_use
            for usage in session.scalars(
                select(models.QuotaUsage).where(models.QuotaUsage.project_id == project_id)
            )
        }


def _host(deployment, host):
    with deployment.db.transaction() as session:
        node = session.scalar(select(models.ComputeNode).where(models.ComputeNode.host == host))
        return node.memory_mb_used, node.local_gb_used


def test_index_lists_the_project_s_servers_newest_first_with_links(client):
    first = client.create({"name": "one"}).json["server"]["id"]
    second = client.create({"name": "two"}).json["server"]["id"]
    servers = _servers(client)
    assert [(s["id"], s["name"]) for s in servers] == [(second, "two"), (first, "one")]
    assert servers[0] == {
        "id": second,
        "name": "two",
        "links": [
            {
                "rel": "self",
                "href": "http://localhost/v2/%s/servers/%s" % (client.project_id, second),
            },
            {
                "rel": "bookmark",
                "href": "http://localhost/%s/servers/%s" % (client.project_id, second),
            },
        ],
    }


def test_index_shows_only_the_caller_s_project(client):
    client.create()
    other = client.request("GET", "/v2/other/servers", headers={"X-Auth-Token": "demo:other"})
    assert other.status_int == 200 and other.json == {"servers": []}


def test_index_checks_the_url_project(client):
    response = client.request("GET", "/v2/other/servers")
    assert response.status_int == 400
    assert "doesn't match Context's project_id" in response.json["badRequest"]["message"]


def test_delete_soft_deletes_releases_quota_and_host_and_records_an_action(client, deployment):
    created = client.create({"name": "gone"}).json["server"]["id"]
    shown = client.wait_for_status(created)
    assert shown["status"] == "ACTIVE"
    with deployment.db.transaction() as session:
        host = db_api.instance_get(session, created).host
    busy = _host(deployment, host)
    assert busy != (0, 0)
    assert _usage(deployment, client.project_id) == {"instances": 1, "cores": 1, "ram": 512}

    response = client.request("DELETE", "/v2/%s/servers/%s" % (client.project_id, created))
    assert response.status_int == 204 and response.body == b""
    assert response.headers["x-compute-request-id"].startswith("req-")

    assert _servers(client) == []
    assert client.show(created).status_int == 404
    assert _usage(deployment, client.project_id) == {"instances": 0, "cores": 0, "ram": 0}
    assert _host(deployment, host) == (0, 0)
    with deployment.db.transaction() as session:
        row = session.scalar(select(models.Instance).where(models.Instance.uuid == created))
        assert row.deleted == row.id and row.vm_state == "deleted" and row.task_state is None
        actions = session.execute(
            select(
                models.InstanceAction.action,
                models.InstanceAction.request_id,
                models.InstanceAction.finish_time,
            ).where(models.InstanceAction.instance_uuid == created)
        ).all()
    assert sorted(a[0] for a in actions) == ["create", "delete"]
    delete_action = next(a for a in actions if a[0] == "delete")
    assert delete_action[1] == response.headers["x-compute-request-id"]
    assert delete_action[2] is not None


def test_deleted_quota_is_free_again(client):
    ids = [client.create().json["server"]["id"] for _ in range(10)]
    assert client.create().status_int == 413
    client.request("DELETE", "/v2/%s/servers/%s" % (client.project_id, ids[0]))
    assert client.create().status_int == 202


def test_delete_of_an_unknown_or_foreign_server_is_404(client):
    created = client.create().json["server"]["id"]
    missing = client.request(
        "DELETE", "/v2/%s/servers/%s" % (client.project_id, "0b9e2c4d-5f6a-4b7c-8d9e-0f1a2b3c4d5e")
    )
    assert missing.status_int == 404
    assert missing.json == {"itemNotFound": {"message": "Instance could not be found", "code": 404}}
    foreign = client.request(
        "DELETE", "/v2/other/servers/%s" % created, headers={"X-Auth-Token": "demo:other"}
    )
    assert foreign.status_int == 404
    assert len(_servers(client)) == 1
    twice = "/v2/%s/servers/%s" % (client.project_id, created)
    assert client.request("DELETE", twice).status_int == 204
    assert client.request("DELETE", twice).status_int == 404


def test_delete_needs_credentials(client):
    created = client.create().json["server"]["id"]
    response = client.request(
        "DELETE", "/v2/%s/servers/%s" % (client.project_id, created), headers={"X-Auth-Token": None}
    )
    assert response.status_int == 401


def test_version_list_is_icehouse_s(deployment):
    response = webob.Request.blank("/", base_url="http://api.example:8774").get_response(
        deployment.app
    )
    assert response.status_int == 200
    assert response.content_type == "application/json"
    assert json.loads(response.body) == {
        "versions": [
            {
                "id": "v2.0",
                "status": "CURRENT",
                "updated": "2011-01-21T11:33:21Z",
                "links": [{"rel": "self", "href": "http://api.example:8774/v2/"}],
            },
            {
                # today's contract beside it, declaring the microversions refnova implements
                "id": "v2.1",
                "status": "CURRENT",
                "updated": "2013-07-23T11:33:21Z",
                "links": [{"rel": "self", "href": "http://api.example:8774/v2.1/"}],
                "min_version": "2.1",
                "version": "2.104",
            },
        ]
    }


def test_v2_version_document_is_icehouse_s_and_needs_credentials(client, deployment):
    anonymous = webob.Request.blank("/v2/").get_response(deployment.app)
    assert anonymous.status_int == 401
    response = client.request("GET", "/v2/")
    assert response.status_int == 200
    assert response.json == {
        "version": {
            "id": "v2.0",
            "status": "CURRENT",
            "updated": "2011-01-21T11:33:21Z",
            "links": [
                {"rel": "self", "href": "http://localhost/v2/"},
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
                {
                    "base": "application/xml",
                    "type": "application/vnd.openstack.compute+xml;version=2",
                },
                {
                    "base": "application/json",
                    "type": "application/vnd.openstack.compute+json;version=2",
                },
            ],
        }
    }


def test_noauth2_token_without_a_colon_names_user_and_project(client):
    response = client.request("GET", "/v2/notused/servers", headers={"X-Auth-Token": "notused"})
    assert response.status_int == 200 and response.json == {"servers": []}
