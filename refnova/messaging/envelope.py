"""oslo.messaging's message envelope, version 2.0 (``oslo_messaging/_drivers/common.py``).

The inner message (method, args, namespace, version, ``_unique_id``, ``_context_*`` keys) is
JSON-encoded as a string inside the outer object: JSON inside JSON, as oslo writes it.
"""

import datetime
import json
from typing import Any

ENVELOPE_VERSION = "2.0"

_SCALARS = frozenset((str, int, float, bool, type(None)))


def to_primitive(value: Any) -> Any:
    """oslo's jsonutils.to_primitive for the values a cast carries."""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, dict):
        return {
            key: item if type(item) in _SCALARS else to_primitive(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [item if type(item) in _SCALARS else to_primitive(item) for item in value]
    return value


def serialize_msg(message: dict[str, Any]) -> dict[str, str]:
    """The oslo envelope; datetimes anywhere in the message become to_primitive's strings."""
    return {
        "oslo.version": ENVELOPE_VERSION,
        "oslo.message": json.dumps(message, default=_primitive_default),
    }


def _primitive_default(value: Any) -> Any:
    # Only datetimes are converted while writing (no copy of every dict and list first).
    if isinstance(value, datetime.datetime):
        return to_primitive(value)
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


def deserialize_msg(body: Any) -> dict[str, Any]:
    """The inner message of an envelope (or a pre-envelope message as it is)."""
    if not isinstance(body, dict):
        raise ValueError("message body is not an object")
    if "oslo.version" not in body or "oslo.message" not in body:
        return body
    major, minor = (int(part) for part in str(body["oslo.version"]).split(".")[:2])
    if major != 2 or minor > 0:
        raise ValueError("unsupported envelope version %s" % body["oslo.version"])
    message = json.loads(body["oslo.message"])
    if not isinstance(message, dict):
        raise ValueError("inner message is not an object")
    return message
