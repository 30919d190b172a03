"""The /v2.1 create-server request schema, at microversion 2.1.

It states the same rules as Nova 34.0.0's ``schemas/servers.py`` ``create`` (the schema
Nova applies from 2.1 to 2.18), keyword for keyword and in the same order: validation
stops at the first error, and the order decides which one a request with several problems
gets. Later microversions' additions (``description`` 2.19, ``networks`` required 2.37,
``tags`` 2.52, personality removed 2.57, ...) are not here: refnova implements 2.1 only.
"""

import copy
from typing import Any

# --- parameter types (Nova's nova/api/validation/parameter_types.py) -------------------------

boolean = {
    "type": ["boolean", "string"],
    "enum": [
        True,
        "True",
        "TRUE",
        "true",
        "1",
        "ON",
        "On",
        "on",
        "YES",
        "Yes",
        "yes",
        False,
        "False",
        "FALSE",
        "false",
        "0",
        "OFF",
        "Off",
        "off",
        "NO",
        "No",
        "no",
    ],
}

positive_integer = {
    "type": ["integer", "string"],
    "pattern": "^[0-9]*$",
    "minimum": 1,
    "minLength": 1,
}

name = {
    "type": "string",
    "format": "name",
    "minLength": 1,
    "maxLength": 255,
}

image_id = {
    "type": "string",
    "format": "uuid",
}

image_id_or_empty_string = {
    "oneOf": [
        {"type": "string", "format": "uuid"},
        {"type": "string", "maxLength": 0},
    ]
}

volume_id = {
    "type": "string",
    "format": "uuid",
}

admin_password = {
    "type": "string",
}

flavor_ref = {
    "type": ["string", "integer"],
    "minLength": 1,
}

metadata = {
    "type": "object",
    "patternProperties": {
        "^[a-zA-Z0-9-_:. ]{1,255}$": {
            "type": "string",
            "maxLength": 255,
        },
    },
    "additionalProperties": False,
}

ip_address = {
    "type": "string",
    "oneOf": [
        {"format": "ipv4"},
        {"format": "ipv6"},
    ],
}

volume_size = {
    "type": ["integer", "string"],
    "pattern": "^[0-9]+$",
    "minimum": 1,
    "maximum": 0x7FFFFFFF,
}

disk_config = {
    "type": "string",
    "enum": ["AUTO", "MANUAL"],
}

accessIPv4 = {
    "type": "string",
    "format": "ipv4",
}

accessIPv6 = {
    "type": "string",
    "format": "ipv6",
}

personality = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "contents": {
                "type": "string",
                "format": "base64",
            },
        },
        "additionalProperties": False,
    },
}

server_id = {
    "type": "string",
    "format": "uuid",
}

# --- block device mappings -------------------------------------------------------------------

_legacy_block_device_mapping: dict[str, Any] = {
    "type": "object",
    "properties": {
        "virtual_name": {
            "type": "string",
            "maxLength": 255,
        },
        "volume_id": volume_id,
        "snapshot_id": image_id,
        "volume_size": volume_size,
        "device_name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 255,
            "pattern": "^[a-zA-Z0-9._/-]*$",
        },
        "delete_on_termination": boolean,
        "no_device": {},
        "connection_info": {"type": "string", "maxLength": 16777215},
    },
    "additionalProperties": False,
}

_block_device_mapping_v2_new_item = {
    "source_type": {
        "type": "string",
        "enum": ["volume", "image", "snapshot", "blank"],
    },
    "uuid": {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": "^[a-zA-Z0-9._-]*$",
    },
    "image_id": image_id,
    "destination_type": {
        "type": "string",
        "enum": ["local", "volume"],
    },
    "guest_format": {"type": "string", "maxLength": 255},
    "device_type": {"type": "string", "maxLength": 255},
    "disk_bus": {"type": "string", "maxLength": 255},
    "boot_index": {
        "type": ["integer", "string", "null"],
        "pattern": "^-?[0-9]+$",
    },
}

_block_device_mapping_v2 = copy.deepcopy(_legacy_block_device_mapping)
_block_device_mapping_v2["properties"].update(_block_device_mapping_v2_new_item)

# --- scheduler hints -------------------------------------------------------------------------

_hints = {
    "type": "object",
    "properties": {
        "group": {
            "oneOf": [
                {"type": "array", "items": {"type": "string", "format": "uuid"}},
                {"type": "string", "format": "uuid"},
            ],
        },
        "different_host": {
            "oneOf": [
                {"type": "string", "format": "uuid"},
                {"type": "array", "items": server_id},
            ]
        },
        "same_host": {
            "type": ["string", "array"],
            "items": server_id,
        },
        "query": {
            "type": ["string", "object"],
        },
        "target_cell": name,
        "different_cell": {
            "type": ["string", "array"],
            "items": {"type": "string"},
        },
        "build_near_host_ip": ip_address,
        "cidr": {
            "type": "string",
            "pattern": "^/[0-9a-f.:]+$",
        },
    },
    "additionalProperties": True,
}

# --- POST /servers ---------------------------------------------------------------------------

create = {
    "type": "object",
    "properties": {
        "server": {
            "type": "object",
            "properties": {
                "name": name,
                # "" only for boot from volume; the controller rejects it otherwise.
                "imageRef": image_id_or_empty_string,
                "flavorRef": flavor_ref,
                "adminPass": admin_password,
                "metadata": metadata,
                "networks": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "fixed_ip": ip_address,
                            "port": {"type": ["string", "null"], "format": "uuid"},
                            "uuid": {"type": "string"},
                        },
                        "additionalProperties": False,
                    },
                },
                "OS-DCF:diskConfig": disk_config,
                "accessIPv4": accessIPv4,
                "accessIPv6": accessIPv6,
                "personality": personality,
                "availability_zone": name,
                "block_device_mapping": {
                    "type": "array",
                    "items": _legacy_block_device_mapping,
                },
                "block_device_mapping_v2": {
                    "type": "array",
                    "items": _block_device_mapping_v2,
                },
                "config_drive": boolean,
                "key_name": name,
                "min_count": positive_integer,
                "max_count": positive_integer,
                "return_reservation_id": boolean,
                "security_groups": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": name,
                        },
                        "additionalProperties": False,
                    },
                },
                "user_data": {
                    "type": "string",
                    "format": "base64",
                    "maxLength": 65535,
                },
            },
            "required": ["name", "flavorRef"],
            "additionalProperties": False,
        },
        "os:scheduler_hints": _hints,
        "OS-SCH-HNT:scheduler_hints": _hints,
    },
    "required": ["server"],
    "additionalProperties": False,
}

# The keys Nova's create response schema allows in the 202 body's "server" object.
CREATE_RESPONSE_KEYS = ("id", "links", "adminPass", "OS-DCF:diskConfig", "security_groups")
