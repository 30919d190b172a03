"""The reference deployment (``fixtures/world.json``, shipped in the package) and overrides
of it."""

import copy
import json
import pathlib
from collections.abc import Mapping
from typing import Any

from refnova.package_data import data_dir

DEFAULT_WORLD_FILE = data_dir("fixtures") / "world.json"


def merge(base: dict[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Dicts merge recursively; any other value (lists included) replaces."""
    merged = copy.deepcopy(base)
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_world(
    overrides: Mapping[str, Any] | None = None, path: str | pathlib.Path | None = None
) -> dict[str, Any]:
    with open(path or DEFAULT_WORLD_FILE, encoding="utf-8") as handle:
        world: dict[str, Any] = json.load(handle)
    return merge(world, overrides)
