"""Volumes and snapshots, as the create path asks Cinder for them (the world's, in-process)."""

from collections.abc import Mapping
from typing import Any

from refnova import exception
from refnova.context import RequestContext

# Cinder's errors as Nova raised them, classes of this module.
VolumeNotFound = exception.define(
    "VolumeNotFound",
    exception.NotFound,
    "Volume %(volume_id)s could not be found.",
    __module__=__name__,
)
SnapshotNotFound = exception.define(
    "SnapshotNotFound",
    exception.NotFound,
    "Snapshot %(snapshot_id)s could not be found.",
    __module__=__name__,
)
InvalidVolume = exception.define(
    "InvalidVolume", exception.Invalid, "Invalid volume: %(reason)s", __module__=__name__
)


class WorldVolumes:
    def __init__(self, world: Mapping[str, Any]) -> None:
        self.volumes = {v["id"]: v for v in world.get("volumes", [])}
        self.snapshots = {s["id"]: s for s in world.get("snapshots", [])}

    def get(self, context: RequestContext, volume_id: object) -> dict[str, Any]:
        volume = self.volumes.get(volume_id) if isinstance(volume_id, str) else None
        if volume is None:
            raise VolumeNotFound(volume_id=volume_id)
        return volume

    def get_snapshot(self, context: RequestContext, snapshot_id: object) -> dict[str, Any]:
        snapshot = self.snapshots.get(snapshot_id) if isinstance(snapshot_id, str) else None
        if snapshot is None:
            raise SnapshotNotFound(snapshot_id=snapshot_id)
        return snapshot

    @staticmethod
    def check_attach(
        context: RequestContext, volume: Mapping[str, Any], availability_zone: str | None = None
    ) -> None:
        """Nova's check_attach: available, not attached, and in the instance's zone."""
        if volume.get("status") != "available":
            raise InvalidVolume(reason="status must be 'available'")
        if volume.get("attach_status") == "attached":
            raise InvalidVolume(reason="already attached")
        zone = volume.get("availability_zone")
        if availability_zone and zone and zone != availability_zone:
            raise InvalidVolume(reason="Instance and volume not in same availability_zone")
