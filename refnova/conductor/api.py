"""conductor.api.ComputeTaskAPI: what compute.api calls; it hands the build to the RPC client."""

from refnova import tracing
from refnova.conductor import rpcapi


class ComputeTaskAPI:
    def __init__(self, transport):
        self.conductor_compute_rpcapi = rpcapi.ComputeTaskAPI(transport)

    @tracing.traced("conductor.api.ComputeTaskAPI.build_instances")
    def build_instances(
        self,
        context,
        instances,
        image,
        filter_properties,
        admin_password,
        injected_files,
        requested_networks,
        security_groups,
        block_device_mapping,
        legacy_bdm=True,
    ):
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
        )
