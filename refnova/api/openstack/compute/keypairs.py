"""``os-keypairs``: list, show, create (a generated key pair, or an imported public key)
and delete (Nova's ``KeypairController``), on both contracts and at every microversion.

Icehouse creates with 200 and the key's name, public key, fingerprint and user (and the
private key of a generated pair); it deletes with 202 and no body; a key pair the user does
not have is a bare 404 on /v2, Nova's KeypairNotFound text on /v2.1. What later
microversions change is the table ``ROWS``: 2.2 the key type (and 201/204), 2.10 an admin
naming another user, 2.35 pages of the list, 2.75 unknown query parameters refused, 2.92 a
public key required (the create schema, ``around.today_keypair_body``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import webob

from refnova import exception, tracing
from refnova.api.openstack import common, contracts
from refnova.api.openstack.common import Answer
from refnova.api.openstack.compute import around, resource_versions
from refnova.compute.keypairs import KeypairAPI
from refnova.db import models
from refnova.exception import ApiError

QUOTA_EXCEEDED = "Quota exceeded, too many key pairs."
POLICY = "os_compute_api:os-keypairs:%s"


@dataclass(frozen=True)
class Shape:
    """What a request's microversion makes of the key pair answers."""

    with_type: bool = False  # 2.2: the key type in every body
    created: int = 200  # 2.2: 201
    deleted: int = 202  # 2.2: 204, no body
    other_users: bool = False  # 2.10: an admin may name another user (user_id)
    paged: bool = False  # 2.35: limit, marker and a next link


ROWS: tuple[resource_versions.Row[dict[str, Any]], ...] = resource_versions.rows(
    [
        ("2.2", {"with_type": True, "created": 201, "deleted": 204}),
        ("2.10", {"other_users": True}),
        ("2.35", {"paged": True}),
    ]
)
_USER = ("user_id",)
_PAGED = (*_USER, *resource_versions.PAGINATION)
INDEX_QUERY = resource_versions.query_rules(
    ("2.1", (), False), ("2.10", _USER, False), ("2.35", _PAGED, False), ("2.75", _PAGED, True)
)
ITEM_QUERY = resource_versions.query_rules(("2.75", _USER, True))


def shape_of(req: webob.Request) -> Shape:
    fields: dict[str, Any] = {}
    for change in resource_versions.rows_at(req, ROWS):
        fields.update(change)
    return Shape(**fields)


def _summary(keypair: models.KeyPair, shape: Shape, **extra: Any) -> dict[str, Any]:
    """Nova's ``_filter_keypair``: the name, the public key and the fingerprint."""
    body = {
        "name": keypair.name,
        "public_key": keypair.public_key,
        "fingerprint": keypair.fingerprint,
        **extra,
    }
    if shape.with_type:
        body["type"] = keypair.type or "ssh"
    return body


def _full(keypair: models.KeyPair, shape: Shape, deleted: int | bool) -> dict[str, Any]:
    """Every column of the row, as Nova's show serializes it (times as oslo writes them)."""
    return _summary(
        keypair,
        shape,
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
        shape = shape_of(req)
        around_create = contracts.contract_of(req).around
        page: tuple[int | None, str | None] | None = None
        if shape.paged:  # Nova's query schema checks limit before unknown names
            page = common.limit_and_marker(req, around_create.paging, around_create.max_limit)
        resource_versions.check_query(req, INDEX_QUERY)
        user_id = _user(req, shape, req.GET.get("user_id"), "index")
        keypairs = list(self.api.get_key_pairs(user_id))
        if around_create.keypairs_by_name:
            keypairs.sort(key=lambda keypair: keypair.name)
        links: list[dict[str, str]] = []
        if page is not None:
            keypairs = _page(keypairs, *page)
            last = keypairs[-1].name if keypairs else ""
            project_id = req.environ["nova.context"].project_id
            kept = resource_versions.kept_params(req, INDEX_QUERY)
            links = common.next_links(
                req, project_id, "os-keypairs", keypairs, last, around_create.paging, kept
            )
        body: dict[str, Any] = {"keypairs": [{"keypair": _summary(k, shape)} for k in keypairs]}
        if links:
            body["keypairs_links"] = links
        return 200, body, {}

    @tracing.traced("keypairs.Controller.show")
    def show(self, req: webob.Request, keypair_name: str) -> Answer:
        resource_versions.check_query(req, ITEM_QUERY)
        shape = shape_of(req)
        user_id = _user(req, shape, req.GET.get("user_id"), "show")
        try:
            keypair = self.api.get_key_pair(user_id, keypair_name)
        except exception.KeypairNotFound:
            raise _not_found(req, keypair_name, user_id)
        deleted = contracts.contract_of(req).around.keypair_deleted
        return 200, {"keypair": _full(keypair, shape, deleted)}, {}

    @tracing.traced("keypairs.Controller.delete")
    def delete(self, req: webob.Request, keypair_name: str) -> Answer:
        resource_versions.check_query(req, ITEM_QUERY)
        shape = shape_of(req)
        user_id = _user(req, shape, req.GET.get("user_id"), "delete")
        try:
            self.api.delete_key_pair(user_id, keypair_name)
        except exception.KeypairNotFound:
            raise _not_found(req, keypair_name, user_id)
        content_type = contracts.contract_of(req).around.empty_accepted_type
        return shape.deleted, None, {"Content-Type": content_type}

    @tracing.traced("keypairs.Controller.create")
    def create(self, req: webob.Request, body: Any) -> Answer:
        contract = contracts.contract_of(req).around
        params = contract.keypair_body(body, resource_versions.version_of(req))
        shape = shape_of(req)
        user_id = _user(req, shape, params.get("user_id"), "create")
        check_name = contract.keypair_name_checked
        try:
            key_type = params.get("type", "ssh") if shape.with_type else "ssh"
            if "public_key" in params:
                keypair = self.api.import_key_pair(
                    user_id, params["name"], params["public_key"], key_type, check_name
                )
                return shape.created, {"keypair": _summary(keypair, shape, user_id=user_id)}, {}
            keypair, private_key = self.api.create_key_pair(
                user_id, params["name"], check_name, key_type
            )
        except exception.KeypairLimitExceeded:
            headers = {"Retry-After": "0"} if contract.keypair_quota_retry_after else {}
            raise ApiError(contract.keypair_quota_status, QUOTA_EXCEEDED, headers)
        except exception.InvalidKeypair as error:
            raise ApiError(400, error.format_message())
        except exception.KeyPairExists as error:
            raise ApiError(409, error.format_message())
        created = _summary(keypair, shape, user_id=user_id, private_key=private_key)
        return shape.created, {"keypair": created}, {}


def _user(req: webob.Request, shape: Shape, asked: str | None, action: str) -> str:
    """The user whose key pairs a request reads or writes: its own, or from 2.10 the one
    it names, which only an admin may name (Nova's ``admin or user_id:%(user_id)s``)."""
    context = req.environ["nova.context"]
    if not shape.other_users or not asked or asked == context.user_id:
        return str(context.user_id)
    if not context.is_admin:
        raise ApiError(403, "Policy doesn't allow %s to be performed." % (POLICY % action))
    return asked


def _page(
    keypairs: list[models.KeyPair], limit: int | None, marker: str | None
) -> list[models.KeyPair]:
    """2.35: the key pairs after ``marker`` (a name; 400 if the user has none such), at
    most ``limit`` of them."""
    if marker is not None:
        names = [keypair.name for keypair in keypairs]
        if marker not in names:
            raise ApiError(400, exception.MarkerNotFound(marker=marker).format_message())
        keypairs = keypairs[names.index(marker) + 1 :]
    return keypairs if limit is None else keypairs[:limit]


def _not_found(req: webob.Request, name: str, user_id: str) -> ApiError:
    return around.not_found(
        contracts.contract_of(req).around, "keypair", name=name, user_id=user_id
    )
