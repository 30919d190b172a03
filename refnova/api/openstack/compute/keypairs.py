"""``os-keypairs``: list, show, create (a generated key pair, or an imported public key)
and delete (Nova's ``KeypairController``), on both contracts.

Icehouse creates with 200 and the key's name, public key, fingerprint and user (and the
private key of a generated pair); it deletes with 202 and no body; a key pair the user does
not have is a bare 404 on /v2, Nova's KeypairNotFound text on /v2.1.
"""

from __future__ import annotations

from typing import Any

import webob

from refnova import exception, tracing
from refnova.api.openstack import contracts
from refnova.api.openstack.common import Answer
from refnova.api.openstack.compute import around
from refnova.compute.keypairs import KeypairAPI
from refnova.db import models
from refnova.exception import ApiError

QUOTA_EXCEEDED = "Quota exceeded, too many key pairs."


def _summary(keypair: models.KeyPair, **extra: Any) -> dict[str, Any]:
    """Nova's ``_filter_keypair``: the name, the public key and the fingerprint."""
    return {
        "name": keypair.name,
        "public_key": keypair.public_key,
        "fingerprint": keypair.fingerprint,
        **extra,
    }


def _full(keypair: models.KeyPair, deleted: int | bool) -> dict[str, Any]:
    """Every column of the row, as Nova's show serializes it (times as oslo writes them)."""
    return _summary(
        keypair,
        user_id=keypair.user_id,
        id=keypair.id,
        created_at=keypair.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        updated_at=None,
        deleted_at=None,
        deleted=deleted,
    )


class Controller:
    def __init__(self, api: KeypairAPI) -> None:
        self.api = api

    @tracing.traced("keypairs.Controller.index")
    def index(self, req: webob.Request) -> Answer:
        context = req.environ["nova.context"]
        keypairs = self.api.get_key_pairs(context.user_id)
        return 200, {"keypairs": [{"keypair": _summary(k)} for k in keypairs]}, {}

    @tracing.traced("keypairs.Controller.show")
    def show(self, req: webob.Request, keypair_name: str) -> Answer:
        context = req.environ["nova.context"]
        try:
            keypair = self.api.get_key_pair(context.user_id, keypair_name)
        except exception.KeypairNotFound:
            raise self._not_found(req, keypair_name)
        deleted = contracts.contract_of(req).around.keypair_deleted
        return 200, {"keypair": _full(keypair, deleted)}, {}

    @tracing.traced("keypairs.Controller.delete")
    def delete(self, req: webob.Request, keypair_name: str) -> Answer:
        context = req.environ["nova.context"]
        try:
            self.api.delete_key_pair(context.user_id, keypair_name)
        except exception.KeypairNotFound:
            raise self._not_found(req, keypair_name)
        return 202, None, {"Content-Type": contracts.contract_of(req).around.empty_accepted_type}

    @tracing.traced("keypairs.Controller.create")
    def create(self, req: webob.Request, body: Any) -> Answer:
        context = req.environ["nova.context"]
        contract = contracts.contract_of(req).around
        params = contract.keypair_body(body)
        try:
            if "public_key" in params:
                keypair = self.api.import_key_pair(
                    context.user_id, params["name"], params["public_key"]
                )
                return 200, {"keypair": _summary(keypair, user_id=keypair.user_id)}, {}
            keypair, private_key = self.api.create_key_pair(context.user_id, params["name"])
        except exception.KeypairLimitExceeded:
            headers = {"Retry-After": "0"} if contract.keypair_quota_retry_after else {}
            raise ApiError(contract.keypair_quota_status, QUOTA_EXCEEDED, headers)
        except exception.InvalidKeypair as error:
            raise ApiError(400, error.format_message())
        except exception.KeyPairExists as error:
            raise ApiError(409, error.format_message())
        body = _summary(keypair, user_id=keypair.user_id, private_key=private_key)
        return 200, {"keypair": body}, {}

    @staticmethod
    def _not_found(req: webob.Request, name: str) -> ApiError:
        user_id = req.environ["nova.context"].user_id
        return around.not_found(
            contracts.contract_of(req).around, "keypair", name=name, user_id=user_id
        )
