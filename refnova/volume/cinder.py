"""Volumes and snapshots, as the create path asks Cinder for them (the world's, in-process)."""

from refnova import exception

VolumeNotFound = type(
    "VolumeNotFound", (exception.NotFound,), {"msg_fmt": "Volume %(volume_id)s could not be found."}
)
SnapshotNotFound = type(
    "SnapshotNotFound",
    (exception.NotFound,),
    {"msg_fmt": "Snapshot %(snapshot_id)s could not be found."},
)
InvalidVolume = type(
    "InvalidVolume", (exception.Invalid,), {"msg_fmt": "Invalid volume: %(reason)s"}
)


class WorldVolumes:
    def __init__(self, world):
        self.volumes = {v["id"]: v for v in world.get("volumes", [])}
        self.snapshots = {s["id"]: s for s in world.get("snapshots", [])}

    def get(self, context, volume_id):
        volume = self.volumes.get(volume_id) if isinstance(volume_id, str) else None
        if volume is None:
            raise VolumeNotFound(volume_id=volume_id)
        return volume

    def get_snapshot(self, context, snapshot_id):
        snapshot = self.snapshots.get(snapshot_id) if isinstance(snapshot_id, str) else None
        if snapshot is None:
            raise SnapshotNotFound(snapshot_id=snapshot_id)
        return snapshot

    @staticmethod
    def check_attach(context, volume, availability_zone=None):
        """Nova's check_attach: available, not attached, and in the instance's zone."""
        if volume.get("status") != "available":
            raise InvalidVolume(reason="status must be 'available'")
        if volume.get("attach_status") == "attached":
            raise InvalidVolume(reason="already attached")
        zone = volume.get("availability_zone")
        if availability_zone and zone and zone != availability_zone:
            raise InvalidVolume(reason="Instance and volume not in same availability_zone")
