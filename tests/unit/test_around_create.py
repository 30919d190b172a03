"""The pieces behind the resources around create that the fixtures see only from outside:
key pair fingerprints, the rate limiter's display for GET /limits, the availability zones
of a world."""

import pytest

from refnova import availability_zones, exception
from refnova.api.openstack.wsgi import RateLimiter
from refnova.compute import keypairs
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
