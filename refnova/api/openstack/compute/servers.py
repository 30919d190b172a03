"""servers.Controller: the create request's checks, in Nova 2014.1's order, and show.

Each check is a small function that reads one part of ``server`` and either returns the
value ``compute.api.API.create`` takes or raises. ``CREATE_STEPS`` lists them in Nova's
evaluation order; ``V2_ERRORS`` is the table that maps compute-API exceptions to HTTP.
"""
import binascii
import re
import urllib.parse

from refnova import exception, tracing, utils
from refnova.api.openstack.compute import views
from refnova.db import api as db_api
from refnova.exception import ApiError

# Where Icehouse crashed with a 500 on these inputs, refnova answers 400 with this text.
CRASH_MESSAGES = {
    "security_groups": "Bad security_groups format: each entry must be an object",
    "networks": "Bad networks format: each entry must be an object with a string uuid or a port",
    "block_device_mapping": "Bad block_device_mapping format: each entry must be an object",
    "block_device_mapping_v2": "Bad block_device_mapping_v2 format: each entry must be an object",
}


def _bad_request(message=None):
    return ApiError(400, message)


# utils.is_uuid_like and utils.decode_base64 give the same answers, several times slower
# (a UUID object round trip; a regex over the whole text): the create path checks every
# request's imageRef, networks and up to 64 KiB of user_data with these two.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _is_uuid_like(value):
    """A canonical (lower-case, hyphenated) UUID string, as utils.is_uuid_like tests it."""
    return isinstance(value, str) and _CANONICAL_UUID.fullmatch(value) is not None


def _is_base64(data):
    """Strict base64 once whitespace is dropped, as utils.decode_base64 tests it."""
    data = "".join(data.split())
    if len(data) % 4 or "=" in data[:-2]:
        return False
    try:
        binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError):
        return False
    return True


# --- the checks, one field each ----------------------------------------------------------

def admin_password(server, body, config):
    """C2: a given adminPass must be a string; none given means a generated one."""
    if "adminPass" not in server:
        return utils.generate_password(config.password_length)
    if not isinstance(server["adminPass"], str):
        raise _bad_request("Invalid adminPass")
    return server["adminPass"]


def display_name(server, body, config):
    """C3-C6: the name is required, a string, 1 to 255 characters once stripped."""
    if "name" not in server:
        raise _bad_request("Server name is not defined")
    name = server["name"]
    if not isinstance(name, str):
        raise _bad_request("Server name is not a string or unicode")
    name = name.strip()
    if len(name) < 1:
        raise _bad_request("Server name has a minimum character requirement of 1.")
    if len(name) > 255:
        raise _bad_request("Server name has more than 255 characters.")
    return name


def image_uuid(server, body, config):
    """C7: the last path segment of imageRef, a canonical UUID; '' to boot from a volume."""
    if not server.get("imageRef") and (server.get("block_device_mapping")
                                       or server.get("block_device_mapping_v2")):
        return ""
    if "imageRef" not in server:
        raise _bad_request("Missing imageRef attribute")
    candidate = utils.py2_str(server["imageRef"]).split("/")[-1]
    if not _is_uuid_like(candidate):
        raise _bad_request("Invalid imageRef provided.")
    return candidate


def injected_files(server, body, config):
    """C8: personality items as (path, base64 contents) pairs; contents stay encoded."""
    personality = server.get("personality")
    if not personality:
        return []
    if not isinstance(personality, (list, dict, str)):
        raise _bad_request()
    files = []
    for item in personality:
        if not isinstance(item, dict):
            raise _bad_request("Bad personality format")
        for key in ("path", "contents"):
            if key not in item:
                raise _bad_request("Bad personality format: missing '%s'" % key)
        path, contents = item["path"], item["contents"]
        if not isinstance(contents, str):
            raise _bad_request()
        if not _is_base64(contents):
            raise _bad_request("Personality content for %s cannot be decoded" % utils.py2_str(path))
        files.append((path, contents))
    return files


def security_group_names(server, body, config):
    """C9: the names of the entries that have one, de-duplicated; 'default' if none."""
    groups = server.get("security_groups")
    names = []
    if groups is not None:
        if not isinstance(groups, (list, dict, str)):
            raise _bad_request()
        if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
            raise _bad_request(CRASH_MESSAGES["security_groups"])
        names = [g["name"] for g in groups if g.get("name")]
    if any(isinstance(n, (list, dict)) for n in names):
        raise _bad_request()
    return list(dict.fromkeys(names)) or ["default"]


def requested_networks(server, body, config):
    """C10: (network uuid, fixed ip, port) triples, as with Neutron."""
    networks = server.get("networks")
    if networks is None:
        return None
    if not isinstance(networks, list):
        raise _bad_request("Bad networks format")
    return [_requested_network(network) for network in networks]


def _requested_network(network):
    if not isinstance(network, dict):
        raise _bad_request(CRASH_MESSAGES["networks"])
    port_id = network.get("port")
    network_uuid = None
    if port_id:
        if not _is_uuid_like(port_id):
            raise _bad_request("Bad port format: port uuid is not in proper format (%s)"
                               % utils.py2_str(port_id))
    else:
        if "uuid" not in network:
            raise _bad_request("Bad network format: missing 'uuid'")
        network_uuid = network["uuid"]
        if not _is_uuid_like(network_uuid):
            if not isinstance(network_uuid, str):
                raise _bad_request(CRASH_MESSAGES["networks"])
            # Nova-network bridge names ("br-<uuid>") pass too.
            if not _is_uuid_like(network_uuid.split("-", 1)[-1]):
                raise _bad_request("Bad networks format: network uuid is not in proper format (%s)"
                                   % network_uuid)
    address = network.get("fixed_ip")
    if address is not None and not utils.is_valid_ip_address(address):
        raise _bad_request("Invalid fixed IP address (%s)" % utils.py2_str(address))
    return (network_uuid, address, port_id)


def access_ip_v4(server, body, config):
    """C11."""
    address = server.get("accessIPv4")
    if address is not None and not utils.is_valid_ipv4(address):
        raise _bad_request("accessIPv4 is not proper IPv4 format")
    return address


def access_ip_v6(server, body, config):
    """C12."""
    address = server.get("accessIPv6")
    if address is not None and not utils.is_valid_ipv6(address):
        raise _bad_request("accessIPv6 is not proper IPv6 format")
    return address


def flavor_id(server, body, config):
    """C13: the last path segment of flavorRef (an id, an integer or a URL)."""
    if "flavorRef" not in server:
        raise _bad_request("Missing flavorRef attribute")
    try:
        return urllib.parse.urlsplit(utils.py2_str(server["flavorRef"])).path.split("/")[-1]
    except ValueError:
        raise _bad_request("Invalid flavorRef provided.")


def key_name(server, body, config):
    return server.get("key_name")


def user_data(server, body, config):
    """C15: truthy user_data must be strict base64 text."""
    data = server.get("user_data")
    if data:
        if not isinstance(data, str):
            raise _bad_request()
        if not _is_base64(data):
            raise _bad_request("Userdata content cannot be decoded")
    return data


def availability_zone(server, body, config):
    return server.get("availability_zone")


def config_drive(server, body, config):
    return server.get("config_drive")


def legacy_block_device_mapping(server, body, config):
    """C17: legacy entries: device_name, volume_size, and a lenient delete_on_termination."""
    mappings = server.get("block_device_mapping", [])
    _check_iterable_of_objects(mappings, "block_device_mapping")
    for bdm in mappings:
        _validate_device_name(bdm.get("device_name"))
        _validate_volume_size(bdm)
        if "delete_on_termination" in bdm:
            bdm["delete_on_termination"] = utils.bool_from_string(bdm["delete_on_termination"])
    return mappings


def _check_iterable_of_objects(value, field):
    if isinstance(value, (str, dict)) or (
            isinstance(value, list) and not all(isinstance(item, dict) for item in value)):
        raise _bad_request(CRASH_MESSAGES[field])
    if not isinstance(value, list):
        raise _bad_request()


def _validate_device_name(value):
    if not utils.check_string_length(value, 1, 255):
        raise exception.InvalidBDMFormat(details="Device name empty or too long.")
    if " " in value:
        raise exception.InvalidBDMFormat(details="Device name contains spaces.")


def _validate_volume_size(bdm):
    if bdm.get("volume_size"):
        try:
            bdm["volume_size"] = utils.validate_integer(bdm["volume_size"], "volume_size", min_value=0)
        except exception.InvalidInput:
            raise exception.InvalidBDMFormat(details="Invalid volume_size.")


BDM_FIELDS = frozenset((
    "source_type", "destination_type", "guest_format", "device_type", "disk_bus", "boot_index",
    "device_name", "delete_on_termination", "snapshot_id", "volume_id", "volume_size",
    "image_id", "no_device", "connection_info"))
BDM_DB_ONLY_FIELDS = frozenset(("id", "instance_uuid", "created_at", "updated_at", "deleted_at",
                                "deleted"))


def block_device_mapping_v2(server, body, config):
    """C18: v2 entries through BlockDeviceDict.from_api; not mixed with legacy ones."""
    mappings = server.get("block_device_mapping_v2", [])
    if server.get("block_device_mapping") and mappings:
        raise _bad_request("Using different block_device_mapping syntaxes is not allowed in "
                           "the same request.")
    _check_iterable_of_objects(mappings, "block_device_mapping_v2")
    return [bdm_from_api(dict(entry)) for entry in mappings]


def bdm_from_api(api_dict):
    if not api_dict.get("no_device"):
        source_type = api_dict.get("source_type")
        if source_type not in ("volume", "image", "snapshot", "blank"):
            raise exception.InvalidBDMFormat(details="Invalid source_type field.")
        if source_type != "blank":
            if not api_dict.get("uuid"):
                raise exception.InvalidBDMFormat(details="Missing device UUID.")
            api_dict[source_type + "_id"] = api_dict["uuid"]
    api_dict.pop("uuid", None)
    return new_bdm(api_dict)


def new_bdm(values, do_not_default=frozenset()):
    """BlockDeviceDict: check the fields, then every known field defaults to None."""
    if not set(values) <= BDM_FIELDS | BDM_DB_ONLY_FIELDS:
        raise exception.InvalidBDMFormat(details="Some fields are invalid.")
    if not values.get("no_device"):
        if "source_type" not in values:
            raise exception.InvalidBDMFormat(details="Some required fields are missing")
        if "delete_on_termination" in values:
            values["delete_on_termination"] = utils.bool_from_string(values["delete_on_termination"])
        if values.get("device_name") is not None:
            _validate_device_name(values["device_name"])
        _validate_volume_size(values)
        if values.get("boot_index"):
            values["boot_index"] = _boot_index(values["boot_index"])
    bdm = {field: None for field in BDM_FIELDS - do_not_default}
    bdm.update(values)
    return bdm


def _boot_index(value):
    if isinstance(value, (bool, int, float)):
        return int(value)
    if isinstance(value, str):
        try:
            return utils.py2_int(value)
        except ValueError:
            raise exception.InvalidBDMFormat(details="Boot index is invalid.")
    raise _bad_request()


def instance_counts(server, body, config):
    """C19: min_count and max_count, integers >= 1 and in order."""
    min_count = server.get("min_count", 1)
    max_count = server.get("max_count", min_count)
    try:
        min_count = utils.validate_integer(min_count, "min_count", min_value=1)
        max_count = utils.validate_integer(max_count, "max_count", min_value=1)
    except exception.InvalidInput as error:
        raise _bad_request(error.format_message())
    if min_count > max_count:
        raise _bad_request("min_count must be <= max_count")
    return min_count, max_count


def auto_disk_config(server, body, config):
    return server.get("auto_disk_config")


def scheduler_hints(server, body, config):
    return server.get("scheduler_hints", {})


# Nova's evaluation order (§1.2); each entry names the value it yields.
CREATE_STEPS = (
    ("admin_password", admin_password),
    ("display_name", display_name),
    ("image_uuid", image_uuid),
    ("config_drive", config_drive),
    ("injected_files", injected_files),
    ("security_groups", security_group_names),
    ("requested_networks", requested_networks),
    ("access_ip_v4", access_ip_v4),
    ("access_ip_v6", access_ip_v6),
    ("flavor_id", flavor_id),
    ("key_name", key_name),
    ("user_data", user_data),
    ("availability_zone", availability_zone),
    ("legacy_bdm_list", legacy_block_device_mapping),
    ("bdm_v2_list", block_device_mapping_v2),
    ("counts", instance_counts),
    ("auto_disk_config", auto_disk_config),
    ("scheduler_hints", scheduler_hints),
)

# How exceptions from compute.api become HTTP answers on /v2 (§1.4: R1, then R2, then R3).
# (exception classes, status, message or None for the exception's own, Retry-After header)
V2_ERRORS = (
    ((exception.QuotaError,), 413, None, True),
    ((exception.InvalidMetadataSize,), 413, None, False),
    ((exception.ImageNotFound,), 400, "Can not find requested image", False),
    ((exception.FlavorNotFound,), 400, "Invalid flavorRef provided.", False),
    ((exception.KeypairNotFound,), 400, "Invalid key_name provided.", False),
    ((exception.ConfigDriveInvalidValue,), 400, "Invalid config_drive provided.", False),
    ((exception.ImageNotActive, exception.FlavorDiskTooSmall, exception.FlavorMemoryTooSmall,
      exception.InvalidMetadata, exception.InvalidRequest, exception.MultiplePortsNotApplicable,
      exception.NetworkNotFound, exception.PortNotFound, exception.SecurityGroupNotFound,
      exception.InvalidBDM, exception.PortRequiresFixedIP, exception.NetworkRequiresSubnet,
      exception.InstanceUserDataMalformed,
      # Icehouse let this one escape as a 500; Juno's 400 with the same message is what
      # refnova answers (the fixture records Nova's own status).
      exception.InstanceUserDataTooLarge), 400, None, False),
    ((exception.PortInUse, exception.NoUniqueMatch), 409, None, False),
    ((exception.NotAuthorized,), 403, None, False),
    ((exception.Invalid,), None, None, False),
    ((exception.ServiceUnavailable,), 503, None, False),
)


def error_table_for(api_options, table=V2_ERRORS):
    """The error table of a deployment: ``table``, or a variant that the world asks for.

    ``api_options`` is the world's ``api`` object. Its one knob, ``quota_error_status``,
    answers quota overruns (the rows that carry Retry-After: A14b, A15, A22, A24) with
    another status and no Retry-After, as some later clouds do (403). It exists so that the
    conformance suite can be shown to catch such a departure.
    """
    status = (api_options or {}).get("quota_error_status")
    if status is None:
        return table
    return tuple((classes, status, message, False) if retry_after
                 else (classes, row_status, message, retry_after)
                 for classes, row_status, message, retry_after in table)


def to_api_error(error, table=V2_ERRORS):
    """The HTTP answer for a compute-API exception, by the first matching table row.

    A row's message is a fixed text, None (the exception's own) or a function of the error.
    """
    for classes, status, message, retry_after in table:
        if isinstance(error, classes):
            headers = {"Retry-After": "0"} if retry_after else {}
            if callable(message):
                message = message(error)
            return ApiError(status or error.code, message or error.format_message(), headers)
    # R3: anything else shows only the generic text of its class code.
    return ApiError(getattr(error, "code", 500) or 500)


def server_from_body(body):
    """C1: the body must be an object with a ``server`` object (else Icehouse's 422)."""
    if not (body and isinstance(body, dict) and "server" in body
            and isinstance(body["server"], dict)):
        raise ApiError(422)
    return body["server"]


def _contract_of(req):
    """The API contract (/v2 or /v2.1) the router chose for ``req``."""
    from refnova.api.openstack import contracts   # it builds on this module's tables
    return contracts.contract_of(req)


class Controller:
    """The servers resource; each request brings its API contract (/v2 or /v2.1).

    ``error_table`` is the /v2 contract's table for this deployment (see error_table_for).
    """

    def __init__(self, compute_api, config, error_table=V2_ERRORS):
        self.compute_api = compute_api
        self.config = config
        self.error_table = error_table

    def _errors(self, contract):
        return self.error_table if contract.name == "v2" else contract.errors

    @tracing.traced("servers.Controller.create")
    def create(self, req, body):
        contract = _contract_of(req)
        server = contract.server_from_body(body)
        context = req.environ["nova.context"]
        try:
            values = {name: step(server, body, self.config)
                      for name, step in contract.create_steps}
        except exception.InvalidBDMFormat as error:
            raise _bad_request(error.format_message())
        try:
            flavor = self._flavor(context, values["flavor_id"])
            instances, reservation_id = self.compute_api.create(
                context, flavor, values["image_uuid"], **self._create_kwargs(server, values),
                **contract.compute_options)
        except exception.NovaException as error:
            raise to_api_error(error, self._errors(contract))
        if utils.py2_truthy(server.get("return_reservation_id", False)):
            return 202, {"reservation_id": reservation_id}, {}
        body = contract.create_view(req, instances[0], values["admin_password"], server,
                                    self.config)
        return 202, body, {"Location": body["server"]["links"][0]["href"]}

    def _flavor(self, context, flavorid):
        with self.compute_api.db.reading() as connection:
            return db_api.flavor_get_by_flavor_id(connection, flavorid, context)

    @staticmethod
    def _create_kwargs(server, values):
        min_count, max_count = values["counts"]
        return dict(
            display_name=values["display_name"], display_description=values["display_name"],
            key_name=values["key_name"], metadata=server.get("metadata", {}),
            access_ip_v4=values["access_ip_v4"], access_ip_v6=values["access_ip_v6"],
            injected_files=values["injected_files"], admin_password=values["admin_password"],
            min_count=min_count, max_count=max_count,
            requested_networks=values["requested_networks"],
            security_group=values["security_groups"], user_data=values["user_data"],
            availability_zone=values["availability_zone"], config_drive=values["config_drive"],
            block_device_mapping=values["legacy_bdm_list"] or values["bdm_v2_list"],
            auto_disk_config=values["auto_disk_config"],
            scheduler_hints=values["scheduler_hints"],
            legacy_bdm=not values["bdm_v2_list"])

    @tracing.traced("servers.Controller.index")
    def index(self, req):
        """GET /servers: id, name and links of each server of the project."""
        context = req.environ["nova.context"]
        try:
            instances = self.compute_api.get_all(context)
        except exception.NovaException as error:
            raise to_api_error(error, self.error_table)
        return 200, views.index(req, instances), {}

    @tracing.traced("servers.Controller.delete")
    def delete(self, req, server_id):
        """DELETE /servers/{id}: 204 with no body."""
        context = req.environ["nova.context"]
        try:
            self.compute_api.delete(context, server_id)
        except exception.InstanceNotFound:
            raise ApiError(404, "Instance could not be found")
        except exception.NovaException as error:
            raise to_api_error(error, self.error_table)
        return 204, None, {}

    @tracing.traced("servers.Controller.show")
    def show(self, req, server_id):
        context = req.environ["nova.context"]
        with self.compute_api.db.transaction() as session:
            try:
                instance = db_api.instance_get(session, server_id, context.project_id)
            except exception.InstanceNotFound:
                raise ApiError(404, _contract_of(req).instance_not_found % {"id": server_id})
            body = _contract_of(req).show_view(req, session, instance, context, self.config)
        return 200, body, {}
