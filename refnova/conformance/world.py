"""The reference world (``fixtures/world.json``) as the fixtures see it.

A live target was not necessarily seeded from the reference world. A fixture that names one
of its objects literally (a queued image, a port in use, a disabled flavor...) only means
something on a target that was (``--reference-world``); this module finds those names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from refnova.conformance.fixtures import Fixture
from refnova.conformance.matcher import show
from refnova.world import load_world

# Where a fixture names an object of the reference world: (JSON path in the body, kind).
# "*" is every item of a list. The last '/' segment of refs (URLs) and the zone before ':'
# are what is looked up.
REFERENCE_FIELDS = (
    (("server", "imageRef"), "image"),
    (("server", "flavorRef"), "flavor"),
    (("server", "networks", "*", "uuid"), "network"),
    (("server", "networks", "*", "port"), "port"),
    (("server", "security_groups", "*", "name"), "security group"),
    (("server", "key_name"), "key pair"),
    (("server", "availability_zone"), "availability zone"),
    (("server", "block_device_mapping", "*", "volume_id"), "volume"),
    (("server", "block_device_mapping", "*", "snapshot_id"), "snapshot"),
    (("server", "block_device_mapping_v2", "*", "uuid"), "image"),
    (("server", "block_device_mapping_v2", "*", "uuid"), "volume"),
    (("os:scheduler_hints", "group"), "server group"),
    (("server", "scheduler_hints", "group"), "server group"),
)
# Names every Icehouse deployment has: not the reference world's own.
COMMON_NAMES = {"security group": {"default"}, "availability zone": {"nova"}}


def load_reference_world(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """world.json merged with ``overrides`` (refnova.world.load_world)."""
    world: dict[str, Any] = load_world(dict(overrides) if overrides is not None else None)
    return world


def reference_objects(world: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """kind -> {id or name: description} for the objects of the reference world that a
    fixture may name literally (the placeholders' own objects excluded)."""
    defaults = set((world.get("defaults") or {}).values())
    objects: dict[str, dict[str, str]] = {}
    for kind, key, text in _world_objects(world):
        if key is None or str(key) in defaults or str(key) in COMMON_NAMES.get(kind, ()):
            continue
        objects.setdefault(kind, {})[str(key)] = text
    return objects


def _world_objects(world: Mapping[str, Any]) -> Iterator[tuple[str, Any, str]]:
    """(kind, id or name, description) of every object of the world, in file order."""
    for image in world.get("images", []):
        yield (
            "image",
            image["id"],
            (
                f"image {image['id']} ({image.get('name')}, "
                f"{image.get('status')}, "
                f"{image.get('visibility', 'public')})"
            ),
        )
    for flavor in world.get("flavors", []):
        yield "flavor", flavor["flavorid"], f"flavor {flavor['flavorid']} ({flavor['name']})"
    for network in world.get("networks", []):
        yield "network", network["id"], f"network {network['id']} ({network.get('name')})"
    for port in world.get("ports", []):
        state = "in use" if port.get("device_id") else "free"
        yield "port", port["id"], f"port {port['id']} ({state})"
    for group in world.get("security_groups", []):
        yield "security group", group["name"], f"security group {group['name']!r}"
    for keypair in world.get("keypairs", []):
        yield (
            "key pair",
            keypair["name"],
            (f"key pair {keypair['name']!r} of user {keypair['user_id']}"),
        )
    for zone in sorted(_zones(world)):
        yield "availability zone", zone, f"availability zone {zone!r}"
    for volume in world.get("volumes", []):
        yield "volume", volume["id"], f"volume {volume['id']}"
    for snapshot in world.get("snapshots", []):
        yield "snapshot", snapshot["id"], f"snapshot {snapshot['id']}"
    for group in world.get("server_groups", []):
        yield "server group", group["uuid"], f"server group {group['uuid']}"


def _zones(world: Mapping[str, Any]) -> set[str]:
    hosts = world.get("hosts", [])
    return set(world.get("availability_zones", [])) | {
        host.get("availability_zone", "nova") for host in hosts
    }


def world_references(fixture: Fixture, world: Mapping[str, Any]) -> list[str]:
    """The objects of the reference world that the fixture's request names, described."""
    body = fixture.request.get("body")
    if not isinstance(body, dict):
        return []
    objects = reference_objects(world)
    found: list[str] = []
    for path, kind in REFERENCE_FIELDS:
        for value in _values_at(body, path):
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                continue
            described = objects.get(kind, {}).get(_lookup_key(kind, str(value)))
            if described and described not in found:
                found.append(described)
    return found


def _lookup_key(kind: str, text: str) -> str:
    if kind == "availability zone":
        return text.split(":")[0]  # "zone:host:node"
    return text.rstrip("/").split("/")[-1]  # a ref may be a URL


def _values_at(value: Any, path: Sequence[str]) -> list[Any]:
    if not path:
        return [value]
    head, rest = path[0], path[1:]
    if head == "*":
        if not isinstance(value, list):
            return []
        return [found for item in value for found in _values_at(item, rest)]
    if isinstance(value, dict) and head in value:
        return _values_at(value[head], rest)
    return []


def world_change_lines(changes: Mapping[str, Any], prefix: str = "") -> list[str]:
    """A fixture's world overrides, one ``path = value`` per leaf, for skip reasons."""
    lines = []
    for key, value in changes.items():
        if isinstance(value, dict) and value:
            lines += world_change_lines(value, f"{prefix}{key}.")
        elif isinstance(value, list):
            lines.append(f"{prefix}{key} replaced by a list of {len(value)}")
        else:
            lines.append(f"{prefix}{key} = {show(value, 60)}")
    return lines
