"""The built-in services in-process: requests through WebOb to the dispatcher that
``refnova serve`` puts in front of its compute API (here a stub that names what it got)."""

import json

import pytest
import webob

from refnova.api.openstack import builtin as services
from refnova.api.openstack.auth import NoAuth
from refnova.api.openstack.identity.tokens import TokenIssuer
from refnova.config import Settings
from refnova.world import load_world

DEMO_PROJECT = "6f70656e737461636b20342065766572"
ADMIN_PROJECT = "61646d696e206f66207265666e6f7661"
OTHER_PROJECT = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"


class Clock:
    """Seconds since the epoch, moved by hand."""

    def __init__(self, now=1_700_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


def compute_stub(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("compute %s %s" % (environ["SCRIPT_NAME"], environ["PATH_INFO"])).encode()]


class Cloud:
    """The dispatcher over the reference world, and helpers to call it."""

    def __init__(self, settings=None, world=None, clock=None):
        self.settings = settings or Settings()
        self.world = world or load_world()
        self.clock = clock or Clock()
        self.issuer = TokenIssuer(b"k" * 32, clock=self.clock)
        self.authenticator = NoAuth(self.issuer)
        self.app = services.cloud_app(
            compute_stub, self.settings, self.world, self.issuer, self.authenticator
        )

    def request(self, method, path, body=None, host="cloud.example:8774", **headers):
        data = json.dumps(body).encode() if body is not None else b""
        req = webob.Request.blank(
            path,
            method=method,
            body=data,
            headers={k.replace("_", "-"): v for k, v in headers.items()},
        )
        req.host = host
        if body is not None:
            req.content_type = "application/json"
        return req.get_response(self.app)

    def get(self, path, token=None, **headers):
        if token is not None:
            headers["X-Auth-Token"] = token
        return self.request("GET", path, **headers)

    def authenticate(self, auth):
        return self.request("POST", "/identity/v3/auth/tokens", {"auth": auth})

    def token(self, user="demo", password=None, project=None, domain=None):
        """A token of ours; scoped to the user's own project unless told otherwise."""
        auth = {"identity": password_identity(user, password or user)}
        if domain is not None:
            auth["scope"] = {"domain": {"name": domain}}
        else:
            auth["scope"] = {"project": {"name": project or user, "domain": {"name": "Default"}}}
        response = self.authenticate(auth)
        assert response.status_int == 201, response.body
        return response.headers["X-Subject-Token"]


def password_identity(user, password, domain="Default"):
    return {
        "methods": ["password"],
        "password": {"user": {"name": user, "domain": {"name": domain}, "password": password}},
    }


@pytest.fixture
def cloud():
    return Cloud()
