"""Icehouse's policy defaults for the create path, and the few rule forms they use."""

from collections.abc import Mapping

from refnova import exception
from refnova.context import RequestContext

DEFAULT_RULES = {
    "compute:create": "",
    "compute:create:attach_network": "",
    "compute:create:attach_volume": "",
    "compute:create:forced_host": "is_admin:True",
    # Today's (2.74): a server asked onto a host or node (Nova's REQUESTED_DESTINATION).
    "compute:servers:create:requested_destination": "is_admin:True",
    "compute_extension:disk_config": "",
    "compute_extension:security_groups": "",
    "compute_extension:keypairs": "",
    # refnova's own: the control API of behaviours on request.
    "refnova:behaviours": "is_admin:True",
}


class Enforcer:
    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        self.rules = {**DEFAULT_RULES, **(overrides or {})}

    def allows(self, context: RequestContext, action: str) -> bool:
        rule = self.rules.get(action, "")
        if rule == "":
            return True
        if rule == "!":
            return False
        if rule == "is_admin:True":
            return context.is_admin
        if rule.startswith("role:"):
            return rule[len("role:") :] in context.roles
        raise ValueError("unsupported policy rule %r for %s" % (rule, action))

    def enforce(self, context: RequestContext, action: str) -> None:
        if not self.allows(context, action):
            raise exception.PolicyNotAuthorized(action=action)
