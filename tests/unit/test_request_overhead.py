"""What the API does per request before its first check, kept to what the answer needs: the
admin password is drawn only for a create that passes its checks."""

import pytest

from refnova import utils
from tests.support.deployment import Client, make_deployment


@pytest.fixture(scope="module")
def client():
    deployment = make_deployment()
    yield Client(deployment)
    deployment.close()


@pytest.fixture
def draws(monkeypatch):
    """The lengths of the admin passwords drawn while a test runs."""
    drawn = []
    real = utils.generate_password

    def counting(length=12, *args, **kwargs):
        drawn.append(length)
        return real(length, *args, **kwargs)

    monkeypatch.setattr(utils, "generate_password", counting)
    return drawn


@pytest.mark.parametrize("path", ["/v2/{}/servers", "/v2.1/servers"])
def test_a_refused_create_draws_no_admin_password(client, draws, path):
    body = {"server": {"name": "vm", "imageRef": "not-an-image", "flavorRef": "1"}}
    answer = client.request("POST", path.format(client.project_id), body)
    assert answer.status_int == 400
    assert draws == []


def test_an_accepted_create_draws_one_and_answers_it(client, draws):
    answer = client.create()
    assert answer.status_int == 202
    assert draws == [12]
    assert len(answer.json["server"]["adminPass"]) == 12


def test_a_given_admin_password_is_answered_and_none_is_drawn(client, draws):
    answer = client.create({"adminPass": "s3cret"})
    assert answer.status_int == 202
    assert answer.json["server"]["adminPass"] == "s3cret"
    assert draws == []
