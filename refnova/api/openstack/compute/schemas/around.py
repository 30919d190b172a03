"""Today's JSON-Schemas (Nova 34.0.0 at 2.1) of the request bodies around create."""

from __future__ import annotations

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
