"""The control API of behaviours on request (``refnova.behaviours``), admin only:

==========================================  ===============================================
``POST /refnova/v1/behaviours``              register a behaviour (its JSON): 201 with its id
``GET /refnova/v1/behaviours``               every behaviour, first registered first
``GET /refnova/v1/behaviours/{id}``          one behaviour
``DELETE /refnova/v1/behaviours/{id}``       unregister it: 204
==========================================  ===============================================

Answers and errors are JSON in Nova's shape: a body that is not JSON or not a valid behaviour
is 400 ``badRequest`` naming the problem (nothing is registered), a caller without
credentials 401, one the policy ``refnova:behaviours`` refuses (by default anyone but an
admin) 403, an unknown id 404. Behaviours live in the database, so every API process and
conductor sharing it sees them at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import webob

from refnova import behaviours, exception, policy, tracing
from refnova.api.openstack import request_body
from refnova.api.openstack.service_app import Authenticator, ServiceApp, json_response, route
from refnova.api.openstack.urlmap import PrefixDispatcher
from refnova.api.openstack.wsgi import fault_body
from refnova.db import api as db_api
from refnova.db import behaviours as db_behaviours
from refnova.db import models

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
else:
    WSGIApplication = Any

MOUNT = "/refnova"
POLICY = "refnova:behaviours"
NOT_FOUND = "Behaviour %s could not be found."


class Refused(Exception):
    """A request answered with a Nova fault (status, message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def fault(status: int, message: str) -> webob.Response:
    return json_response(status, fault_body(status, message))


def shown(row: models.RegisteredBehaviour) -> dict[str, Any]:
    """A registered behaviour as the API shows it: its id and the JSON it was given."""
    return {"id": row.id, **row.body}


class BehavioursApp(ServiceApp):
    mount = MOUNT
    routes = (
        route("GET POST", "/v1/behaviours", "collection"),
        route("GET DELETE", "/v1/behaviours/{behaviour_id}", "member"),
    )

    def __init__(
        self, db: db_api.Database, authenticator: Authenticator, enforcer: policy.Enforcer
    ) -> None:
        self.db = db
        self.authenticator = authenticator
        self.enforcer = enforcer

    def respond(self, req: webob.Request) -> webob.Response:
        try:
            self._authorize(req)
            return super().respond(req)
        except Refused as refused:
            return fault(refused.status, refused.message)
        except exception.ApiError as error:  # a body that is not JSON; Keystone away (503)
            return fault(error.status, error.message)

    def _authorize(self, req: webob.Request) -> None:
        context = self.authenticator.authenticate(req)
        if context is None:
            raise Refused(401, "Authentication required")
        if not self.enforcer.allows(context, POLICY):
            raise Refused(403, "Policy doesn't allow %s to be performed." % POLICY)

    def collection(self, req: webob.Request) -> webob.Response:
        if req.method == "GET":
            with self.db.transaction() as session:
                rows = db_behaviours.all_in_order(session)
                return json_response(200, {"behaviours": [shown(row) for row in rows]})
        body = request_body.parse(req.body)
        with self.db.transaction() as session:
            try:
                behaviour_id = behaviours.register(session, body)
            except behaviours.InvalidBehaviour as error:
                raise Refused(400, "Invalid behaviour: %s" % error) from None
        location = "%s/v1/behaviours/%s" % (req.application_url, behaviour_id)
        return json_response(
            201, {"behaviour": {"id": behaviour_id, **body}}, {"Location": location}
        )

    def member(self, req: webob.Request, behaviour_id: str) -> webob.Response:
        with self.db.transaction() as session:
            if req.method == "DELETE":
                if not db_behaviours.remove(session, behaviour_id):
                    raise Refused(404, NOT_FOUND % behaviour_id)
                return webob.Response(status=204)
            row = db_behaviours.get(session, behaviour_id)
            if row is None:
                raise Refused(404, NOT_FOUND % behaviour_id)
            return json_response(200, {"behaviour": shown(row)})

    def not_found(self, req: webob.Request) -> webob.Response:
        return fault(404, exception.GENERIC_TEXT[404])

    def not_allowed(self, req: webob.Request) -> webob.Response:
        return fault(405, exception.GENERIC_TEXT[405])


def in_front_of(
    compute_app: WSGIApplication,
    db: db_api.Database,
    authenticator: Authenticator,
    enforcer: policy.Enforcer,
) -> WSGIApplication:
    """The compute API with the control API mounted at ``/refnova`` (a SERVER span each)."""
    control = tracing.ServerSpanMiddleware(BehavioursApp(db, authenticator, enforcer))
    return PrefixDispatcher({MOUNT: control}, compute_app)
