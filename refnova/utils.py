"""Small helpers that reproduce how Nova 2014.1 (on Python 2) read request values."""

import base64
import random
import re
import socket
import uuid
from typing import Any

_B64_REGEX = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")
_PY2_INT = re.compile(r"\s*[+-]?[0-9]+\s*")
TRUE_STRINGS = ("1", "t", "true", "on", "y", "yes")
FALSE_STRINGS = ("0", "f", "false", "off", "n", "no")


def py2_str(value: object) -> str:
    """``"%s" % value`` as Python 2 printed JSON values (``None``, ``True``, ``[u'a']``)."""
    if isinstance(value, str):
        return value
    return _py2_repr(value) if isinstance(value, (list, dict)) else str(value)


def _py2_repr(value: object) -> str:
    if isinstance(value, str):
        return "u" + repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_py2_repr(item) for item in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join("%s: %s" % (_py2_repr(k), _py2_repr(v)) for k, v in value.items()) + "}"
        )
    return repr(value)


def py2_int(value: object) -> int:
    """``int(str(value))`` with Python 2's rules: ASCII digits only, so no ``1_000``."""
    text = py2_str(value)
    if not _PY2_INT.fullmatch(text):
        raise ValueError("invalid literal for int(): %r" % text)
    return int(text)


def is_uuid_like(value: Any) -> bool:
    """Nova's test: the value is a canonical (lower-case, hyphenated) UUID string."""
    try:
        return str(uuid.UUID(value)) == value
    except (TypeError, ValueError, AttributeError):
        return False


def decode_base64(data: object) -> bytes | None:
    """Nova's strict base64 check; None when ``data`` is not valid. TypeError if not a string."""
    if not isinstance(data, str):
        raise TypeError("expected a string")
    data = re.sub(r"\s", "", data)
    if not _B64_REGEX.match(data):
        return None
    try:
        return base64.b64decode(data)
    except ValueError:
        return None


def is_valid_ipv4(address: object) -> bool:
    """netaddr 0.7's valid_ipv4: glibc ``inet_aton`` semantics (so ``127.1`` is valid)."""
    if not isinstance(address, str) or address == "" or "\x00" in address:
        return False
    try:
        socket.inet_aton(address)
    except (OSError, UnicodeError, ValueError):
        return False
    return True


def is_valid_ipv6(address: object) -> bool:
    if not isinstance(address, str) or "\x00" in address:
        return False
    try:
        socket.inet_pton(socket.AF_INET6, address)
    except (OSError, UnicodeError, ValueError):
        return False
    return True


def is_valid_ip_address(address: object) -> bool:
    return is_valid_ipv4(address) or is_valid_ipv6(address)


def bool_from_string(subject: object, strict: bool = False, default: bool = False) -> bool:
    lowered = py2_str(subject).strip().lower()
    if lowered in TRUE_STRINGS:
        return True
    if lowered in FALSE_STRINGS:
        return False
    if strict:
        raise ValueError("Unrecognized value %r" % subject)
    return default


def validate_integer(value: object, name: str, min_value: int | None = None) -> int:
    """Nova's utils.validate_integer; raises InvalidInput."""
    from refnova import exception

    try:
        number = py2_int(value)
    except ValueError:
        raise exception.InvalidInput(reason="%s must be an integer" % name)
    if min_value is not None and number < min_value:
        raise exception.InvalidInput(reason="%s must be >= %d" % (name, min_value))
    return number


def sanitize_hostname(name: str) -> str:
    """RFC 952/1123 host name from a display name, as Python 2 Nova computed it."""
    raw = name.encode("latin-1", "ignore")
    raw = re.sub(rb"[ _]", b"-", raw)
    raw = re.sub(rb"[^A-Za-z0-9_.-]+", b"", raw)
    return raw.lower().strip(b".-").decode("ascii")


_PASSWORD_GROUPS = ("23456789", "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz")


_SYSTEM_RANDOM = random.SystemRandom()


def generate_password(length: int = 12, rng: random.Random = _SYSTEM_RANDOM) -> str:
    """Nova's generate_password: one of each symbol group, the rest from all, shuffled."""
    password = [rng.choice(group) for group in _PASSWORD_GROUPS]
    alphabet = "".join(_PASSWORD_GROUPS)
    password.extend(rng.choice(alphabet) for _ in range(length - len(password)))
    rng.shuffle(password)
    return "".join(password)


def generate_uid(topic: str, size: int = 8, rng: random.Random = _SYSTEM_RANDOM) -> str:
    characters = "01234567890abcdefghijklmnopqrstuvwxyz"
    return "%s-%s" % (topic, "".join(rng.choice(characters) for _ in range(size)))


def check_string_length(value: object, min_length: int = 0, max_length: int | None = None) -> bool:
    """True when value is a string within the bounds (Nova raised InvalidInput otherwise)."""
    if not isinstance(value, str):
        return False
    return len(value) >= min_length and (max_length is None or len(value) <= max_length)


def py2_truthy(value: object) -> bool:
    """Python truthiness of a JSON value (the string "false" is true)."""
    return bool(value)
