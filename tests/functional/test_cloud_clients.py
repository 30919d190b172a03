"""`refnova serve` on embedded defaults, a real process, driven by the real clients:
keystoneauth1 authenticates against the built-in /identity, openstacksdk finds images,
networks and the compute API through the catalog, and validates a token."""

import os
import pathlib

import openstack
import pytest
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from tests.support.clouds import readme_clouds_yaml

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"
DEMO_PROJECT = "6f70656e737461636b20342065766572"
CIRROS = "155d900f-4e14-4e4c-a73d-069cbf4541e6"


def password_session(url, username="demo", password="demo", project="demo"):
    auth = v3.Password(
        auth_url=url + "/identity/v3",
        username=username,
        password=password,
        project_name=project,
        user_domain_name="Default",
        project_domain_name="Default",
    )
    return ks_session.Session(auth=auth)


@pytest.fixture(scope="module")
def session(served):
    return password_session(served)


@pytest.fixture(scope="module")
def conn(session):
    return openstack.connection.Connection(session=session)


def test_keystoneauth_authenticates_the_demo_user_on_its_project(served, session):
    access = session.auth.get_access(session)
    assert access.project_id == DEMO_PROJECT and access.user_id == "demo"
    assert "member" in access.role_names
    assert access.service_catalog.url_for(service_type="compute") == served + "/v2.1"


def test_a_wrong_password_is_refused(served):
    with pytest.raises(ks_exceptions.Unauthorized):
        password_session(served, password="wrong").get_token()


def test_images_through_the_catalog(conn):
    images = {image.name: image for image in conn.image.images()}
    assert "cirros-0.3.1-x86_64" in images and "private-of-another-project" not in images
    assert images["cirros-0.3.1-x86_64"].id == CIRROS
    assert images["cirros-0.3.1-x86_64"].visibility == "public"
    assert len(list(conn.image.images(limit=2))) == len(images)  # follows Glance's next
    assert conn.image.find_image("cirros-0.3.1-x86_64").id == CIRROS
    assert conn.image.find_image("no-such-image") is None


def test_networks_subnets_ports_and_groups_through_the_catalog(conn):
    (network,) = list(conn.network.networks())
    assert network.name == "private" and network.project_id == DEMO_PROJECT
    assert conn.network.find_network("private").id == network.id
    (subnet,) = list(conn.network.subnets(network_id=network.id))
    assert subnet.cidr == "192.168.1.0/24" and subnet.id in network.subnet_ids
    assert len(list(conn.network.ports(network_id=network.id))) == 3
    (web,) = list(conn.network.security_groups(name="web"))
    assert len(web.security_group_rules) == 2


def test_the_compute_api_takes_the_token_and_its_project(conn):
    body = {"server": {"name": "vm-sdk", "imageRef": CIRROS, "flavorRef": "1"}}
    created = conn.compute.post("/servers", json=body)
    assert created.status_code == 202, created.text
    server_id = created.json()["server"]["id"]
    shown = conn.compute.get("/servers/%s" % server_id)
    assert shown.status_code == 200
    assert shown.json()["server"]["tenant_id"] == DEMO_PROJECT
    assert shown.json()["server"]["user_id"] == "demo"


def test_the_identity_service_validates_the_session_s_token(conn, session):
    token = session.get_token()
    response = conn.identity.get("/auth/tokens", headers={"X-Subject-Token": token})
    assert response.status_code == 200
    assert response.headers["X-Subject-Token"] == token
    assert response.json()["token"]["project"]["id"] == DEMO_PROJECT
    missing = conn.identity.get(
        "/auth/tokens", headers={"X-Subject-Token": token + "x"}, raise_exc=False
    )
    assert missing.status_code == 404


def test_the_readme_s_clouds_yaml_is_all_openstacksdk_needs(served, tmp_path, monkeypatch):
    for name in [name for name in os.environ if name.startswith("OS_")]:
        monkeypatch.delenv(name)
    text = readme_clouds_yaml()
    assert "auth_url: http://127.0.0.1:8774/identity/v3" in text
    path = tmp_path / "clouds.yaml"
    path.write_text(text.replace("http://127.0.0.1:8774", served))
    region = openstack.config.OpenStackConfig(config_files=[str(path)], vendor_files=[]).get_one(
        cloud="refnova"
    )
    conn = openstack.connection.Connection(config=region)
    assert conn.current_project_id == DEMO_PROJECT
    assert [network.name for network in conn.network.networks()] == ["private"]
    assert conn.image.find_image("cirros-0.3.1-x86_64").id == CIRROS
