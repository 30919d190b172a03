"""What a behaviour is: its kinds as a table, and the parsing of a behaviour's JSON.

A behaviour is the JSON object a test registers (in the world file's ``behaviours`` list or
with ``POST /refnova/v1/behaviours``)::

    {"name": "fail", "parameters": {"code": 503, "fault": "serviceUnavailable"},
     "criteria": {"server_name": "^web-", "metadata": {"role": "db"}}}

``name`` is one of ``KINDS``; each kind's ``parameters`` are checked against its table row
(type, allowed values, default), so that a behaviour is refused when it is registered, with a
message naming the field, and never at the hop where it would act. ``preset`` (any kind with
a fault) fills ``code``, ``fault`` and ``message`` from ``presets.PRESETS``; the parameters
given beside it win.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any

from refnova import exception
from refnova.behaviours import criteria as criteria_module
from refnova.behaviours import presets

# Where a kind acts: the compute API (create or delete), the conductor, or the cast between.
HOP_API = "api"
HOP_DELETE = "delete"
HOP_CONDUCTOR = "conductor"
HOP_CAST = "cast"
HOP_NONE = "none"

QUOTA_RESOURCES = ("instances", "cores", "ram")
BODY_KEYS = ("name", "parameters", "criteria")


class InvalidBehaviour(ValueError):
    """A behaviour that cannot be registered; the message names the field and the problem."""


@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter of a kind: what it must be (``check`` and its ``must`` text), and the
    value it takes when absent (``required`` parameters have none)."""

    check: Callable[[Any], bool]
    must: str
    default: Any = None
    required: bool = False


def _is_int(low: int, high: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _is_seconds(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 86400


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 4096


def _is_fault_key(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", value) is not None


ERROR_CODE = Param(_is_int(400, 599), "an integer from 400 to 599", 500)
FAULT_KEY = Param(_is_fault_key, "a JSON key of letters, digits and _", None)
MESSAGE = Param(_is_text, "a string of at most 4096 characters", None)
PRESET = Param(lambda v: v in presets.PRESETS, "the name of a preset (see presets)", None)
SECONDS = Param(_is_seconds, "a number of seconds from 0 to 86400", 10)
NO_PARAMS: Mapping[str, Param] = {}
API_ERROR: Mapping[str, Param] = {
    "code": ERROR_CODE,
    "fault": FAULT_KEY,
    "message": MESSAGE,
    "preset": PRESET,
}
SERVER_FAULT: Mapping[str, Param] = {
    "code": ERROR_CODE,
    "message": MESSAGE,
    "details": Param(_is_text, "a string of at most 4096 characters", ""),
    "preset": PRESET,
}


@dataclasses.dataclass(frozen=True)
class Kind:
    hop: str
    params: Mapping[str, Param]
    doc: str


KINDS: Mapping[str, Kind] = {
    "default": Kind(HOP_NONE, NO_PARAMS, "nothing injected: the request runs as it would"),
    "fail": Kind(HOP_API, API_ERROR, "the API answers the error; no server is made"),
    "false-negative": Kind(HOP_API, API_ERROR, "the API answers the error; the server is built"),
    "quota": Kind(
        HOP_API,
        {
            "resource": Param(
                lambda v: v in QUOTA_RESOURCES, "one of " + ", ".join(QUOTA_RESOURCES), "instances"
            )
        },
        "Nova's quota error for the resource, as if its usage were full",
    ),
    "broker-down": Kind(HOP_API, NO_PARAMS, "the cast cannot reach the broker: 503"),
    "database-down": Kind(HOP_API, NO_PARAMS, "the database cannot be reached: 503"),
    "delete-failure": Kind(
        HOP_DELETE,
        {"code": ERROR_CODE, "times": Param(_is_int(1, 1000000), "an integer from 1", 1)},
        "the server's first `times` deletes answer `code`",
    ),
    "build": Kind(HOP_CONDUCTOR, {"seconds": SECONDS}, "BUILD/spawning that long, then ACTIVE"),
    "error": Kind(HOP_CONDUCTOR, SERVER_FAULT, "the build fails: ERROR with a fault"),
    "active-then-error": Kind(
        HOP_CONDUCTOR, {"seconds": SECONDS, **SERVER_FAULT}, "ACTIVE, then ERROR after `seconds`"
    ),
    "no-valid-host": Kind(
        HOP_CONDUCTOR,
        {"reason": Param(_is_text, "a string of at most 4096 characters", "")},
        "the scheduler finds no host: Nova's NoValidHost fault",
    ),
    "lost-cast": Kind(HOP_CAST, NO_PARAMS, "the cast never reaches a conductor"),
    "duplicate-cast": Kind(HOP_CAST, NO_PARAMS, "the cast is delivered twice, built once"),
    "sequence": Kind(
        HOP_NONE,
        {
            "behaviours": Param(
                lambda v: isinstance(v, list) and 0 < len(v) <= 1000,
                "a non-empty list of behaviours (each {name, parameters})",
                required=True,
            ),
            "cycle": Param(lambda v: isinstance(v, bool), "true or false", False),
        },
        "each matching request takes the next step; cycled, or once",
    ),
}


@dataclasses.dataclass(frozen=True)
class Step:
    """A kind with its parameters complete (defaults and preset filled in)."""

    name: str
    parameters: Mapping[str, Any]

    @property
    def hop(self) -> str:
        return KINDS[self.name].hop


@dataclasses.dataclass(frozen=True)
class Behaviour:
    """A parsed behaviour: ``steps`` is one step, or a sequence's steps in order."""

    step: Step
    criteria: criteria_module.Criteria
    steps: tuple[Step, ...]
    cycle: bool

    @property
    def is_sequence(self) -> bool:
        return self.step.name == "sequence"


def parse(body: Any) -> Behaviour:
    """The behaviour of a JSON value, or InvalidBehaviour naming what is wrong."""
    if not isinstance(body, dict):
        raise InvalidBehaviour("A behaviour must be a JSON object")
    _refuse_unknown(body, BODY_KEYS, "")
    step = parse_step(body, "")
    try:
        matchers = criteria_module.parse_criteria(body.get("criteria", {}))
    except ValueError as error:
        raise InvalidBehaviour(str(error)) from None
    if step.name != "sequence":
        return Behaviour(step, matchers, (step,), False)
    steps = tuple(
        _sequence_step(item, "parameters.behaviours[%d]." % index)
        for index, item in enumerate(step.parameters["behaviours"])
    )
    return Behaviour(step, matchers, steps, step.parameters["cycle"])


def _sequence_step(item: Any, where: str) -> Step:
    if not isinstance(item, dict):
        raise InvalidBehaviour("%s must be an object with a name" % where.rstrip("."))
    _refuse_unknown(item, ("name", "parameters"), where)
    if item.get("name") == "sequence":
        raise InvalidBehaviour("%sname: a sequence cannot hold a sequence" % where)
    return parse_step(item, where)


def parse_step(body: Mapping[str, Any], where: str) -> Step:
    """A kind's name and its parameters checked, defaults and preset filled in."""
    name = body.get("name")
    if not isinstance(name, str) or name not in KINDS:
        raise InvalidBehaviour(
            "%sname must be one of %s; got %s" % (where, ", ".join(KINDS), _shown(name))
        )
    given = body.get("parameters", {})
    if not isinstance(given, dict):
        raise InvalidBehaviour("%sparameters must be an object" % where)
    table = KINDS[name].params
    _refuse_unknown(given, tuple(table), "%sparameters." % where)
    for key, value in given.items():
        if not table[key].check(value):
            raise InvalidBehaviour(
                "%sparameters.%s must be %s; got %s" % (where, key, table[key].must, _shown(value))
            )
    missing = [key for key, param in table.items() if param.required and key not in given]
    if missing:
        raise InvalidBehaviour("%sparameters.%s is required" % (where, missing[0]))
    filled = {key: param.default for key, param in table.items() if key != "preset"}
    if "preset" in given:
        filled.update(presets.fields(given["preset"], table))
    filled.update((key, value) for key, value in given.items() if key != "preset")
    return Step(name, _with_fault_defaults(name, filled))


def _with_fault_defaults(name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """An API error without its own fault key or message takes Nova's for its code."""
    if "fault" in parameters and parameters["fault"] is None:
        parameters["fault"] = exception.fault_key_for(parameters["code"])
    if "message" in parameters and parameters["message"] is None:
        parameters["message"] = presets.default_message(name, parameters["code"])
    return parameters


def _refuse_unknown(body: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    unknown = sorted(str(key) for key in body if key not in known)
    if unknown:
        allowed = ", ".join(known) if known else "none"
        raise InvalidBehaviour(
            "%s%s is not a known field (allowed: %s)" % (where, unknown[0], allowed)
        )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
