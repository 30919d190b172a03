"""Placeholders and generators: what turns a fixture's text into a concrete request.

Placeholders ``{project_id}``, ``{user_id}``, ``{image_id}``, ``{flavor_id}`` and
``{network_id}`` are replaced (plain string replacement) in the path, header values, body
strings and expected strings; their values are the world's ``defaults`` (or a live target's
own ids). ``{"$repeat": ["QUFB", 16384]}`` anywhere in a request body becomes
``"QUFB" * 16384``, so that a fixture need not hold a 64 KiB string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from refnova.conformance.fixtures import REPEAT_KEY, FixtureError, schema_problems

PLACEHOLDER_NAMES = ("project_id", "user_id", "image_id", "flavor_id", "network_id")


def placeholder_values(world: Mapping[str, Any]) -> dict[str, str]:
    """The placeholder values a world defines (its ``defaults``)."""
    return {name: str(value) for name, value in world.get("defaults", {}).items()}


def expand(value: Any, values: Mapping[str, str]) -> Any:
    """Replace ``{name}`` placeholders in every string (keys included) of a JSON value."""
    if isinstance(value, str):
        return expand_text(value, values)
    if isinstance(value, list):
        return [expand(item, values) for item in value]
    if isinstance(value, dict):
        return {expand_text(key, values): expand(item, values) for key, item in value.items()}
    return value


def expand_text(text: str, values: Mapping[str, str]) -> str:
    """Replace ``{name}`` placeholders in one string."""
    if "{" not in text:  # most strings hold none: no pass over the values for them
        return text
    for name, replacement in values.items():
        text = text.replace("{" + name + "}", str(replacement))
    return text


def generate(value: Any) -> Any:
    """Replace every ``{"$repeat": [text, count]}`` object with ``text * count``."""
    if isinstance(value, dict):
        if REPEAT_KEY in value:
            return _repeat(value)
        return {key: generate(item) for key, item in value.items()}
    if isinstance(value, list):
        return [generate(item) for item in value]
    return value


def _repeat(spec: Mapping[str, Any]) -> str:
    # A fixture built in code was never loaded, so never validated: check its generator here.
    problems = schema_problems(spec, "generated")
    if problems:
        raise FixtureError(f"bad generator {spec!r}: " + "; ".join(problems))
    text, count = spec[REPEAT_KEY]
    return str(text * count)
