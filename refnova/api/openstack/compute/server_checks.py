"""The create request's field checks, shared by both API contracts.

Each check reads one part of the request's ``server`` object (and, for a few, the whole
body) and returns the value ``compute.api.API.create`` takes for it, or raises. A contract
lists the checks it runs, in its Nova's order (``contracts.V2_STEPS``, ``V21_STEPS``).

Most checks serve both contracts: on /v2.1 the JSON-Schema has already settled the types
that the Icehouse checks test, so they pass there unchanged. Where the two Novas really
differ, a check is marked as one contract's: ``icehouse_*`` (/v2, Nova 2014.1) or
``today_*`` (/v2.1, Nova 34.0.0).
"""

from __future__ import annotations

import binascii
import functools
import re
import urllib.parse
from collections.abc import Callable
from typing import Any, NamedTuple

from refnova import block_device, exception, utils
from refnova.api import validation
from refnova.api.openstack import microversions
from refnova.api.openstack.compute.schemas import create_versions
from refnova.api.openstack.microversions import APIVersion
from refnova.exception import ApiError

Server = dict[str, Any]
Check = Callable[[Server, Any, Any], Any]  # (server, body, config) -> value


class Step(NamedTuple):
    """One check of a contract's create: the value it yields (None: it only checks), and
    the microversions it applies at (None: every version of the contract)."""

    name: str | None
    check: Check
    versions: microversions.VersionRange | None = None

    def applies_at(self, version: Any) -> bool:
        return (
            self.versions is None
            or version is None
            or self.versions.minimum <= version <= self.versions.maximum
        )


# Where Icehouse crashed with a 500 on these inputs, refnova answers 400 with this text.
CRASH_MESSAGES = {
    "security_groups": "Bad security_groups format: each entry must be an object",
    "networks": "Bad networks format: each entry must be an object with a string uuid or a port",
    "block_device_mapping": "Bad block_device_mapping format: each entry must be an object",
    "block_device_mapping_v2": "Bad block_device_mapping_v2 format: each entry must be an object",
}
MIXED_BDM_SYNTAXES = (
    "Using different block_device_mapping syntaxes is not allowed in the same request."
)


def bad_request(message: str | None = None) -> ApiError:
    return ApiError(400, message)


# utils.is_uuid_like and utils.decode_base64 give the same answers, several times slower
# (a UUID object round trip; a regex over the whole text): the create path checks every
# request's imageRef, networks and up to 64 KiB of user_data with these two.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_canonical_uuid(value: Any) -> bool:
    """A canonical (lower-case, hyphenated) UUID string, as utils.is_uuid_like tests it."""
    return isinstance(value, str) and _CANONICAL_UUID.fullmatch(value) is not None


def is_strict_base64(data: str) -> bool:
    """Strict base64 once whitespace is dropped, as utils.decode_base64 tests it."""
    data = "".join(data.split())
    if len(data) % 4 or "=" in data[:-2]:
        return False
    try:
        binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError):
        return False
    return True


def is_uuid_like(value: Any) -> bool:
    """oslo.utils' lenient test, the one today's Nova applies to network uuids."""
    return isinstance(value, str) and validation.FORMAT_CHECKER.conforms(value, "uuid")


def read(key: str) -> Check:
    """A check that takes a field as it is given (or None)."""
    return lambda server, body, config: server.get(key)


# --- checks of both contracts --------------------------------------------------------------


def admin_password(server: Server, body: Any, config: Any) -> str | None:
    """C2: a given adminPass must be a string; None when none is given (the controller
    draws one once every check has passed: ``generated_admin_password``)."""
    if "adminPass" not in server:
        return None
    if not isinstance(server["adminPass"], str):
        raise bad_request("Invalid adminPass")
    return server["adminPass"]


def generated_admin_password(given: str | None, config: Any) -> str:
    """The given adminPass, else one drawn from the system's random source. Nova draws it
    before its other checks; drawing it after them answers the same (the draw cannot fail,
    and nothing it draws is seen unless the create is accepted) without spending the system's
    random source on a create that is refused."""
    return given if given is not None else utils.generate_password(config.password_length)


def security_group_names(server: Server, body: Any, config: Any) -> list[str]:
    """C9: the names of the entries that have one, de-duplicated; 'default' if none."""
    groups = server.get("security_groups")
    names = []
    if groups is not None:
        if not isinstance(groups, (list, dict, str)):
            raise bad_request()
        if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
            raise bad_request(CRASH_MESSAGES["security_groups"])
        names = [g["name"] for g in groups if g.get("name")]
    if any(isinstance(n, (list, dict)) for n in names):
        raise bad_request()
    return list(dict.fromkeys(names)) or ["default"]


def injected_files(
    server: Server, body: Any, config: Any, check_contents: Callable[[Any, Any], None] | None = None
) -> list[tuple[Any, Any]]:
    """C8: personality items as (path, contents) pairs; contents stay encoded. An item
    without both keys crashed Nova (KeyError, a 500) on both contracts; refnova answers 400."""
    personality = server.get("personality")
    if not personality:
        return []
    if not isinstance(personality, (list, dict, str)):
        raise bad_request()
    files = []
    for item in personality:
        if not isinstance(item, dict):
            raise bad_request("Bad personality format")
        for key in ("path", "contents"):
            if key not in item:
                raise bad_request("Bad personality format: missing '%s'" % key)
        if check_contents is not None:
            check_contents(item["path"], item["contents"])
        files.append((item["path"], item["contents"]))
    return files


def flavor_id(server: Server, body: Any, config: Any) -> str:
    """C13: the last path segment of flavorRef (an id, an integer or a URL)."""
    if "flavorRef" not in server:
        raise bad_request("Missing flavorRef attribute")
    try:
        return urllib.parse.urlsplit(utils.py2_str(server["flavorRef"])).path.split("/")[-1]
    except ValueError:
        raise bad_request("Invalid flavorRef provided.")


def one_bdm_syntax(server: Server, body: Any, config: Any) -> None:
    """C18a: legacy and v2 block device mappings are not mixed in one request."""
    if server.get("block_device_mapping") and server.get("block_device_mapping_v2"):
        raise bad_request(MIXED_BDM_SYNTAXES)


def boots_from_volume(server: Server) -> bool:
    """No imageRef, but block device mappings: the image comes from the root volume."""
    return not server.get("imageRef") and bool(
        server.get("block_device_mapping") or server.get("block_device_mapping_v2")
    )


def _normalize_delete_on_termination(bdm: dict[str, Any]) -> None:
    if "delete_on_termination" in bdm:
        bdm["delete_on_termination"] = utils.bool_from_string(bdm["delete_on_termination"])


# --- /v2 (Icehouse) only ------------------------------------------------------------------------


def icehouse_server_from_body(body: Any, version: APIVersion | None = None) -> Server:
    """C1: the body must be an object with a ``server`` object (else Icehouse's 422)."""
    if not (
        body and isinstance(body, dict) and "server" in body and isinstance(body["server"], dict)
    ):
        raise ApiError(422)
    return body["server"]


def icehouse_display_name(server: Server, body: Any, config: Any) -> str:
    """C3-C6: the name is required, a string, 1 to 255 characters once stripped."""
    if "name" not in server:
        raise bad_request("Server name is not defined")
    name = server["name"]
    if not isinstance(name, str):
        raise bad_request("Server name is not a string or unicode")
    name = name.strip()
    if len(name) < 1:
        raise bad_request("Server name has a minimum character requirement of 1.")
    if len(name) > 255:
        raise bad_request("Server name has more than 255 characters.")
    return name


def icehouse_image_uuid(server: Server, body: Any, config: Any) -> str:
    """C7: the last path segment of imageRef, a canonical UUID; '' to boot from a volume."""
    if boots_from_volume(server):
        return ""
    if "imageRef" not in server:
        raise bad_request("Missing imageRef attribute")
    candidate = utils.py2_str(server["imageRef"]).split("/")[-1]
    if not is_canonical_uuid(candidate):
        raise bad_request("Invalid imageRef provided.")
    return candidate


def _strict_base64_contents(path: Any, contents: Any) -> None:
    if not isinstance(contents, str):
        raise bad_request()
    if not is_strict_base64(contents):
        raise bad_request("Personality content for %s cannot be decoded" % utils.py2_str(path))


def icehouse_injected_files(server: Server, body: Any, config: Any) -> list[tuple[Any, Any]]:
    """C8: and each item's contents strict base64 text."""
    return injected_files(server, body, config, _strict_base64_contents)


def icehouse_requested_networks(server: Server, body: Any, config: Any) -> list | None:
    """C10: (network uuid, fixed ip, port) triples, as with Neutron."""
    networks = server.get("networks")
    if networks is None:
        return None
    if not isinstance(networks, list):
        raise bad_request("Bad networks format")
    return [_icehouse_requested_network(network) for network in networks]


def _icehouse_requested_network(network: Any) -> tuple[Any, Any, Any]:
    if not isinstance(network, dict):
        raise bad_request(CRASH_MESSAGES["networks"])
    port_id = network.get("port")
    network_uuid = None
    if port_id:
        if not is_canonical_uuid(port_id):
            raise bad_request(
                "Bad port format: port uuid is not in proper format (%s)" % utils.py2_str(port_id)
            )
    else:
        if "uuid" not in network:
            raise bad_request("Bad network format: missing 'uuid'")
        network_uuid = network["uuid"]
        if not is_canonical_uuid(network_uuid):
            if not isinstance(network_uuid, str):
                raise bad_request(CRASH_MESSAGES["networks"])
            # Nova-network bridge names ("br-<uuid>") pass too.
            if not is_canonical_uuid(network_uuid.split("-", 1)[-1]):
                raise bad_request(
                    "Bad networks format: network uuid is not in proper format (%s)" % network_uuid
                )
    address = network.get("fixed_ip")
    if address is not None and not utils.is_valid_ip_address(address):
        raise bad_request("Invalid fixed IP address (%s)" % utils.py2_str(address))
    return (network_uuid, address, port_id)


def icehouse_access_ip_v4(server: Server, body: Any, config: Any) -> Any:
    """C11."""
    address = server.get("accessIPv4")
    if address is not None and not utils.is_valid_ipv4(address):
        raise bad_request("accessIPv4 is not proper IPv4 format")
    return address


def icehouse_access_ip_v6(server: Server, body: Any, config: Any) -> Any:
    """C12."""
    address = server.get("accessIPv6")
    if address is not None and not utils.is_valid_ipv6(address):
        raise bad_request("accessIPv6 is not proper IPv6 format")
    return address


def icehouse_user_data(server: Server, body: Any, config: Any) -> Any:
    """C15: truthy user_data must be strict base64 text; an empty list or object, which
    Icehouse passed on to the database (a crash), is C15b's 400 too."""
    data = server.get("user_data")
    if data or isinstance(data, (list, dict)):
        if not isinstance(data, str):
            raise bad_request()
        if not is_strict_base64(data):
            raise bad_request("Userdata content cannot be decoded")
    return data


def _mappings_of(server: Server, field: str) -> list[dict[str, Any]]:
    """The entries of a BDM field: a list of objects (else the 400 where Icehouse crashed)."""
    value = server.get(field, [])
    if isinstance(value, (str, dict)) or (
        isinstance(value, list) and not all(isinstance(item, dict) for item in value)
    ):
        raise bad_request(CRASH_MESSAGES[field])
    if not isinstance(value, list):
        raise bad_request()
    return value


def icehouse_legacy_block_device_mapping(server: Server, body: Any, config: Any) -> list:
    """C17: legacy entries: device_name, volume_size, and a lenient delete_on_termination."""
    mappings = _mappings_of(server, "block_device_mapping")
    for bdm in mappings:
        block_device.validate_device_name(bdm.get("device_name"))
        block_device.validate_and_default_volume_size(bdm)
        _normalize_delete_on_termination(bdm)
    return mappings


def icehouse_block_device_mapping_v2(server: Server, body: Any, config: Any) -> list:
    """C18: v2 entries through BlockDeviceDict.from_api, Icehouse's rules."""
    return [
        block_device.from_api(entry) for entry in _mappings_of(server, "block_device_mapping_v2")
    ]


def icehouse_instance_counts(server: Server, body: Any, config: Any) -> tuple[int, int]:
    """C19: min_count and max_count, integers >= 1 and in order."""
    min_count = server.get("min_count", 1)
    max_count = server.get("max_count", min_count)
    try:
        min_count = utils.validate_integer(min_count, "min_count", min_value=1)
        max_count = utils.validate_integer(max_count, "max_count", min_value=1)
    except exception.InvalidInput as error:
        raise bad_request(error.format_message())
    if min_count > max_count:
        raise bad_request("min_count must be <= max_count")
    return min_count, max_count


# --- /v2.1 (today's Nova) only -------------------------------------------------------------------


@functools.cache
def _create_validator(range_start: str) -> validation.SchemaValidator:
    """A range's create schema validator, built on first use (with the regexes it needs)."""
    return validation.SchemaValidator(create_versions.schemas()[range_start])


def today_server_from_body(body: Any, version: APIVersion | None = None) -> Server:
    """The JSON-Schema of the request's version checks the whole body; the ``server``
    object once it passes."""
    _create_validator(create_versions.range_start(version)).validate(body)
    return body["server"]


def today_display_name(server: Server, body: Any, config: Any) -> str:
    """Nova's normalize_name: stripped (the 2.1 schema already forbids outer whitespace)."""
    return server["name"].strip()


def today_scheduler_hints(server: Server, body: Any, config: Any) -> Any:
    """The top-level ``os:scheduler_hints`` (first) or ``OS-SCH-HNT:scheduler_hints``."""
    for attribute in ("os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"):
        if attribute in body:
            return body[attribute]
    return {}


def today_instance_counts(server: Server, body: Any, config: Any) -> tuple[int, int]:
    min_count = int(server.get("min_count", 1))
    max_count = int(server.get("max_count", min_count))
    if min_count > max_count:
        raise bad_request("min_count must be <= max_count")
    return min_count, max_count


def today_auto_disk_config(server: Server, body: Any, config: Any) -> bool | None:
    value = server.get("OS-DCF:diskConfig")
    return None if value is None else value == "AUTO"


def today_legacy_block_device_mapping(server: Server, body: Any, config: Any) -> list:
    mappings = server.get("block_device_mapping", [])
    for bdm in mappings:
        _normalize_delete_on_termination(bdm)
    return mappings


def today_block_device_mapping_v2(server: Server, body: Any, config: Any) -> list:
    """BlockDeviceDict.from_api with today's rules; the legacy list wins when both are
    given (the mix is rejected before)."""
    if server.get("block_device_mapping"):
        return []
    image_given = server.get("imageRef") not in (None, "")
    return [
        block_device.from_api(entry, image_uuid_specified=image_given)
        for entry in server.get("block_device_mapping_v2", [])
    ]


def today_image_uuid(server: Server, body: Any, config: Any) -> str:
    """imageRef as given (the schema made it a UUID or ""); "" only to boot from a volume."""
    if boots_from_volume(server):
        return ""
    if server.get("imageRef"):
        return server["imageRef"]
    raise bad_request("Missing imageRef attribute")


def today_requested_networks(server: Server, body: Any, config: Any) -> list | None:
    """(network uuid, fixed ip, port) triples; a port is given once, and without a fixed IP."""
    networks = server.get("networks")
    if networks is None:
        return None
    if isinstance(networks, str):  # 2.37's "auto" or "none", as Nova's NetworkRequest id
        return [(networks, None, None)]
    requested: list[tuple[Any, Any, Any]] = []
    ports: list[Any] = []
    for network in networks:
        address, port_id = network.get("fixed_ip"), network.get("port")
        if port_id:
            _check_port_request(port_id, address, ports)
            ports.append(port_id)
            requested.append((None, address, port_id))
            continue
        if "uuid" not in network:
            raise bad_request("Bad network format: missing 'uuid'")
        if not is_uuid_like(network["uuid"]):
            raise bad_request(
                "Bad networks format: network uuid is not in proper format (%s)" % network["uuid"]
            )
        requested.append((network["uuid"], address, port_id))
    return requested


def _check_port_request(port_id: Any, address: Any, ports: list[Any]) -> None:
    if port_id in ports:
        raise bad_request(
            "Port ID '%s' was specified twice: you cannot attach a port multiple times." % port_id
        )
    if address is not None:
        raise bad_request(
            "Specified Fixed IP '%s' cannot be used with port '%s': the "
            "two cannot be specified together." % (address, port_id)
        )
