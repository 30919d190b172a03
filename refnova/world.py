"""The reference deployment (``fixtures/world.json``) and overrides of it."""

import copy
import json
import pathlib

DEFAULT_WORLD_FILE = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "world.json"


def merge(base, overrides):
    """Dicts merge recursively; any other value (lists included) replaces."""
    merged = copy.deepcopy(base)
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_world(overrides=None, path=None):
    with open(path or DEFAULT_WORLD_FILE, encoding="utf-8") as handle:
        world = json.load(handle)
    return merge(world, overrides)
