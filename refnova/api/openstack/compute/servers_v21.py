"""The /v2.1 create request (microversion 2.1): what today's Nova checks, and how it answers.

The body first passes the JSON-Schema (``schemas/servers.py``). What the schema cannot
say, Nova's controller still checks afterwards, in this order (Nova 34.0.0
``ServersController.create``): the personality items, ``min_count <= max_count``, the
availability zone's ``az:host:node`` form, the block device mappings, ``imageRef``, the
``networks`` entries and the flavor reference. ``CREATE_STEPS`` lists those checks; each
yields the same value as the /v2 step of that name, so both contracts hand the same
arguments to the one compute API.

``ERRORS`` is the /v2 table (``servers.V2_ERRORS``) with today's differences applied, each
one listed in ``V21_CHANGES``: quota errors are 403 ``forbidden`` without Retry-After and
with today's texts, a missing flavor keeps its own message, a server group that does not
exist is a 400, an ambiguous network a 409, policy names are ``os_compute_api:*``.
"""
import functools

from refnova import exception, utils
from refnova.api import validation
from refnova.api.openstack.compute import servers, views
from refnova.api.openstack.compute.schemas import servers as schemas
from refnova.exception import ApiError


@functools.cache
def _validator():
    """The create schema's validator, built on first use (with the name regex it needs)."""
    return validation.SchemaValidator(schemas.create)


def server_from_body(body):
    """The JSON-Schema check of the whole body; the ``server`` object once it passes."""
    _validator().validate(body)
    return body["server"]


def _bad_request(message):
    return ApiError(400, message)


def is_uuid_like(value):
    """oslo.utils' lenient test, the one Nova's controller applies to network uuids."""
    return isinstance(value, str) and validation.FORMAT_CHECKER.conforms(value, "uuid")


# --- the checks after the schema, one value each -----------------------------------------------

def admin_password(server, body, config):
    if "adminPass" in server:
        return server["adminPass"]
    return utils.generate_password(config.password_length)


def display_name(server, body, config):
    """Nova's normalize_name: stripped (the 2.1 schema already forbids outer whitespace)."""
    return server["name"].strip()


def injected_files(server, body, config):
    """(path, contents) pairs. An item without both keys crashes Nova (KeyError, a 500);
    refnova answers 400."""
    files = []
    for item in server.get("personality", []):
        for key in ("path", "contents"):
            if key not in item:
                raise _bad_request("Bad personality format: missing '%s'" % key)
        files.append((item["path"], item["contents"]))
    return files


def security_group_names(server, body, config):
    """The names of the entries that have one, without duplicates; ['default'] if none."""
    groups = server.get("security_groups")
    names = [group["name"] for group in groups or [] if group.get("name")]
    return list(dict.fromkeys(names)) or ["default"]


def scheduler_hints(server, body, config):
    """The top-level ``os:scheduler_hints`` (first) or ``OS-SCH-HNT:scheduler_hints``."""
    for attribute in ("os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"):
        if attribute in body:
            return body[attribute]
    return {}


def instance_counts(server, body, config):
    min_count = int(server.get("min_count", 1))
    max_count = int(server.get("max_count", min_count))
    if min_count > max_count:
        raise _bad_request("min_count must be <= max_count")
    return min_count, max_count


def auto_disk_config(server, body, config):
    value = server.get("OS-DCF:diskConfig")
    return None if value is None else value == "AUTO"


def legacy_block_device_mapping(server, body, config):
    mappings = server.get("block_device_mapping", [])
    if mappings and server.get("block_device_mapping_v2"):
        raise _bad_request("Using different block_device_mapping syntaxes is not allowed in "
                           "the same request.")
    for bdm in mappings:
        if "delete_on_termination" in bdm:
            bdm["delete_on_termination"] = utils.bool_from_string(bdm["delete_on_termination"])
    return mappings


def block_device_mapping_v2(server, body, config):
    """BlockDeviceDict.from_api, today's checks first; the legacy list wins when both are
    given (the mix is rejected above)."""
    if server.get("block_device_mapping"):
        return []
    image_given = server.get("imageRef") not in (None, "")
    try:
        return [_bdm_from_api(dict(entry), image_given)
                for entry in server.get("block_device_mapping_v2", [])]
    except exception.InvalidBDMFormat as error:
        raise _bad_request(error.format_message())


def _bdm_from_api(api_dict, image_given):
    if not api_dict.get("no_device"):
        source_type = api_dict.get("source_type")
        device_uuid = api_dict.get("uuid")
        if source_type == "blank" and device_uuid:
            raise exception.InvalidBDMFormat(details="Invalid device UUID.")
        if source_type != "blank":
            if not device_uuid:
                raise exception.InvalidBDMFormat(details="Missing device UUID.")
            api_dict[source_type + "_id"] = device_uuid
        if source_type == "image" and api_dict.get("destination_type") == "local":
            boot_index = api_dict.get("boot_index", -1)
            boot_index = -1 if boot_index is None else int(boot_index)
            if not (image_given and boot_index == 0):
                raise exception.InvalidBDMFormat(details="Mapping image to local is not supported.")
    api_dict.pop("uuid", None)
    return servers.new_bdm(api_dict)


def image_uuid(server, body, config):
    """imageRef as given (the schema made it a UUID or ""); "" only to boot from a volume."""
    image_href = server.get("imageRef")
    if not image_href and (server.get("block_device_mapping")
                           or server.get("block_device_mapping_v2")):
        return ""
    if image_href:
        return image_href
    raise _bad_request("Missing imageRef attribute")


def requested_networks(server, body, config):
    """(network uuid, fixed ip, port) triples; a port is given once, and without a fixed IP."""
    networks = server.get("networks")
    if networks is None:
        return None
    requested, ports = [], []
    for network in networks:
        address, port_id = network.get("fixed_ip"), network.get("port")
        if port_id:
            if port_id in ports:
                raise _bad_request("Port ID '%s' was specified twice: you cannot attach a port "
                                   "multiple times." % port_id)
            if address is not None:
                raise _bad_request("Specified Fixed IP '%s' cannot be used with port '%s': the "
                                   "two cannot be specified together." % (address, port_id))
            ports.append(port_id)
            requested.append((None, address, port_id))
            continue
        if "uuid" not in network:
            raise _bad_request("Bad network format: missing 'uuid'")
        if not is_uuid_like(network["uuid"]):
            raise _bad_request("Bad networks format: network uuid is not in proper format (%s)"
                               % network["uuid"])
        requested.append((network["uuid"], address, port_id))
    return requested


def flavor_id(server, body, config):
    """common.get_id_from_href: the last path segment of the URL (or the id itself)."""
    return servers.flavor_id(server, body, config)


def _read(key):
    return lambda server, body, config: server.get(key)


# Nova's order (ServersController.create at 2.1); each entry names the value it yields.
CREATE_STEPS = (
    ("admin_password", admin_password),
    ("display_name", display_name),
    ("user_data", _read("user_data")),
    ("key_name", _read("key_name")),
    ("config_drive", _read("config_drive")),
    ("security_groups", security_group_names),
    ("scheduler_hints", scheduler_hints),
    ("counts", instance_counts),
    ("availability_zone", _read("availability_zone")),
    ("auto_disk_config", auto_disk_config),
    ("access_ip_v4", _read("accessIPv4")),
    ("access_ip_v6", _read("accessIPv6")),
    ("injected_files", injected_files),
    ("legacy_bdm_list", legacy_block_device_mapping),
    ("bdm_v2_list", block_device_mapping_v2),
    ("image_uuid", image_uuid),
    ("requested_networks", requested_networks),
    ("flavor_id", flavor_id),
)

# The options today's compute API applies that Icehouse's did not (see compute.api.API.create).
COMPUTE_OPTIONS = {
    # Since Liberty Neutron networks may be requested twice (two ports on one network).
    "allow_duplicate_networks": True,
    # A fixed IP cannot go to several instances (InvalidFixedIpAndMaxCountRequest).
    "reject_fixed_ip_with_max_count": True,
}


# --- the error table -----------------------------------------------------------------------

POLICY_NAMES = {
    "compute:create": "os_compute_api:servers:create",
    "compute:create:attach_network": "os_compute_api:servers:create:attach_network",
    "compute:create:attach_volume": "os_compute_api:servers:create:attach_volume",
    "compute:create:forced_host": "os_compute_api:servers:create:forced_host",
    "compute:get_all": "os_compute_api:servers:index",
    "compute:get": "os_compute_api:servers:show",
    "compute:delete": "os_compute_api:servers:delete",
}


def _policy_message(error):
    action = error.kwargs.get("action")
    if action is None:
        return error.format_message()
    return "Policy doesn't allow %s to be performed." % POLICY_NAMES.get(action, action)


def _too_many_instances(error):
    """``Quota exceeded for cores, instances: Requested 22, 11, but already used 0, 0 of 20,
    10 cores, instances``: every resource over quota, in the quota engine's order."""
    overs = error.kwargs.get("over_details")
    if not overs:
        return error.format_message()
    names = ", ".join(resource for resource, _req, _used, _allowed in overs)
    requested, used, allowed = (", ".join(str(item[i]) for item in overs) for i in (1, 2, 3))
    return ("Quota exceeded for %s: Requested %s, but already used %s of %s %s"
            % (names, requested, used, allowed, names))


def _flavor_disk_too_small(error):
    """Today's two texts (FlavorDiskSmallerThanImage, FlavorDiskSmallerThanMinDisk)."""
    sizes = error.kwargs
    if "image_size" in sizes:
        return ("Flavor's disk is too small for requested image. Flavor disk is %(flavor_size)i "
                "bytes, image is %(image_size)i bytes." % sizes)
    if "image_min_disk" in sizes:
        return ("Flavor's disk is smaller than the minimum size specified in image metadata. "
                "Flavor disk is %(flavor_size)i bytes, minimum size is %(image_min_disk)i "
                "bytes." % sizes)
    return error.format_message()


# Today's texts of the errors whose Icehouse text differs (a template over the exception's
# keyword arguments, or a function of the exception).
TODAY_MESSAGES = {
    exception.TooManyInstances: _too_many_instances,
    exception.OnsetFilePathLimitExceeded: "Personality file path exceeds maximum %(allowed)s",
    exception.OnsetFileContentLimitExceeded: "Personality file content exceeds maximum %(allowed)s",
    exception.FlavorDiskTooSmall: _flavor_disk_too_small,
    # Nova passes python-neutronclient's text through; today's client looks up "name or id".
    exception.SecurityGroupNotFound: "Unable to find security_group with name or id "
                                     "'%(security_group_id)s'",
}


def today_message(error):
    for cls, message in TODAY_MESSAGES.items():
        if isinstance(error, cls):
            if callable(message):
                return message(error)
            try:
                return message % error.kwargs
            except (KeyError, TypeError, ValueError):
                return error.format_message()
    return error.format_message()


# Each change names the /v2 row (by its first exception class) and what /v2.1 does instead.
V21_CHANGES = (
    # Juno turned quota errors (Icehouse 413 overLimit, Retry-After: 0) into 403 forbidden.
    ("replace", exception.QuotaError, dict(status=403, message=today_message, retry_after=False)),
    # Metadata size is the schema's job now; the compute API's check answers 400, not 413.
    ("replace", exception.InvalidMetadataSize, dict(status=400, message=None)),
    # FlavorNotFound keeps its own text ("Flavor 99999 could not be found.").
    ("replace", exception.FlavorNotFound, dict(message=None)),
    # Policy failures name today's rules.
    ("replace", exception.NotAuthorized, dict(message=_policy_message)),
    # NetworkAmbiguous is a 409 conflict (Icehouse: an Invalid, 400).
    ("extend", exception.PortInUse, (exception.NetworkAmbiguous,)),
    # A missing server group is a 400 with its message (Icehouse: a generic 404), and so is
    # today's InvalidFixedIpAndMaxCountRequest; a too small flavor disk states the sizes.
    ("extend", exception.ImageNotActive, (exception.InstanceGroupNotFound,
                                          exception.InvalidFixedIpAndMaxCountRequest)),
    ("replace", exception.ImageNotActive, dict(message=today_message)),
)


def derive_errors(table, changes):
    """``table`` (rows of classes, status, message, retry_after) with ``changes`` applied."""
    rows = [list(row) for row in table]
    by_class = {row[0][0]: row for row in rows}
    for kind, cls, change in changes:
        row = by_class[cls]
        if kind == "replace":
            for field, value in change.items():
                row[("status", "message", "retry_after").index(field) + 1] = value
        elif kind == "extend":
            row[0] = tuple(row[0]) + tuple(change)
        else:
            raise ValueError("unknown change %r" % kind)
    return tuple(tuple(row) for row in rows)


ERRORS = derive_errors(servers.V2_ERRORS, V21_CHANGES)


# --- responses -----------------------------------------------------------------------------

def create_view(req, instance, admin_password, server, config):
    """The 202 body: only the keys Nova's v2.1 create response schema allows."""
    body = views.create(req, instance, admin_password, server, config)
    body["server"] = {key: value for key, value in body["server"].items()
                      if key in schemas.CREATE_RESPONSE_KEYS}
    return body


def show_view(req, session, instance, context, config):
    """GET /servers/{id} at 2.1: the same keys as /v2; a launch time as oslo.serialization
    writes a datetime (``2026-01-02T03:04:05.000006``, no zone)."""
    body = views.show(req, session, instance, context, config)
    launched_at = instance.launched_at
    body["server"]["OS-SRV-USG:launched_at"] = (
        launched_at.strftime("%Y-%m-%dT%H:%M:%S.%f") if launched_at else None)
    return body


INSTANCE_NOT_FOUND = "Instance %(id)s could not be found."
