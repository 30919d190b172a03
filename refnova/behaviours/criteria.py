"""Which requests a behaviour applies to: regular expressions over a request's facts.

A behaviour's ``criteria`` is an object; every criterion given must match (none: every
request matches)::

    {"server_name": "^web-[0-9]+$", "metadata": {"role": "db"}, "flavor": "^1$",
     "image": "155d900f", "project": "^demo$", "user": "admin"}

Mimic's list form, ``[{"server_name": "^web-"}, {"metadata": {"role": "db"}}]``, is the same.
Each value is a regular expression searched for (``re.search``: anchor it with ``^``/``$`` for
a whole match) in the server's name, the value of the named metadata key (a server without
that key does not match), the flavor id and image id the request names (``flavorRef`` and
``imageRef`` as given, for a boot from volume the image is ``""``), the project id and the user
id. Among the registered behaviours, the first registered that matches applies.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

FACT_KEYS = ("server_name", "flavor", "image", "project", "user")
CRITERIA_KEYS = (*FACT_KEYS, "metadata")
MAX_PATTERN = 1024


@dataclasses.dataclass(frozen=True)
class RequestFacts:
    """What a create (or, for ``delete-failure``, the server a delete names) tells about
    itself, for criteria to match."""

    server_name: str
    metadata: Mapping[str, str]
    flavor: str
    image: str
    project: str
    user: str


@dataclasses.dataclass(frozen=True)
class Criteria:
    """Compiled criteria: each fact key's pattern, and the metadata keys' patterns."""

    facts: Mapping[str, re.Pattern[str]]
    metadata: Mapping[str, re.Pattern[str]]

    def matches(self, facts: RequestFacts) -> bool:
        if not all(pattern.search(getattr(facts, key)) for key, pattern in self.facts.items()):
            return False
        return all(
            key in facts.metadata and pattern.search(str(facts.metadata[key]))
            for key, pattern in self.metadata.items()
        )


EVERY_REQUEST = Criteria({}, {})


def parse_criteria(body: Any) -> Criteria:
    """Criteria of a JSON value; ValueError naming the field that is wrong. Mimic's form, a
    list of one-criterion objects (``[{"server_name": "^web"}]``), is read as their union."""
    if isinstance(body, list):
        body = _merged(body)
    if not isinstance(body, dict):
        raise ValueError("criteria must be an object")
    unknown = sorted(str(key) for key in body if key not in CRITERIA_KEYS)
    if unknown:
        raise ValueError(
            "criteria.%s is not a known criterion (allowed: %s)"
            % (unknown[0], ", ".join(CRITERIA_KEYS))
        )
    facts = {key: _compiled(body[key], "criteria." + key) for key in FACT_KEYS if key in body}
    metadata = body.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ValueError("criteria.metadata must be an object of metadata key to pattern")
    return Criteria(
        facts,
        {key: _compiled(value, "criteria.metadata.%s" % key) for key, value in metadata.items()},
    )


def _merged(items: list[Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict) or len(item) != 1:
            raise ValueError("criteria[%d] must be an object of one criterion" % index)
        ((key, value),) = item.items()
        if key in merged and key != "metadata":
            raise ValueError("criteria[%d]: %s is given twice" % (index, key))
        if key == "metadata" and isinstance(value, dict):
            value = {**merged.get("metadata", {}), **value}
        merged[key] = value
    return merged


def _compiled(pattern: Any, where: str) -> re.Pattern[str]:
    if not isinstance(pattern, str) or len(pattern) > MAX_PATTERN:
        raise ValueError(
            "%s must be a regular expression (a string of at most %d characters)"
            % (where, MAX_PATTERN)
        )
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ValueError("%s is not a valid regular expression: %s" % (where, error)) from None
