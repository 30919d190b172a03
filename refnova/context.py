"""The request context that travels from the API to the conductor."""

from __future__ import annotations

import dataclasses
import datetime
import random
from collections.abc import Mapping
from typing import Any

# A version-4, RFC 4122 UUID's fixed bits, as ``uuid.UUID(..., version=4)`` sets them.
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def generate_request_id() -> str:
    """Nova's ``req-<uuid4>``. A request id names a request and guards nothing, so its random
    bits come from ``random`` (reseeded in every forked worker) instead of a system call, and
    its text is formatted here: ``uuid.UUID``'s checks cost more than the rest of the id."""
    text = "%032x" % (random.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET)
    return "req-%s-%s-%s-%s-%s" % (text[:8], text[8:12], text[12:16], text[16:20], text[20:])


def utcnow() -> datetime.datetime:
    """oslo's ``timeutils.utcnow()``: now in UTC, without a time zone. The aware time's date
    and time are joined, as ``replace(tzinfo=None)`` would give them: its keyword arguments
    made it a microsecond, most of the time of making a request's context."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return datetime.datetime.combine(now.date(), now.time())


@dataclasses.dataclass
class RequestContext:
    user_id: str
    project_id: str
    roles: list[str] = dataclasses.field(default_factory=list)
    is_admin: bool = False
    request_id: str = dataclasses.field(default_factory=generate_request_id)
    auth_token: str | None = None
    remote_address: str | None = None
    read_deleted: str = "no"
    user_name: str | None = None
    project_name: str | None = None
    timestamp: datetime.datetime = dataclasses.field(default_factory=utcnow)

    def to_dict(self) -> dict[str, Any]:
        """The keys Icehouse's RequestContext.to_dict() gave (the RPC `_context_*` keys)."""
        return {
            "user_id": self.user_id,
            "project_id": self.project_id,
            "is_admin": self.is_admin,
            "read_deleted": self.read_deleted,
            "roles": list(self.roles),
            "remote_address": self.remote_address,
            "timestamp": self.timestamp.strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "request_id": self.request_id,
            "auth_token": self.auth_token,
            "quota_class": None,
            "user_name": self.user_name,
            "service_catalog": [],
            "project_name": self.project_name,
            "instance_lock_checked": False,
            "tenant": self.project_id,
            "user": self.user_id,
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> RequestContext:
        # The ids as the sender put them (an Icehouse context always carries both).
        wire: dict[str, Any] = {
            "user_id": values.get("user_id") or values.get("user"),
            "project_id": values.get("project_id") or values.get("tenant"),
        }
        timestamp = values.get("timestamp")
        if timestamp:
            wire["timestamp"] = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%f")
        return cls(
            roles=list(values.get("roles") or []),
            is_admin=bool(values.get("is_admin")),
            request_id=values.get("request_id") or generate_request_id(),
            auth_token=values.get("auth_token"),
            remote_address=values.get("remote_address"),
            read_deleted=values.get("read_deleted") or "no",
            user_name=values.get("user_name"),
            project_name=values.get("project_name"),
            **wire,
        )
