"""Compute API microversions, as today's Nova reads, checks and echoes them.

A client asks for a version with ``OpenStack-API-Version: compute X.Y`` or the legacy
``X-OpenStack-Nova-API-Version: X.Y``; the standard header wins when it names the compute
service. No header means the minimum (2.1); ``latest`` means the maximum this server
implements. A version string that is not ``MajorNum.MinorNum`` is a 400; a version outside
the implemented range is a 406. Every answer to a request whose version was understood
echoes it in both headers and says ``Vary`` on both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from refnova.exception import ApiError

STANDARD_HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"
SERVICE_TYPE = "compute"
VARY = "%s, %s" % (STANDARD_HEADER, LEGACY_HEADER)
LATEST = "latest"
# Where a request's negotiated version is left (``req.environ``), by ``Contract.negotiate``.
ENVIRON_KEY = "refnova.api_version"

_VERSION_RE = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


class APIVersion(NamedTuple):
    """A version ``X.Y``; tuples compare as versions do."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> APIVersion:
        found = _VERSION_RE.match(text)
        if not found:
            raise ApiError(
                400,
                "API Version String %s is of invalid format. Must be of format "
                "MajorNum.MinorNum." % text,
            )
        return cls(int(found.group(1)), int(found.group(2)))

    def __str__(self) -> str:
        return "%d.%d" % (self.major, self.minor)


def requested_version(headers: Mapping[str, str]) -> str | None:
    """The version string the request asks for, or None (microversion_parse's rules).

    The standard header may list several services (``compute 2.1, volume 3.0``); the last
    compute entry counts. Only when it names no compute version is the legacy header read
    (its last comma-separated value).
    """
    standard = headers.get(STANDARD_HEADER)
    if standard is not None:
        for entry in reversed(standard.split(",")):
            parts = entry.strip().split(None, 1)
            if len(parts) == 2 and parts[0].lower() == SERVICE_TYPE:
                return parts[1].strip()
    legacy = headers.get(LEGACY_HEADER)
    if legacy is not None:
        return legacy.split(",")[-1].strip()
    return None


class VersionRange:
    """The microversions a contract implements: ``minimum`` to ``maximum``."""

    def __init__(self, minimum: str, maximum: str) -> None:
        self.minimum = APIVersion.parse(minimum)
        self.maximum = APIVersion.parse(maximum)

    def negotiate(self, headers: Mapping[str, str]) -> tuple[APIVersion, ApiError | None]:
        """The version a request gets, and whether to echo it; raises ApiError(400/406).

        Returns ``(version, error)``: ``error`` is the 406 to answer with (the requested
        version is still echoed on it), or None.
        """
        text = requested_version(headers)
        if text is None:
            return self.minimum, None
        if text == LATEST:
            return self.maximum, None
        version = APIVersion.parse(text)
        if not self.minimum <= version <= self.maximum:
            return version, ApiError(
                406,
                "Version %s is not supported by the API. Minimum is %s "
                "and maximum is %s." % (version, self.minimum, self.maximum),
            )
        return version, None


def response_headers(version: APIVersion) -> dict[str, str]:
    """The headers that echo ``version`` (Vary names both request headers)."""
    return {
        STANDARD_HEADER: "%s %s" % (SERVICE_TYPE, version),
        LEGACY_HEADER: str(version),
        "Vary": VARY,
    }
