"""oslo.messaging's Target: where a message goes (a client's), or what an endpoint serves."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Target:
    """The fields of ``oslo_messaging.Target`` that a cast uses.

    A client's target needs a topic; ``exchange`` (default: the transport's control exchange
    ``nova``) and ``server`` (the routing key becomes ``<topic>.<server>``, one server's own
    queue) route the message; ``namespace`` and ``version`` go into it. An endpoint's target
    says which namespace and which version (``1.0`` when unset) it implements. A server's
    target names the topic it consumes and, with ``server``, that server's own queue too.
    """

    exchange: str | None = None
    topic: str | None = None
    namespace: str | None = None
    version: str | None = None
    server: str | None = None

    def __call__(self, **changes: Any) -> Target:
        """A copy with these fields changed, as oslo's ``Target.__call__`` gives."""
        return dataclasses.replace(self, **changes)

    @property
    def routing_key(self) -> str:
        """The routing key (and queue name) a message to this target is published with."""
        if not self.topic:
            raise ValueError("a target to send to needs a topic: %r" % (self,))
        return "%s.%s" % (self.topic, self.server) if self.server else self.topic
