"""conductor.api.ComputeTaskAPI: what compute.api calls; it hands the build to the RPC client."""

from collections.abc import Mapping, Sequence
from typing import Any

from refnova import messaging, tracing
from refnova.behaviours import Applied
from refnova.conductor import rpcapi
from refnova.context import RequestContext


class ComputeTaskAPI:
    def __init__(self, transport: messaging.Transport) -> None:
        self.conductor_compute_rpcapi = rpcapi.ComputeTaskAPI(transport)

    @tracing.traced("conductor.api.ComputeTaskAPI.build_instances")
    def build_instances(
        self,
        context: RequestContext,
        instances: Sequence[Mapping[str, Any]],
        image: Mapping[str, Any],
        filter_properties: Mapping[str, Any],
        admin_password: str | None,
        injected_files: Sequence[Sequence[Any]],
        requested_networks: Sequence[Sequence[Any]] | None,
        security_groups: Sequence[str],
        block_device_mapping: Sequence[Mapping[str, Any]],
        legacy_bdm: bool = True,
        behaviour: Applied | None = None,
    ) -> None:
        """``behaviour``: the one the compute API chose for the request (the cast acts on
        ``lost-cast`` and ``duplicate-cast``)."""
        self.conductor_compute_rpcapi.build_instances(
            context,
            instances=instances,
            image=image,
            filter_properties=filter_properties,
            admin_password=admin_password,
            injected_files=injected_files,
            requested_networks=requested_networks,
            security_groups=security_groups,
            block_device_mapping=block_device_mapping,
            legacy_bdm=legacy_bdm,
            behaviour=behaviour,
        )
