"""A small Keystone v3 client: validate a token, issue one for a user.

``GET /v3/auth/tokens`` (X-Auth-Token: the validating token, X-Subject-Token: the token to
check) answers 200 with the token body, or 404/401 for a token that is not valid.
``POST /v3/auth/tokens`` with password credentials answers 201 and the new token in the
X-Subject-Token header. Anything else (Keystone unreachable, timing out, answering 5xx or
something that is no token) is ``KeystoneUnavailable``: the caller cannot tell whether the
token is good, which is not the same as a bad token.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from refnova import tracing

if TYPE_CHECKING:  # requests is imported by the calls that go out: in-process, none does
    import requests


class KeystoneError(Exception):
    """Keystone could not be used as asked."""


class KeystoneUnavailable(KeystoneError):
    """Keystone is down, timed out, or answered something unusable (a 503-class problem)."""


class KeystoneUnauthorized(KeystoneError):
    """Keystone refused the credentials (POST /v3/auth/tokens answered 401)."""


@dataclasses.dataclass(frozen=True)
class TokenInfo:
    """What a token says about its holder."""

    token: str
    user_id: str
    user_name: str | None
    project_id: str
    project_name: str | None
    roles: tuple[str, ...]
    expires_at: datetime.datetime | None  # UTC, naive

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @classmethod
    def from_body(cls, token: str, body: Mapping[str, Any]) -> TokenInfo:
        """From Keystone's ``{"token": {...}}``; KeystoneUnavailable if it is not shaped so."""
        try:
            data = body["token"]
            user, project = data["user"], data["project"]
            return cls(
                token=token,
                user_id=user["id"],
                user_name=user.get("name"),
                project_id=project["id"],
                project_name=project.get("name"),
                roles=tuple(role["name"] for role in data.get("roles") or ()),
                expires_at=parse_time(data.get("expires_at")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise KeystoneUnavailable(
                "Keystone answered a token body without a project-scoped user (%s)" % error
            ) from error


def parse_time(value: str | None) -> datetime.datetime | None:
    """Keystone's ISO 8601 time (``2026-11-26T13:00:00.000000Z``) as naive UTC."""
    if not value:
        return None
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return parsed


def v3_url(auth_url: str) -> str:
    """``http://keystone:5000`` or ``http://keystone:5000/v3`` → ``http://keystone:5000/v3``."""
    base = auth_url.rstrip("/")
    return base if base.endswith("/v3") else base + "/v3"


class KeystoneClient:
    """The two calls refnova needs from Keystone's v3 API, over ``requests``."""

    def __init__(
        self,
        auth_url: str,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        service_token: str | None = None,
    ) -> None:
        self.auth_url = auth_url
        self.tokens_url = v3_url(auth_url) + "/auth/tokens"
        import requests

        self.session = session or requests.Session()
        self.timeout = timeout
        # The token that validates the others; without one, each token validates itself.
        self.service_token = service_token

    def _send(self, method: str, **kwargs: Any) -> requests.Response:
        import requests  # loaded already: the session is one

        try:
            # Token calls carry no trace context: Keystone is asked as refnova always asked it.
            return tracing.send(
                self.session.request,
                method,
                self.tokens_url,
                propagate=False,
                timeout=self.timeout,
                **kwargs,
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            raise KeystoneUnavailable(
                "Keystone at %s is unreachable: %s" % (self.auth_url, type(error).__name__)
            ) from error

    @tracing.client_call("keystone", "GET", "/v3/auth/tokens")
    def validate(self, token: str) -> TokenInfo | None:
        """The token's holder, or None when Keystone says the token is not valid."""
        response = self._send(
            "GET",
            headers={
                "X-Auth-Token": self.service_token or token,
                "X-Subject-Token": token,
                "Accept": "application/json",
            },
        )
        if response.status_code in (401, 403, 404):
            return None
        if response.status_code != 200:
            raise KeystoneUnavailable(
                "Keystone answered %d to a token validation" % response.status_code
            )
        return TokenInfo.from_body(token, _json(response))

    @tracing.client_call("keystone", "POST", "/v3/auth/tokens")
    def issue_token(
        self,
        username: str,
        password: str,
        project_name: str,
        user_domain_name: str = "Default",
        project_domain_name: str = "Default",
    ) -> TokenInfo:
        """A project-scoped token for a user's password (the token is in ``.token``)."""
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": username,
                            "domain": {"name": user_domain_name},
                            "password": password,
                        }
                    },
                },
                "scope": {
                    "project": {"name": project_name, "domain": {"name": project_domain_name}}
                },
            }
        }
        response = self._send("POST", json=body, headers={"Accept": "application/json"})
        if response.status_code == 401:
            raise KeystoneUnauthorized(
                "Keystone refused the credentials of user %r for "
                "project %r" % (username, project_name)
            )
        if response.status_code not in (200, 201):
            raise KeystoneUnavailable(
                "Keystone answered %d to a token request" % response.status_code
            )
        token = response.headers.get("X-Subject-Token")
        if not token:
            raise KeystoneUnavailable("Keystone issued no X-Subject-Token")
        return TokenInfo.from_body(token, _json(response))


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError as error:
        raise KeystoneUnavailable("Keystone answered something that is not JSON") from error
