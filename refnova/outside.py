"""What the clients of outside services (Glance, Neutron) share: a service that cannot be
reached, or that fails on its side, is Nova's ServiceUnavailable (503), not a crash."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from refnova import exception

if TYPE_CHECKING:  # requests is imported by the calls that go out: in-process, none does
    import requests


class ServiceSession:
    """A ``requests`` session whose connection failures and timeouts are ServiceUnavailable."""

    def __init__(self, session: requests.Session, service: str) -> None:
        self.session = session
        self.service = service  # e.g. "the image service (Glance)"

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        import requests  # loaded already: the session is one

        try:
            return self.session.request(method, url, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as error:
            raise exception.ServiceUnavailable(
                reason="%s is unreachable (%s)" % (self.service, type(error).__name__)
            ) from error

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def close(self) -> None:
        self.session.close()


def failed_on_its_side(response: requests.Response, service: str) -> exception.NovaException | None:
    """ServiceUnavailable for a 5xx answer (the service's own failure), else None."""
    if response.status_code >= 500:
        return exception.ServiceUnavailable(
            reason="%s answered %d" % (service, response.status_code)
        )
    return None
