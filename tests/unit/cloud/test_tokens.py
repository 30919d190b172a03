"""Stateless tokens: what one issuer signs, any issuer with the same key verifies, until
the token expires; anything altered, foreign or expired verifies as nothing."""

import dataclasses

import pytest

from refnova.api.openstack.identity.tokens import PREFIX, TokenClaims, TokenIssuer, new_audit_id

from .conftest import DEMO_PROJECT, Clock


def claims(issuer, **changes):
    values = dict(
        user_id="demo",
        user_name="demo",
        methods=("password",),
        issued_at=issuer.now(),
        expires_at=issuer.now() + issuer.ttl,
        audit_ids=(new_audit_id(),),
        roles=("member", "reader"),
        project_id=DEMO_PROJECT,
        project_name="demo",
    )
    values.update(changes)
    return TokenClaims(**values)


def test_a_token_verifies_as_its_claims_and_names_no_colon():
    issuer = TokenIssuer(b"k" * 32, clock=Clock())
    issued = claims(issuer)
    token = issuer.issue(issued)
    assert token.startswith(PREFIX) and ":" not in token
    assert issuer.verify(token) == issued


def test_processes_sharing_the_configured_key_accept_each_other_s_tokens():
    first, second = TokenIssuer.from_settings("shared"), TokenIssuer.from_settings("shared")
    assert second.verify(first.issue(claims(first))) is not None
    assert TokenIssuer.from_settings("other").verify(first.issue(claims(first))) is None


def test_without_a_key_each_deployment_draws_its_own():
    first, second = TokenIssuer.from_settings(None), TokenIssuer.from_settings(None)
    assert second.verify(first.issue(claims(first))) is None


@pytest.mark.parametrize(
    "alter",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature
        lambda token: token.replace(PREFIX, PREFIX + "e", 1),  # payload
        lambda token: token.split(".", 2)[0] + "." + token.split(".", 2)[1],  # unsigned
        lambda token: "demo:" + DEMO_PROJECT,  # noauth2
        lambda token: "",
    ],
)
def test_an_altered_or_foreign_token_verifies_as_nothing(alter):
    issuer = TokenIssuer(b"k" * 32, clock=Clock())
    assert issuer.verify(alter(issuer.issue(claims(issuer)))) is None


def test_a_signed_payload_that_is_no_claims_verifies_as_nothing():
    issuer = TokenIssuer(b"k" * 32, clock=Clock())
    payload = "bm90IGpzb24"  # base64url of "not json"
    token = PREFIX + payload + "." + issuer._signature(payload)
    assert issuer.verify(token) is None


def test_a_token_expires_at_its_expiry():
    clock = Clock()
    issuer = TokenIssuer(b"k" * 32, ttl=60, clock=clock)
    token = issuer.issue(claims(issuer))
    clock.now += 59.999
    assert issuer.verify(token) is not None
    clock.now += 0.001
    assert issuer.verify(token) is None


def test_claims_say_scope_and_admin():
    issuer = TokenIssuer(b"k" * 32, clock=Clock())
    assert claims(issuer).scoped and not claims(issuer).is_admin
    unscoped = dataclasses.replace(claims(issuer), project_id=None, project_name=None, roles=())
    assert not unscoped.scoped
    assert claims(issuer, roles=("admin", "member")).is_admin
