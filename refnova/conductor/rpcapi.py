"""conductor.rpcapi.ComputeTaskAPI: the client side of the conductor's compute_task RPC API.

Version history (as Nova's): 1.2 build_instances, 1.5 legacy_bdm added to it.

The cast is where ``lost-cast`` and ``duplicate-cast`` act (``refnova/conductor/behaviours.py``):
a lost cast is never published; a duplicated one is cast twice, two messages of their own
(distinct ``_unique_id``, so no consumer-side duplicate cache could hide the second), and the
conductor's build, idempotent, builds once.
"""

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from refnova import messaging, tracing
from refnova.behaviours import Applied
from refnova.conductor import behaviours as hops
from refnova.context import RequestContext

LOG = logging.getLogger(__name__)

TOPIC = "conductor"
NAMESPACE = "compute_task"
INSTANCE_OBJECT_VERSION = "1.13"


def _isotime(value: Any) -> Any:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(value, "strftime") else value


def instance_primitive(instance: Mapping[str, Any]) -> dict[str, Any]:
    """An Instance as NovaObjectSerializer puts it on the wire."""
    data = {key: _isotime(value) for key, value in instance.items()}
    return {
        "nova_object.name": "Instance",
        "nova_object.namespace": "nova",
        "nova_object.version": INSTANCE_OBJECT_VERSION,
        "nova_object.data": data,
        "nova_object.changes": sorted(data),
    }


class ComputeTaskAPI:
    def __init__(self, transport: messaging.Transport) -> None:
        target = messaging.Target(topic=TOPIC, namespace=NAMESPACE, version="1.0")
        self.client = messaging.RPCClient(transport, target)

    @tracing.traced("conductor.rpcapi.ComputeTaskAPI.build_instances")
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
    ) -> list[str]:
        """Cast build_instances to a conductor; the ids of the messages published (one, unless
        a cast behaviour acts)."""
        cctxt = self.client.prepare(version="1.5")
        copies = hops.cast_copies(behaviour)
        if copies != 1 and behaviour is not None:
            hops.annotate(tracing.current_span(), behaviour)
            LOG.info("Cast build_instances published %d time(s) (%s)", copies, behaviour.name)
        arguments = {
            "instances": [instance_primitive(i) for i in instances],
            "image": messaging.to_primitive(image),
            "filter_properties": filter_properties,
            "admin_password": admin_password,
            "injected_files": injected_files,
            "requested_networks": requested_networks,
            "security_groups": security_groups,
            "block_device_mapping": block_device_mapping,
            "legacy_bdm": legacy_bdm,
        }
        return [cctxt.cast(context, "build_instances", **arguments) for _ in range(copies)]
