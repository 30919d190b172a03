"""refnova's whole deployment in this process (SQLite in memory, kombu's memory transport),
and a client that sends it requests through WebOb as the world's default user."""

import json

import webob

from refnova.config import Settings
from refnova.service import Deployment
from refnova.world import load_world
from tests.support.polling import wait_for_status


def make_deployment(world_overrides=None, **settings):
    values = {"db_url": "sqlite://", "transport_url": "memory://", **settings}
    return Deployment(Settings(**values), world=load_world(world_overrides))


class Client:
    """Requests against an in-process deployment, as the world's default user."""

    def __init__(self, deployment):
        self.deployment = deployment
        self.defaults = deployment.world["defaults"]
        self.project_id = self.defaults["project_id"]

    def request(self, method, path, body=None, headers=None, user=None):
        all_headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-Auth-Token": "%s:%s" % (user or self.defaults["user_id"], self.project_id),
        }
        all_headers.update(headers or {})
        data = json.dumps(body).encode() if body is not None else b""
        return webob.Request.blank(
            path, method=method, headers=all_headers, body=data
        ).get_response(self.deployment.app)

    def create(self, server=None, user=None, path=None, headers=None, **top_level):
        """POST the default server (``server`` adds to it) to /v2, or to ``path``."""
        body = {
            "server": {
                "name": "vm",
                "imageRef": self.defaults["image_id"],
                "flavorRef": self.defaults["flavor_id"],
                **(server or {}),
            },
            **top_level,
        }
        path = path or "/v2/%s/servers" % self.project_id
        return self.request("POST", path, body, headers=headers, user=user)

    def show(self, server_id, user=None):
        return self.request("GET", "/v2/%s/servers/%s" % (self.project_id, server_id), user=user)

    def wait_for_status(self, server_id, statuses=("ACTIVE", "ERROR"), timeout=5.0, path=None):
        """The server once its status is one of ``statuses`` (or as the deadline finds it).

        ``path`` (a %-template for the server id) shows it under another prefix, e.g. /v2.1.
        """

        def show():
            if path is None:
                return json.loads(self.show(server_id).body)["server"]
            return self.request("GET", path % server_id).json["server"]

        return wait_for_status(show, statuses, timeout)
