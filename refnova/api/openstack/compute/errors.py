"""How a Nova exception becomes an HTTP answer: one table of rules per API contract.

The compute layers below raise only refnova's Nova exceptions (``refnova.exception``);
the controller hands any of them to ``to_api_error`` with its contract's table, and the
first rule whose classes match decides the status, the message and whether
``Retry-After`` is sent. /v2's table is Icehouse's (spec §1.4: R1, then R2, then R3);
/v2.1's is derived from it, each difference named in ``V21_CHANGES``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from refnova import exception
from refnova.behaviours import InjectedFault
from refnova.exception import ApiError

Message = str | Callable[[exception.NovaException], str] | None


class ErrorRule(NamedTuple):
    """Exceptions of ``classes`` answer ``status`` (None: the exception's own code) with
    ``message`` (a text, a function of the exception, or None for its own message)."""

    classes: tuple[type[Exception], ...]
    status: int | None
    message: Message = None
    retry_after: bool = False


ErrorTable = tuple[ErrorRule, ...]

V2_ERRORS: ErrorTable = (
    # An injected behaviour's error (refnova.behaviours): its own status, fault and text.
    ErrorRule((InjectedFault,), None),
    ErrorRule((exception.QuotaError,), 413, retry_after=True),
    ErrorRule((exception.InvalidMetadataSize,), 413),
    ErrorRule((exception.ImageNotFound,), 400, "Can not find requested image"),
    ErrorRule((exception.FlavorNotFound,), 400, "Invalid flavorRef provided."),
    ErrorRule((exception.KeypairNotFound,), 400, "Invalid key_name provided."),
    ErrorRule((exception.ConfigDriveInvalidValue,), 400, "Invalid config_drive provided."),
    ErrorRule(
        (
            exception.ImageNotActive,
            exception.FlavorDiskTooSmall,
            exception.FlavorMemoryTooSmall,
            exception.InvalidMetadata,
            exception.InvalidRequest,
            exception.MultiplePortsNotApplicable,
            exception.NetworkNotFound,
            exception.PortNotFound,
            exception.SecurityGroupNotFound,
            exception.InvalidBDM,
            exception.PortRequiresFixedIP,
            exception.NetworkRequiresSubnet,
            exception.InstanceUserDataMalformed,
            # Icehouse let this one escape as a 500; Juno's 400 with the same message is
            # what refnova answers (the fixture records Nova's own status).
            exception.InstanceUserDataTooLarge,
        ),
        400,
    ),
    ErrorRule((exception.PortInUse, exception.NoUniqueMatch), 409),
    ErrorRule((exception.NotAuthorized,), 403),
    ErrorRule((exception.Invalid,), None),
    ErrorRule((exception.ServiceUnavailable,), 503),
)


def to_api_error(error: exception.NovaException, table: ErrorTable = V2_ERRORS) -> ApiError:
    """The HTTP answer for a compute-API exception, by the first matching rule."""
    for rule in table:
        if isinstance(error, rule.classes):
            headers = {"Retry-After": "0"} if rule.retry_after else {}
            message = rule.message(error) if callable(rule.message) else rule.message
            return ApiError(
                rule.status or error.code,
                message or _own_message(error),
                headers,
                fault=getattr(error, "fault", None),
            )
    # R3: anything else shows only the generic text of its class code.
    return ApiError(error.code or 500)


def _own_message(error: Exception) -> str:
    format_message = getattr(error, "format_message", None)
    return format_message() if format_message else str(error)


def with_quota_status(table: ErrorTable, api_options: Mapping[str, Any] | None) -> ErrorTable:
    """``table``, or the variant a world's ``api`` options ask for.

    Its one knob, ``quota_error_status``, answers quota overruns (the rules that send
    Retry-After: A14b, A15, A22, A24) with another status and no Retry-After, as some later
    clouds do (403). It exists so that the conformance suite can be shown to catch such a
    departure. A table without Retry-After rules (/v2.1's) is returned as it is.
    """
    status = (api_options or {}).get("quota_error_status")
    if status is None:
        return table
    return tuple(
        rule._replace(status=status, retry_after=False) if rule.retry_after else rule
        for rule in table
    )


# --- /v2.1: today's texts --------------------------------------------------------------------

POLICY_NAMES = {
    "compute:create": "os_compute_api:servers:create",
    "compute:create:attach_network": "os_compute_api:servers:create:attach_network",
    "compute:create:attach_volume": "os_compute_api:servers:create:attach_volume",
    "compute:create:forced_host": "os_compute_api:servers:create:forced_host",
    "compute:get_all": "os_compute_api:servers:index",
    "compute:get": "os_compute_api:servers:show",
    "compute:delete": "os_compute_api:servers:delete",
}


def _kwargs(error: exception.NovaException) -> dict[str, Any]:
    return getattr(error, "kwargs", {})


def policy_message(error: exception.NovaException) -> str:
    action = _kwargs(error).get("action")
    if action is None:
        return error.format_message()
    return "Policy doesn't allow %s to be performed." % POLICY_NAMES.get(action, action)


def _too_many_instances(error: exception.NovaException) -> str:
    """``Quota exceeded for cores, instances: Requested 22, 11, but already used 0, 0 of 20,
    10 cores, instances``: every resource over quota, in the quota engine's order."""
    overs = _kwargs(error).get("over_details")
    if not overs:
        return error.format_message()
    names = ", ".join(resource for resource, _req, _used, _allowed in overs)
    requested, used, allowed = (", ".join(str(item[i]) for item in overs) for i in (1, 2, 3))
    return "Quota exceeded for %s: Requested %s, but already used %s of %s %s" % (
        names,
        requested,
        used,
        allowed,
        names,
    )


def _flavor_disk_too_small(error: exception.NovaException) -> str:
    """Today's two texts (FlavorDiskSmallerThanImage, FlavorDiskSmallerThanMinDisk)."""
    sizes = _kwargs(error)
    if "image_size" in sizes:
        return (
            "Flavor's disk is too small for requested image. Flavor disk is "
            "%(flavor_size)i bytes, image is %(image_size)i bytes." % sizes
        )
    if "image_min_disk" in sizes:
        return (
            "Flavor's disk is smaller than the minimum size specified in image metadata. "
            "Flavor disk is %(flavor_size)i bytes, minimum size is %(image_min_disk)i "
            "bytes." % sizes
        )
    return error.format_message()


# Today's texts of the errors whose Icehouse text differs (a template over the exception's
# keyword arguments, or a function of the exception).
TODAY_MESSAGES: dict[type[Exception], Message] = {
    exception.TooManyInstances: _too_many_instances,
    exception.OnsetFilePathLimitExceeded: "Personality file path exceeds maximum %(allowed)s",
    exception.OnsetFileContentLimitExceeded: "Personality file content exceeds maximum %(allowed)s",
    exception.FlavorDiskTooSmall: _flavor_disk_too_small,
    # Nova passes python-neutronclient's text through; today's client looks up "name or id".
    exception.SecurityGroupNotFound: "Unable to find security_group with name or id "
    "'%(security_group_id)s'",
}


def today_message(error: exception.NovaException) -> str:
    for cls, message in TODAY_MESSAGES.items():
        if isinstance(error, cls):
            if callable(message):
                return message(error)
            try:
                return str(message) % _kwargs(error)
            except (KeyError, TypeError, ValueError):
                return error.format_message()
    return error.format_message()


class Replace(NamedTuple):
    """The rule whose first class is ``first_class`` takes these field values."""

    first_class: type[Exception]
    fields: Mapping[str, Any]


class Extend(NamedTuple):
    """The rule whose first class is ``first_class`` also matches ``classes``."""

    first_class: type[Exception]
    classes: tuple[type[Exception], ...]


V21_CHANGES: tuple[Replace | Extend, ...] = (
    # Juno turned quota errors (Icehouse 413 overLimit, Retry-After: 0) into 403 forbidden.
    Replace(exception.QuotaError, dict(status=403, message=today_message, retry_after=False)),
    # Metadata size is the schema's job now; the compute API's check answers 400, not 413.
    Replace(exception.InvalidMetadataSize, dict(status=400, message=None)),
    # FlavorNotFound keeps its own text ("Flavor 99999 could not be found.").
    Replace(exception.FlavorNotFound, dict(message=None)),
    # Policy failures name today's rules.
    Replace(exception.NotAuthorized, dict(message=policy_message)),
    # NetworkAmbiguous is a 409 conflict (Icehouse: an Invalid, 400).
    Extend(exception.PortInUse, (exception.NetworkAmbiguous,)),
    # A missing server group is a 400 with its message (Icehouse: a generic 404), and so is
    # today's InvalidFixedIpAndMaxCountRequest, and 2.74's unknown host; a too small flavor
    # disk states the sizes.
    Extend(
        exception.ImageNotActive,
        (
            exception.InstanceGroupNotFound,
            exception.InvalidFixedIpAndMaxCountRequest,
            exception.ComputeHostNotFound,
        ),
    ),
    Replace(exception.ImageNotActive, dict(message=today_message)),
)


def derive(table: ErrorTable, changes: Iterable[Replace | Extend]) -> ErrorTable:
    """``table`` with ``changes`` applied, each to the rule named by its first class."""
    rules = list(table)
    position = {rule.classes[0]: index for index, rule in enumerate(rules)}
    for change in changes:
        index = position[change.first_class]
        if isinstance(change, Replace):
            rules[index] = rules[index]._replace(**change.fields)
        else:
            rules[index] = rules[index]._replace(classes=rules[index].classes + change.classes)
    return tuple(rules)


V21_ERRORS: ErrorTable = derive(V2_ERRORS, V21_CHANGES)
