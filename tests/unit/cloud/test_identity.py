"""/identity: Keystone's discovery, token issue and validation, errors and catalog, with
keystoneauth1 reading what it answers as it reads a real Keystone's tokens."""

import pytest
from keystoneauth1 import access

from refnova.api.openstack.identity.catalog import REGION
from refnova.config import Settings

from .conftest import ADMIN_PROJECT, DEMO_PROJECT, Cloud, password_identity

UNAUTHORIZED = {
    "error": {
        "code": 401,
        "title": "Unauthorized",
        "message": "The request you have made requires authentication.",
    }
}


def project_scope(name="demo"):
    return {"project": {"name": name, "domain": {"name": "Default"}}}


def test_discovery_lists_v3_with_300_and_shows_it_with_200(cloud):
    listed = cloud.get("/identity")
    assert listed.status_int == 300
    (version,) = listed.json["versions"]["values"]
    assert version["id"] == "v3.14" and version["status"] == "stable"
    assert version["links"] == [{"rel": "self", "href": "http://cloud.example:8774/identity/v3/"}]
    shown = cloud.get("/identity/v3/")
    assert shown.status_int == 200 and shown.json == {"version": version}


def test_password_by_name_and_domain_gives_a_project_token_keystoneauth_reads(cloud):
    response = cloud.authenticate(
        {"identity": password_identity("demo", "demo"), "scope": project_scope()}
    )
    assert response.status_int == 201
    token = response.headers["X-Subject-Token"]
    body = response.json["token"]
    assert set(body) == {
        "methods",
        "user",
        "audit_ids",
        "expires_at",
        "issued_at",
        "project",
        "is_domain",
        "roles",
        "catalog",
    }
    assert body["user"] == {
        "domain": {"id": "default", "name": "Default"},
        "id": "demo",
        "name": "demo",
        "password_expires_at": None,
    }
    assert body["methods"] == ["password"] and len(body["audit_ids"][0]) == 22
    info = access.create(body=response.json, auth_token=token)
    assert info.project_id == DEMO_PROJECT and info.project_name == "demo"
    assert info.user_id == "demo" and info.user_domain_name == "Default"
    assert sorted(info.role_names) == ["member", "reader"]  # member implies reader
    assert (info.expires - info.issued).total_seconds() == 3600
    urls = {
        kind: info.service_catalog.url_for(service_type=kind, interface="public")
        for kind in ("identity", "compute", "image", "network")
    }
    assert urls == {
        "identity": "http://cloud.example:8774/identity",
        "compute": "http://cloud.example:8774/v2.1",
        "image": "http://cloud.example:8774/image",
        "network": "http://cloud.example:8774/networking",
    }


def test_the_catalog_has_three_interfaces_in_region_one(cloud):
    body = cloud.authenticate(
        {"identity": password_identity("demo", "demo"), "scope": project_scope()}
    ).json["token"]
    compute = next(entry for entry in body["catalog"] if entry["type"] == "compute")
    assert compute["name"] == "nova"
    assert sorted(e["interface"] for e in compute["endpoints"]) == ["admin", "internal", "public"]
    assert {(e["region"], e["region_id"]) for e in compute["endpoints"]} == {(REGION, REGION)}


def test_a_configured_public_url_and_real_services_shape_the_catalog():
    cloud = Cloud(
        Settings(public_url="https://cloud.example.org/", glance_url="http://glance:9292")
    )
    token = cloud.token()
    info = access.create(
        body=cloud.get("/identity/v3/auth/tokens", token, X_Subject_Token=token).json,
        auth_token=token,
    )
    catalog = info.service_catalog
    assert catalog.url_for(service_type="compute") == "https://cloud.example.org/v2.1"
    assert catalog.url_for(service_type="image") == "http://glance:9292"
    assert cloud.get("/image").status_int == 200  # not built in: the compute API's path


def test_password_by_user_id_and_project_id(cloud):
    response = cloud.authenticate(
        {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"id": "admin", "password": "admin"}},
            },
            "scope": {"project": {"id": ADMIN_PROJECT}},
        }
    )
    assert response.status_int == 201
    body = response.json["token"]
    assert body["project"]["name"] == "admin"
    assert [role["name"] for role in body["roles"]] == ["admin", "member", "reader"]


@pytest.mark.parametrize(
    "identity, scope",
    [
        (password_identity("demo", "wrong"), project_scope()),
        (password_identity("nobody", "demo"), project_scope()),
        (password_identity("demo", "demo", domain="Nowhere"), project_scope()),
        (password_identity("demo", "demo"), project_scope("admin")),  # no role there
        (password_identity("demo", "demo"), project_scope("missing")),
        (password_identity("demo", "demo"), {"domain": {"name": "Default"}}),
        (password_identity("demo", "demo"), {"system": {"all": True}}),
    ],
)
def test_bad_credentials_or_scope_are_one_401_that_says_nothing_more(cloud, identity, scope):
    response = cloud.authenticate({"identity": identity, "scope": scope})
    assert response.status_int == 401
    assert response.json == UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == (
        'Keystone uri="http://cloud.example:8774/identity"'
    )
    assert "X-Subject-Token" not in response.headers


@pytest.mark.parametrize(
    "auth, missing",
    [
        ({}, "identity"),
        ({"identity": {"methods": ["password"]}}, "password"),
        (
            {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"name": "demo", "password": "demo"}},
                }
            },
            "domain",
        ),
        ({"identity": {"methods": ["token"], "token": {}}}, "id"),
    ],
)
def test_a_malformed_request_is_keystone_s_400(cloud, auth, missing):
    response = cloud.authenticate(auth)
    assert response.status_int == 400
    assert response.json["error"]["title"] == "Bad Request"
    assert response.json["error"]["message"].startswith("Expecting to find %s in " % missing)


def test_an_unsupported_method_is_401_naming_the_supported_ones(cloud):
    response = cloud.authenticate({"identity": {"methods": ["totp"], "totp": {}}})
    assert response.status_int == 401
    assert response.json["error"]["identity"] == {"methods": ["password", "token"]}


def test_without_scope_the_token_is_unscoped_without_roles_or_catalog(cloud):
    response = cloud.authenticate({"identity": password_identity("demo", "demo")})
    assert response.status_int == 201
    assert set(response.json["token"]) == {
        "methods",
        "user",
        "audit_ids",
        "expires_at",
        "issued_at",
    }


def test_a_domain_scoped_token_names_the_domain_and_has_a_catalog(cloud):
    response = cloud.authenticate(
        {"identity": password_identity("admin", "admin"), "scope": {"domain": {"id": "default"}}}
    )
    assert response.status_int == 201
    body = response.json["token"]
    assert body["domain"] == {"id": "default", "name": "Default"} and "project" not in body
    assert body["catalog"] and body["roles"]


def test_the_token_method_rescopes_keeping_expiry_and_audit_chain(cloud):
    unscoped = cloud.authenticate({"identity": password_identity("demo", "demo")})
    cloud.clock.now += 600
    rescoped = cloud.authenticate(
        {
            "identity": {
                "methods": ["token"],
                "token": {"id": unscoped.headers["X-Subject-Token"]},
            },
            "scope": project_scope(),
        }
    )
    assert rescoped.status_int == 201
    old, new = unscoped.json["token"], rescoped.json["token"]
    assert new["expires_at"] == old["expires_at"] and new["issued_at"] != old["issued_at"]
    assert new["methods"] == ["token", "password"]
    assert new["audit_ids"][1] == old["audit_ids"][0] and new["audit_ids"][0] != old["audit_ids"][0]
    assert new["project"]["id"] == DEMO_PROJECT


def test_the_token_method_with_a_token_not_ours_is_404(cloud):
    response = cloud.authenticate({"identity": {"methods": ["token"], "token": {"id": "bogus"}}})
    assert response.status_int == 404
    assert response.json == {
        "error": {"code": 404, "title": "Not Found", "message": "Could not find token: bogus."}
    }


def test_validation_gives_the_token_back_and_head_answers_the_same_without_body(cloud):
    token = cloud.token()
    response = cloud.get("/identity/v3/auth/tokens", token, X_Subject_Token=token)
    assert response.status_int == 200
    assert response.headers["X-Subject-Token"] == token
    assert response.json["token"]["project"]["id"] == DEMO_PROJECT
    head = cloud.request(
        "HEAD", "/identity/v3/auth/tokens", X_Auth_Token=token, X_Subject_Token=token
    )
    assert head.status_int == 200 and head.body == b""
    nocatalog = cloud.get("/identity/v3/auth/tokens?nocatalog", token, X_Subject_Token=token)
    assert "catalog" not in nocatalog.json["token"]


def test_validation_needs_a_valid_caller_and_a_known_subject(cloud):
    token = cloud.token()
    assert cloud.get("/identity/v3/auth/tokens", X_Subject_Token=token).status_int == 401
    assert (
        cloud.get(
            "/identity/v3/auth/tokens", "demo:%s" % DEMO_PROJECT, X_Subject_Token=token
        ).status_int
        == 401
    )  # noauth2 is no Keystone token
    unknown = cloud.get("/identity/v3/auth/tokens", token, X_Subject_Token=token[:-4] + "AAAA")
    assert unknown.status_int == 404
    assert unknown.json["error"]["message"].startswith("Could not find token: rnv1.")
    missing = cloud.get("/identity/v3/auth/tokens", token)
    assert missing.json["error"]["message"] == "No token in the request"


def test_an_expired_token_is_not_found(cloud):
    token = cloud.token()
    cloud.clock.now += 3000
    admin = cloud.token("admin")
    cloud.clock.now += 599
    assert cloud.get("/identity/v3/auth/tokens", admin, X_Subject_Token=token).status_int == 200
    cloud.clock.now += 1
    assert cloud.get("/identity/v3/auth/tokens", token, X_Subject_Token=token).status_int == 401
    assert cloud.get("/identity/v3/auth/tokens", admin, X_Subject_Token=token).status_int == 404


def test_only_the_holder_or_an_admin_validates_a_token(cloud):
    demo, admin = cloud.token(), cloud.token("admin")
    forbidden = cloud.get("/identity/v3/auth/tokens", demo, X_Subject_Token=admin)
    assert forbidden.status_int == 403
    assert forbidden.json["error"]["message"] == (
        "You are not authorized to perform the requested action: identity:validate_token."
    )
    assert cloud.get("/identity/v3/auth/tokens", admin, X_Subject_Token=demo).status_int == 200


def test_auth_catalog_needs_a_project_scoped_token(cloud):
    token = cloud.token()
    response = cloud.get("/identity/v3/auth/catalog", token)
    assert response.status_int == 200
    assert {entry["type"] for entry in response.json["catalog"]} == {
        "identity",
        "compute",
        "image",
        "network",
    }
    domain_token = cloud.token("admin", domain="Default")
    assert cloud.get("/identity/v3/auth/catalog", domain_token).status_int == 403


def test_unknown_paths_and_methods_are_keystone_errors(cloud):
    missing = cloud.get("/identity/v3/users")
    assert missing.status_int == 404 and missing.json["error"]["code"] == 404
    assert cloud.request("PUT", "/identity/v3/auth/tokens").status_int == 405
