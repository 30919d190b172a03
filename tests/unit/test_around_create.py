"""The pieces behind the resources around create that the fixtures see only from outside:
key pair fingerprints, the rate limiter's display for GET /limits, the availability zones
of a world, the image list of a real Glance."""

import datetime

import pytest
import responses

from refnova import availability_zones, exception
from refnova.api.openstack.ratelimit import RateLimiter
from refnova.compute import keypairs
from refnova.context import RequestContext
from refnova.image.listing import GlanceImageList
from refnova.world import load_world
from tests.support.deployment import make_deployment


def test_the_fingerprint_of_the_world_s_key_is_the_world_s():
    (demo_key,) = load_world()["keypairs"]
    assert keypairs.generate_fingerprint(demo_key["public_key"]) == demo_key["fingerprint"]


@pytest.mark.parametrize("text", ["ssh-rsa garbage", "", "not a key at all", "ssh-rsa"])
def test_text_that_is_no_public_key_has_no_fingerprint(text):
    with pytest.raises(exception.InvalidKeypair, match="failed to generate fingerprint"):
        keypairs.generate_fingerprint(text)


def test_a_generated_key_pair_has_a_fingerprint_and_nova_s_comment():
    private_key, public_key = keypairs.generate_key_pair()
    assert private_key.startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert public_key.startswith("ssh-rsa ") and public_key.endswith(" Generated-by-Nova")
    assert len(keypairs.generate_fingerprint(public_key).split(":")) == 16


def test_the_rate_limiter_shows_what_is_left_and_when_the_next_post_may_come():
    now = [1000.0]
    limiter = RateLimiter({"POST": 2}, clock=lambda: now[0])
    (fresh,) = limiter.display("demo")
    assert (fresh["verb"], fresh["URI"], fresh["value"], fresh["remaining"]) == ("POST", "*", 2, 2)
    limiter.check("POST", "demo")
    limiter.check("POST", "demo")
    (spent,) = limiter.display("demo")
    assert spent["remaining"] == 0 and spent["resetTime"] > fresh["resetTime"]
    now[0] += 61
    assert limiter.display("demo")[0]["remaining"] == 2
    assert limiter.display("someone-else")[0]["remaining"] == 2


def test_zones_with_only_disabled_hosts_are_not_available():
    with make_deployment() as deployment:
        zones = availability_zones.get_availability_zones(deployment.db)
    assert zones.available == ["internal", "nova", "az2"]
    assert zones.not_available == ["az-disabled"]
    assert {s.host for s in zones.services if s.binary == "nova-compute"} == {
        "compute1",
        "compute2",
        "compute3",
    }


GLANCE = "http://glance.example:9292"


def _glance_image(image_id, name, min_ram=0):
    return {
        "id": image_id,
        "name": name,
        "status": "active",
        "visibility": "public",
        "min_ram": min_ram,
        "min_disk": 0,
        "size": 1,
        "created_at": "2014-04-17T00:00:00Z",
        "updated_at": "2014-04-18T00:00:00Z",
    }


@responses.activate
def test_a_real_glance_lists_with_the_callers_token_its_filters_and_paging():
    responses.get(
        GLANCE + "/v2/images",
        json={"images": [_glance_image("a", "small"), _glance_image("b", "big", min_ram=4096)]},
    )
    context = RequestContext("demo", "p", auth_token="tok")
    images = GlanceImageList(GLANCE).detail(
        context, {"name": "x", "min_ram": "1024"}, limit=5, marker="m"
    )
    assert [image["id"] for image in images] == ["b"]
    assert images[0]["created_at"] == datetime.datetime(2014, 4, 17)
    (call,) = responses.calls
    assert call.request.headers["X-Auth-Token"] == "tok"
    assert call.request.params == {"name": "x", "limit": "5", "marker": "m"}


@responses.activate
@pytest.mark.parametrize(
    "status, marker, error",
    [
        (400, "m", exception.MarkerNotFound),
        (400, None, exception.Invalid),
        (503, None, exception.ServiceUnavailable),
    ],
)
def test_a_real_glance_s_refusals_are_nova_s_exceptions(status, marker, error):
    responses.get(GLANCE + "/v2/images", status=status, body="no")
    with pytest.raises(error):
        GlanceImageList(GLANCE).detail(RequestContext("demo", "p"), {}, marker=marker)
