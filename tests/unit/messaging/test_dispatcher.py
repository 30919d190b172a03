"""The dispatcher on its own: which endpoint serves a message, and why none does."""

import pytest

from refnova.messaging import InvalidArguments, NoSuchMethod, Target, UnsupportedVersion
from refnova.messaging.dispatcher import Dispatcher, version_is_compatible


class Conductor:
    target = Target(namespace="compute_task", version="1.6")

    def __init__(self):
        self.calls = []

    def build_instances(self, context, instances, legacy_bdm=True):
        self.calls.append((context, instances, legacy_bdm))
        return "built %d" % len(instances)

    def broken(self, context):
        raise TypeError("a bug inside the method")


class BaseAPI:
    """A second endpoint on the same server, in another namespace (as Nova's baseapi)."""

    target = Target(namespace="baseapi", version="1.1")

    def ping(self, context, arg):
        return ("pong", arg)


class Untargeted:
    """No target at all: oslo's default, no namespace and version 1.0."""

    def hello(self, context):
        return "hello"


def message(method="build_instances", version="1.5", namespace="compute_task", **args):
    found = {"method": method, "args": args or {"instances": [{"uuid": "u-1"}]}}
    if version is not None:
        found["version"] = version
    if namespace is not None:
        found["namespace"] = namespace
    return found


@pytest.fixture
def conductor():
    return Conductor()


@pytest.fixture
def dispatcher(conductor):
    return Dispatcher([conductor, BaseAPI(), Untargeted()])


def test_the_method_is_called_with_the_context_and_the_arguments(dispatcher, conductor):
    result = dispatcher.dispatch(
        "ctx", message(instances=[{"uuid": "a"}, {"uuid": "b"}], legacy_bdm=False)
    )
    assert result == "built 2"
    assert conductor.calls == [("ctx", [{"uuid": "a"}, {"uuid": "b"}], False)]


def test_the_namespace_chooses_the_endpoint(dispatcher, conductor):
    assert dispatcher.dispatch("ctx", message("ping", "1.1", "baseapi", arg=7)) == ("pong", 7)
    assert dispatcher.dispatch("ctx", {"method": "hello"}) == "hello"
    assert conductor.calls == []


def test_a_message_without_a_version_asks_for_1_0(dispatcher, conductor):
    dispatcher.dispatch("ctx", message(version=None))
    assert len(conductor.calls) == 1


@pytest.mark.parametrize("method", ["no_such_method", "_private", "__init__", None, 42])
def test_a_compatible_endpoint_without_the_method_is_no_such_method(dispatcher, conductor, method):
    with pytest.raises(NoSuchMethod) as raised:
        dispatcher.dispatch("ctx", message(method))
    assert str(raised.value) == "Endpoint does not support RPC method %s" % method
    assert conductor.calls == []


@pytest.mark.parametrize(
    "version,namespace",
    [
        ("1.7", "compute_task"),  # a minor above the implemented one
        ("2.0", "compute_task"),  # another major
        ("0.9", "compute_task"),
        ("1.6.1", "compute_task"),  # a revision above, at the same minor
        ("1.5", "conductor"),  # a namespace no endpoint has
        ("1.5", None),  # no namespace: only the untargeted endpoint, at 1.0
    ],
)
def test_no_endpoint_of_the_namespace_at_a_compatible_version_is_unsupported_version(
    dispatcher, conductor, version, namespace
):
    with pytest.raises(UnsupportedVersion) as raised:
        dispatcher.dispatch("ctx", message(version=version, namespace=namespace))
    assert str(raised.value) == (
        "Endpoint does not support RPC version %s. Attempted method: build_instances" % version
    )
    assert conductor.calls == []


@pytest.mark.parametrize(
    "args,reason",
    [
        ({}, "missing a required argument: 'instances'"),
        ({"instances": [], "flavor": {}}, "got an unexpected keyword argument 'flavor'"),
        (["instances"], "args is not an object"),
    ],
)
def test_arguments_the_signature_does_not_take_are_invalid_arguments(
    dispatcher, conductor, args, reason
):
    with pytest.raises(InvalidArguments) as raised:
        dispatcher.dispatch("ctx", message() | {"args": args})
    assert str(raised.value) == "Invalid arguments for RPC method build_instances: " + reason
    assert conductor.calls == []


def test_a_type_error_inside_the_method_is_the_method_s_own(dispatcher):
    with pytest.raises(TypeError, match="a bug inside the method"):
        dispatcher.dispatch("ctx", message("broken") | {"args": {}})


@pytest.mark.parametrize(
    "implemented,requested,compatible",
    [
        ("1.6", "1.0", True),
        ("1.6", "1.6", True),
        ("1.6", "1.7", False),
        ("1.6", "2.0", False),
        ("2.0", "1.6", False),
        ("1.6.2", "1.6.1", True),
        ("1.6.1", "1.6.2", False),
        ("1.6", "1.5.9", True),
        ("3.0", "3", True),
    ],
)
def test_version_is_compatible_is_oslo_s_rule(implemented, requested, compatible):
    assert version_is_compatible(implemented, requested) is compatible
