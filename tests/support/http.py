"""An HTTP client of a served refnova API, as the world's users (noauth2 tokens)."""

import json

import requests

from refnova.world import load_world
from tests.support.polling import wait_for_status

DEFAULTS = load_world()["defaults"]
PROJECT = DEFAULTS["project_id"]


class ServedApi:
    """Creates and shows servers on ``base`` (http://host:port) over /v2."""

    def __init__(self, base, process=None):
        self.base = base
        self.process = process

    def headers(self, project=PROJECT, user=DEFAULTS["user_id"]):
        return {
            "X-Auth-Token": "%s:%s" % (user, project),
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def create(self, project=PROJECT, session=None, name="vm", **server):
        body = {
            "server": {
                "name": name,
                "imageRef": DEFAULTS["image_id"],
                "flavorRef": DEFAULTS["flavor_id"],
                **server,
            }
        }
        return (session or requests).post(
            "%s/v2/%s/servers" % (self.base, project),
            data=json.dumps(body),
            headers=self.headers(project),
            timeout=60,
        )

    def show(self, project, server_id, session=None):
        return (session or requests).get(
            "%s/v2/%s/servers/%s" % (self.base, project, server_id),
            headers=self.headers(project),
            timeout=30,
        )

    def wait_for_status(self, project, server_id, statuses=("ACTIVE", "ERROR"), timeout=30.0):
        return wait_for_status(
            lambda: self.show(project, server_id).json()["server"], statuses, timeout
        )

    def create_active(self, project=PROJECT, name="vm"):
        """Create a server and see it ACTIVE: (its id, the create's x-compute-request-id)."""
        response = self.create(project, name=name)
        assert response.status_code == 202, response.text
        server_id = response.json()["server"]["id"]
        server = self.wait_for_status(project, server_id)
        assert server["status"] == "ACTIVE", server
        return server_id, response.headers["x-compute-request-id"]
