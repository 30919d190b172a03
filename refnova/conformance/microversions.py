"""Fixtures and compute microversions: which fixtures a run takes, and which a target skips.

A /v2.1 fixture carries the ``microversion`` it was recorded at (none: 2.1, no header);
every runner sends it (``http.build_request``). ``--microversion`` picks fixtures by it:
``all`` (the default) every fixture at its own version, ``2.X`` the fixtures recorded at
2.X, ``latest`` those recorded at ``latest``. A target announces its maximum in ``GET /``
(v2.1's ``version``); a fixture above it is skipped with the reason, and a
``latest`` fixture, recorded at Nova 34.0.0's maximum, needs a target that announces it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from refnova.conformance.fixtures import Fixture

ALL = "all"
LATEST = "latest"
DEFAULT = "2.1"  # what a fixture without a microversion runs at
NOVA_LATEST = "2.104"  # ``latest`` in the fixtures: Nova 34.0.0's maximum, recorded there
_VERSION_RE = re.compile(r"^2\.(0|[1-9]\d*)$")


def version_key(text: str) -> tuple[int, int]:
    """``2.37`` as (2, 37) for comparison; ``latest`` is Nova 34.0.0's maximum."""
    major, minor = (NOVA_LATEST if text == LATEST else text).split(".")
    return int(major), int(minor)


def check_choice(choice: str | None) -> str:
    """The ``--microversion`` value, checked: ``all``, ``latest`` or ``2.X``."""
    choice = (choice or ALL).strip().lower()
    if choice not in (ALL, LATEST) and not _VERSION_RE.match(choice):
        raise ValueError(f"--microversion {choice!r}: expected 2.X, latest or all")
    return choice


def fixture_microversion(fixture: Fixture) -> str:
    return fixture.microversion or DEFAULT


def select_microversion(fixtures: Iterable[Fixture], choice: str | None) -> list[Fixture]:
    """The fixtures ``--microversion`` picks (all of them for ``all``)."""
    choice = check_choice(choice)
    if choice == ALL:
        return list(fixtures)
    return [f for f in fixtures if fixture_microversion(f) == choice]


def skip_reason(fixture: Fixture, maximum: str | None) -> str | None:
    """Why a target announcing ``maximum`` cannot run the fixture (None: it can, or the
    target announces no microversions and the fixture has none)."""
    wanted = fixture_microversion(fixture)
    if maximum is None:
        if fixture.microversion is None:
            return None
        return f"needs microversion {wanted}; the target announces no microversions"
    if version_key(wanted) <= version_key(maximum):
        return None
    if wanted == LATEST:
        return (
            f"recorded at latest (Nova 34.0.0's {NOVA_LATEST}); "
            f"the target announces {maximum} at most"
        )
    return f"needs microversion {wanted}; the target announces {maximum} at most"


def announced_maximum(root: str, session: Any = None) -> str | None:
    """The maximum microversion v2.1 announces in ``GET <root>/`` (the version list, read
    without credentials); None: no v2.1 there, or no answer."""
    import requests  # a live target only

    try:
        response = (session or requests).get(root.rstrip("/") + "/", timeout=30)
        listed = response.json()["versions"]
        version = next(v.get("version") for v in listed if v.get("id") == "v2.1")
    except (requests.RequestException, ValueError, KeyError, TypeError, StopIteration):
        return None
    return version if isinstance(version, str) and _VERSION_RE.match(version) else None
