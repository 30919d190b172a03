"""oslo.messaging's RPCDispatcher: the endpoint that serves a message, or why none does.

An endpoint serves a message when its ``target`` (a ``Target``) has the message's namespace
and a version compatible with the one the message asks for, and it has the method as a public
attribute whose signature takes the message's arguments.
"""

import inspect
from typing import Any

from refnova.messaging.target import Target


class NoSuchMethod(Exception):
    """A compatible endpoint exists, but none has the method (or the method is private)."""

    def __init__(self, method: object) -> None:
        super().__init__("Endpoint does not support RPC method %s" % method)


class InvalidArguments(Exception):
    """The method exists, but its signature does not take the message's arguments."""

    def __init__(self, method: object, reason: object) -> None:
        super().__init__("Invalid arguments for RPC method %s: %s" % (method, reason))


class UnsupportedVersion(Exception):
    """No endpoint of the message's namespace implements a compatible version."""

    def __init__(self, version: object, method: object) -> None:
        super().__init__(
            "Endpoint does not support RPC version %s. Attempted method: %s" % (version, method)
        )


DISPATCH_ERRORS = (NoSuchMethod, UnsupportedVersion, InvalidArguments)
# What an endpoint without a target implements, as in oslo: no namespace, version 1.0.
_DEFAULT_TARGET = Target()


def version_is_compatible(implemented: str, requested: str) -> bool:
    """oslo's rule: same major, requested minor not above, revision not above at equal minor."""
    imp = [int(part) for part in implemented.split(".")]
    req = [int(part) for part in requested.split(".")]
    imp += [0] * (3 - len(imp))
    req += [0] * (3 - len(req))
    if imp[0] != req[0] or req[1] > imp[1]:
        return False
    return not (req[1] == imp[1] and req[2] > imp[2])


class Dispatcher:
    """oslo's RPCDispatcher: namespace, compatible version, public method."""

    def __init__(self, endpoints: list[Any]) -> None:
        self.endpoints = endpoints
        # Each endpoint method's signature, worked out on its first message, not on each.
        self._signatures: dict[Any, inspect.Signature] = {}

    def dispatch(self, context: Any, message: dict[str, Any]) -> Any:
        """Call the endpoint method the message names; raise one of ``DISPATCH_ERRORS``
        when no endpoint serves it."""
        namespace = message.get("namespace")
        version = message.get("version") or "1.0"
        method = message.get("method")
        found_compatible = False
        for endpoint in self.endpoints:
            target = getattr(endpoint, "target", None) or _DEFAULT_TARGET
            if target.namespace != namespace or not version_is_compatible(
                target.version or "1.0", version
            ):
                continue
            found_compatible = True
            if isinstance(method, str) and not method.startswith("_") and hasattr(endpoint, method):
                function = getattr(endpoint, method)
                signature = self._signature(function)
                return _call(function, signature, method, context, message.get("args") or {})
        if found_compatible:
            raise NoSuchMethod(method)
        raise UnsupportedVersion(version, method)

    def _signature(self, function: Any) -> inspect.Signature:
        """``inspect.signature(function)``, kept per endpoint and function (a method replaced
        on its endpoint is a new key; the endpoints live as long as the dispatcher)."""
        key = (id(getattr(function, "__self__", None)), getattr(function, "__func__", function))
        signature = self._signatures.get(key)
        if signature is None:
            signature = self._signatures[key] = inspect.signature(function)
        return signature


def _call(function: Any, signature: inspect.Signature, method: str, context: Any, args: Any) -> Any:
    # The arguments are checked against the signature first, so that a TypeError raised
    # inside the method is the method's failure, not the message's.
    if not isinstance(args, dict):
        raise InvalidArguments(method, "args is not an object")
    try:
        signature.bind(context, **args)
    except TypeError as error:
        raise InvalidArguments(method, error)
    return function(context, **args)
