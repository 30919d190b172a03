"""The /v2.1 create-server schema of each microversion range, as Nova 34.0.0 chooses them.

Nova decorates ``ServersController.create`` with one schema per range (``create`` for 2.1
to 2.18, ``create_v219`` for 2.19 to 2.31, ... ``create_v294`` from 2.94 on); each later
schema is a copy of an earlier one with a few changes. ``RANGES`` states the same ranges
and the same changes, built on ``servers.create`` (the 2.1 schema). The description pattern
is the printable-characters regex, built on first use, so the schemas are too
(``schema_for``).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

from refnova.api import validation
from refnova.api.openstack.compute.schemas import servers as base
from refnova.api.openstack.microversions import APIVersion

Schema = dict[str, Any]

# --- parameter types that appear after 2.1 (Nova's parameter_types.py) ----------------------

MAX_TAG_LENGTH = 60  # nova.objects.tag
MAX_TAG_COUNT = 50  # nova.objects.instance

tag = {"type": "string", "pattern": "^[^,/]*$", "minLength": 1, "maxLength": MAX_TAG_LENGTH}

trusted_certs = {
    "type": ["array", "null"],
    "minItems": 1,
    "maxItems": 50,
    "uniqueItems": True,
    "items": {"type": "string", "minLength": 1},
}

volume_type = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}

fqdn = {"type": "string", "pattern": "^[a-zA-Z0-9-._]*$", "minLength": 1, "maxLength": 255}

hostname = {
    "type": "string",
    "pattern": "^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$",
    "minLength": 2,
    "maxLength": 63,
}


def description() -> Schema:
    """Nova's ``description``: printable characters (spaces anywhere), or null."""
    return {
        "type": ["string", "null"],
        "pattern": "^[%s]*$" % validation.printable_range(),
        "minLength": 0,
        "maxLength": 255,
    }


# --- each range's changes to the schema before it ---------------------------------------------


def _server(schema: Schema) -> Schema:
    server: Schema = schema["properties"]["server"]
    return server


def _props(schema: Schema) -> Schema:
    properties: Schema = _server(schema)["properties"]
    return properties


def _bdm_v2_item(schema: Schema) -> Schema:
    item: Schema = _props(schema)["block_device_mapping_v2"]["items"]["properties"]
    return item


def _networks(with_tag: bool) -> Schema:
    """2.37's networks: a list of uuid/port/fixed_ip objects, or ``auto`` / ``none``."""
    item = {
        "fixed_ip": base.ip_address,
        "port": {"type": ["string", "null"], "format": "uuid"},
        "uuid": {"type": "string", "format": "uuid"},
    }
    if with_tag:
        item["tag"] = tag
    return {
        "oneOf": [
            {
                "type": "array",
                "items": {"type": "object", "properties": item, "additionalProperties": False},
            },
            {"type": "string", "enum": ["none", "auto"]},
        ],
    }


def _v219(schema: Schema) -> None:
    _props(schema)["description"] = description()


def _v232(schema: Schema) -> None:
    _props(schema)["networks"]["items"]["properties"]["tag"] = tag
    _bdm_v2_item(schema)["tag"] = tag


def _v233(schema: Schema) -> None:  # tags were meant for 2.32 and up, but ended at 2.32
    _props(schema)["networks"]["items"]["properties"]["tag"] = tag


def _v237(schema: Schema) -> None:
    _server(schema)["required"].append("networks")
    _props(schema)["networks"] = _networks(with_tag=False)


def _v242(schema: Schema) -> None:
    _props(schema)["networks"] = _networks(with_tag=True)
    _bdm_v2_item(schema)["tag"] = tag


def _v252(schema: Schema) -> None:
    _props(schema)["tags"] = {"type": "array", "items": tag, "maxItems": MAX_TAG_COUNT}


def _v257(schema: Schema) -> None:
    _props(schema).pop("personality")


def _v263(schema: Schema) -> None:
    _props(schema)["trusted_image_certificates"] = trusted_certs


def _v267(schema: Schema) -> None:
    _bdm_v2_item(schema)["volume_type"] = volume_type


def _v274(schema: Schema) -> None:
    _props(schema)["host"] = fqdn
    _props(schema)["hypervisor_hostname"] = fqdn


def _v290(schema: Schema) -> None:
    _props(schema)["hostname"] = hostname


def _v294(schema: Schema) -> None:
    _props(schema)["hostname"] = fqdn


# (first version, the schema it builds on (None: 2.1's), the change); the last range is open.
RANGES: tuple[tuple[str, str | None, Callable[[Schema], None] | None], ...] = (
    ("2.1", None, None),
    ("2.19", "2.1", _v219),
    ("2.32", "2.19", _v232),
    ("2.33", "2.19", _v233),
    ("2.37", "2.33", _v237),
    ("2.42", "2.37", _v242),
    ("2.52", "2.42", _v252),
    ("2.57", "2.52", _v257),
    ("2.63", "2.57", _v263),
    ("2.67", "2.63", _v267),
    ("2.74", "2.67", _v274),
    ("2.90", "2.74", _v290),
    ("2.94", "2.90", _v294),
)


@functools.cache
def schemas() -> dict[str, Schema]:
    """Every range's schema, by the range's first version."""
    built: dict[str, Schema] = {}
    for first, parent, change in RANGES:
        schema = copy.deepcopy(base.create if parent is None else built[parent])
        if change is not None:
            change(schema)
        built[first] = schema
    return built


# Each range's first version, parsed once (a create asks for its range every time).
_STARTS = tuple((APIVersion.parse(first), first) for first, _parent, _change in RANGES)


@functools.lru_cache(maxsize=256)  # bounded anyway: one entry per version a client names
def range_start(version: APIVersion | None) -> str:
    """The first version of the range ``version`` falls in (None: 2.1's)."""
    start = RANGES[0][0]
    for first_version, first in _STARTS:
        if version is not None and version >= first_version:
            start = first
    return start


def schema_for(version: APIVersion | None) -> Schema:
    """The create schema Nova 34.0.0 applies at ``version``."""
    return schemas()[range_start(version)]
