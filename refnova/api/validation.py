"""JSON-Schema request validation as today's Nova runs it (``nova/api/validation``).

The /v2.1 contract validates a request body against a schema before the controller sees
it. The messages are the jsonschema library's, wrapped the way Nova wraps them:

* an error with a path: ``Invalid input for field/attribute {last path element}. Value:
  {value}. {jsonschema message}`` (the value printed by Python 3's ``%s``);
* an error without a path: the jsonschema message alone;
* a ``name`` format failure: ``An invalid 'name' value was provided. The name must be:
  printable characters. Can not start or end with whitespace.``

Validation stops at the first error the validator yields, so the order of keywords in a
schema decides which rule a request with several problems hits; the schemas keep Nova's.
Two behaviours of Nova's validator class are kept: ``minimum``/``maximum`` also apply to
numeric strings (``"0"`` is less than the minimum of 1), and ``format`` checks accept any
value of another type (the ``type`` keyword reports those).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import unicodedata
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
from jsonschema import exceptions as jsonschema_exceptions

from refnova.exception import ApiError, ValidationError

NAME_REASON = "printable characters. Can not start or end with whitespace."
INVALID_NAME = "An invalid 'name' value was provided. The name must be: %s"


class InvalidName(ValueError):
    """A ``name`` format failure; its message replaces jsonschema's."""

    def __init__(self, reason: str = NAME_REASON) -> None:
        super().__init__(INVALID_NAME % reason)


# --- the printable-name regex, built as Nova builds it ---------------------------------------


def _kind(category: str) -> str:
    """Printable: not "other" (controls, format, unassigned...), and no separator but a
    space separator (Zs), which is a kind of its own."""
    if category == "Zs":
        return SPACE
    return UNPRINTABLE if category.startswith(("C", "Z")) else PRINTABLE


# What each BMP character is, for the classes: a printable character other than a space
# separator, a space separator (Zs), or not printable.
PRINTABLE, SPACE, UNPRINTABLE = "p", "s", "n"
# The runs of characters each class body takes, by (ws, invert).
_RUNS = {
    (True, False): re.compile("[ps]+"),
    (False, False): re.compile("p+"),
    (True, True): re.compile("n+"),
    (False, True): re.compile("[sn]+"),
}


@functools.cache
def _bmp_kinds() -> str:
    """One letter per character U+0000-U+FFFE: PRINTABLE, SPACE or UNPRINTABLE."""
    categories = map(unicodedata.category, map(chr, range(0xFFFF)))
    kinds: dict[str, str] = {}  # by category: a few dozen
    return "".join(
        kinds.get(category) or kinds.setdefault(category, _kind(category))
        for category in categories
    )


def _regex_range(ws: bool = True, invert: bool = False) -> str:
    """A character-class body of the printable characters of the BMP (U+0000-U+FFFE).

    ``ws=False`` leaves out the space separators (Zs); ``invert`` takes the complement.
    Characters past U+FFFE are in neither class, so a name containing one never matches.
    Each run of consecutive characters in the class is one ``a-z`` range (one character
    alone), as Nova writes it; the characters are classified once for all the classes.
    """
    parts = []
    for run in _RUNS[(ws, invert)].finditer(_bmp_kinds()):
        first, last = chr(run.start()), chr(run.end() - 1)
        parts.append(re.escape(first) + ("" if last == first else "-" + re.escape(last)))
    return "".join(parts)


@functools.cache
def printable_range() -> str:
    """The character-class body of every printable BMP character (Nova's description)."""
    return _regex_range()


@functools.cache
def valid_name_regex() -> re.Pattern[str]:
    """Nova's ``valid_name_regex``: printable, not starting or ending with whitespace.

    Built on first use (it takes a few tenths of a second). Searched with ``re.search``, as
    Nova does, so ``$`` also matches before a final newline: ``"vm\\n"`` is a valid name.
    """
    edge = _regex_range(ws=False, invert=True)
    return re.compile("^(?![%s])[%s]*(?<![%s])$" % (edge, _regex_range(), edge))


# --- format checkers -------------------------------------------------------------------------

# ipv4 and ipv6 are the library's own checkers (the stdlib ipaddress module, strict dotted quads).
FORMAT_CHECKER = jsonschema.FormatChecker(formats=("ipv4", "ipv6"))


@FORMAT_CHECKER.checks("uuid")
def _is_uuid_like(instance: object) -> bool:
    """oslo.utils' is_uuid_like: any case, with or without hyphens, braces or a urn prefix."""
    if not isinstance(instance, str):
        return True
    try:
        canonical = str(uuid.UUID(instance)).replace("-", "")
    except (TypeError, ValueError, AttributeError):
        return False
    return canonical == (
        instance.replace("urn:", "").replace("uuid:", "").strip("{}").replace("-", "").lower()
    )


@FORMAT_CHECKER.checks("base64")
def _is_base64(instance: object) -> bool:
    """Python's lenient b64decode: characters outside the alphabet are dropped, padding counts.

    Nova feeds the text through ``decode('ascii')`` first and answers 500 on non-ASCII text;
    refnova rejects it as not base64 instead.
    """
    if not isinstance(instance, str):
        return True
    try:
        base64.b64decode(instance.encode("utf-8").decode("ascii"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return True


def warm() -> None:
    """Build the name regexes now (a few tenths of a second), as Nova does at import, so that
    a served API's first request does not pay for them."""
    printable_range()
    valid_name_regex()


@FORMAT_CHECKER.checks("name", raises=InvalidName)
def _is_valid_name(instance: object) -> bool:
    if isinstance(instance, str) and valid_name_regex().search(instance):
        return True
    raise InvalidName()


# --- the validator ---------------------------------------------------------------------------


def _number_from_str(instance: Any) -> int | float | None:
    try:
        return int(instance)
    except (ValueError, TypeError):
        try:
            return float(instance)
        except (ValueError, TypeError):
            return None


_BASE = jsonschema.Draft202012Validator


def _minimum(
    validator: Any, minimum: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[jsonschema_exceptions.ValidationError]:
    number = _number_from_str(instance)
    if number is not None:
        yield from _BASE.VALIDATORS["minimum"](validator, minimum, number, schema)


def _maximum(
    validator: Any, maximum: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[jsonschema_exceptions.ValidationError]:
    number = _number_from_str(instance)
    if number is not None:
        yield from _BASE.VALIDATORS["maximum"](validator, maximum, number, schema)


_Validator = jsonschema.validators.extend(_BASE, {"minimum": _minimum, "maximum": _maximum})


def error_detail(error: jsonschema_exceptions.ValidationError) -> str:
    """Nova's text for a jsonschema ValidationError."""
    if isinstance(error.cause, InvalidName):
        return str(error.cause)
    if len(error.path) > 0:
        return "Invalid input for field/attribute %s. Value: %s. %s" % (
            error.path.pop(),
            error.instance,
            error.message,
        )
    return error.message


class SchemaValidator:
    """One schema, checked with Nova's rules; ``validate`` raises ApiError(400)."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self._validator = _Validator(schema, format_checker=FORMAT_CHECKER)

    def validate(self, instance: Any) -> None:
        try:
            self._validator.validate(instance)
        except jsonschema_exceptions.ValidationError as error:
            detail = error_detail(error)
            raise ApiError(400, detail) from ValidationError(detail=detail)
        except TypeError as error:
            # Nova: a non-string key against patternProperties (not reachable from JSON).
            raise ApiError(400, str(error)) from ValidationError(detail=str(error))
