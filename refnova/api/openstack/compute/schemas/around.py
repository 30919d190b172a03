"""Today's JSON-Schemas (Nova 34.0.0 at 2.1) of the request bodies around create."""

from __future__ import annotations

import copy
from typing import Any

# nova/api/openstack/compute/schemas/keypairs.py ``create`` (2.0 to 2.1).
KEYPAIR_CREATE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "keypair": {
            "type": "object",
            "properties": {
                "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 255,
                    "pattern": r"^[_\- a-zA-Z0-9]+$",
                },
                "public_key": {"type": "string"},
            },
            "required": ["name"],
            "additionalProperties": False,
        },
    },
    "required": ["keypair"],
    "additionalProperties": False,
}


def _keypair_create(name_pattern: str, **properties: Any) -> dict[str, Any]:
    """Nova's ``create`` of a later microversion: the 2.1 schema with more properties."""
    schema = copy.deepcopy(KEYPAIR_CREATE)
    keypair = schema["properties"]["keypair"]
    keypair["properties"]["name"]["pattern"] = name_pattern
    keypair["properties"].update(properties)
    return schema


_NAME_PATTERN = KEYPAIR_CREATE["properties"]["keypair"]["properties"]["name"]["pattern"]
_KEY_TYPE = {"type": "string", "enum": ["ssh", "x509"]}
# ``create_v22`` (2.2 to 2.9): a key type; ``create_v210`` (2.10 to 2.91): a user, for admins;
# ``create_v292`` (2.92): '@' and '.' allowed in names, and a public key required (Nova no
# longer generates key pairs).
KEYPAIR_CREATE_V22 = _keypair_create(_NAME_PATTERN, type=_KEY_TYPE)
KEYPAIR_CREATE_V210 = _keypair_create(_NAME_PATTERN, type=_KEY_TYPE, user_id={"type": "string"})
KEYPAIR_CREATE_V292 = _keypair_create(
    r"^[_\-\@\. a-zA-Z0-9]+$", type=_KEY_TYPE, user_id={"type": "string"}
)
KEYPAIR_CREATE_V292["properties"]["keypair"]["required"] = ["name", "public_key"]
