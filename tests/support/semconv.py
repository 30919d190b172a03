"""OpenTelemetry's attribute registry as the pinned ``opentelemetry-semantic-conventions``
package has it, and a check of finished spans against it.

The package is read, not imported name by name: every module of its stable
``opentelemetry.semconv.attributes`` and its ``_incubating.attributes`` packages is parsed,
each ``NAME: Final = "attribute.name"`` with the docstring under it. An attribute is
deprecated where its docstring says ``Deprecated: ...`` (the incubating copy of a stable
attribute says "Deprecated in favor of stable ...": that is the constant's move, not the
attribute's) or where its enum is decorated ``@deprecated("The attribute ... is
deprecated ...")``. An enum class ``<CamelCaseName>Values`` gives an attribute's well-known
values.

The package carries no value types; ``TYPES`` is the registry's type of each convention
attribute refnova writes, and a convention attribute missing from it fails the check, so
a new one is typed when it is first written.
"""

import ast
import functools
import importlib
import inspect
import pkgutil
import re

STABLE = "opentelemetry.semconv.attributes"
INCUBATING = "opentelemetry.semconv._incubating.attributes"
OWN_PREFIXES = ("nova.", "refnova.")
_DEPRECATED_ENUM = re.compile(r"^The attribute (\S+) is deprecated")

# The registry's type of every convention attribute refnova writes.
TYPES = {
    **dict.fromkeys(
        (
            "client.address",
            "code.function.name",
            "db.collection.name",
            "db.namespace",
            "db.operation.name",
            "db.query.summary",
            "db.query.text",
            "db.system.name",
            "error.type",
            "http.request.method",
            "http.route",
            "messaging.destination.name",
            "messaging.message.id",
            "messaging.operation.name",
            "messaging.operation.type",
            "messaging.rabbitmq.destination.routing_key",
            "messaging.system",
            "network.protocol.name",
            "network.protocol.version",
            "server.address",
            "service.peer.name",
            "url.full",
            "url.path",
            "url.query",
            "url.scheme",
            "url.template",
            "user_agent.original",
        ),
        str,
    ),
    **dict.fromkeys(
        (
            "client.port",
            "db.operation.batch.size",
            "http.response.status_code",
            "messaging.rabbitmq.message.delivery_tag",
            "server.port",
        ),
        int,
    ),
}
# Values outside an enum's well-known ones that refnova writes on purpose (the conventions'
# custom-value rule): kombu's in-process memory:// transport is no RabbitMQ.
CUSTOM_VALUES = {"messaging.system": {"kombu_memory"}}

# What each kind of span must carry (OpenTelemetry's required attributes, and those
# conditionally required that refnova always knows).
HTTP_SERVER = ("http.request.method", "url.path", "url.scheme", "server.address")
HTTP_CLIENT = ("http.request.method", "url.full", "server.address", "server.port")
DATABASE = ("db.system.name",)
MESSAGING = (
    "messaging.system",
    "messaging.operation.type",
    "messaging.operation.name",
    "messaging.destination.name",
)


class Registry:
    """Attribute names known, deprecated, and the well-known values of enum attributes."""

    def __init__(self):
        self.known = set()
        self.deprecated = {}  # name -> the deprecation note
        self.enums = {}  # name -> set of well-known values

    def add_module(self, module):
        tree = ast.parse(inspect.getsource(module))
        constants = {}
        body = tree.body
        for index, node in enumerate(body):
            name, value = _constant(node)
            if name is not None:
                constants[name] = value
                self.known.add(value)
                note = _docstring_after(body, index)
                if note.startswith("Deprecated") and "in favor of stable" not in note:
                    self.deprecated[value] = note.splitlines()[0]
            elif isinstance(node, ast.ClassDef) and node.name.endswith("Values"):
                self._add_enum(module, node, constants)

    def _add_enum(self, module, node, constants):
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and decorator.args:
                found = _DEPRECATED_ENUM.match(str(getattr(decorator.args[0], "value", "")))
                if found:
                    self.deprecated.setdefault(found.group(1), "deprecated enum")
        attribute = constants.get(_constant_name(node.name[: -len("Values")]))
        if attribute is not None:
            values = {member.value for member in getattr(module, node.name)}
            self.enums.setdefault(attribute, set()).update(values)


def _constant(node):
    """(constant name, attribute name) of ``NAME: Final = "a.b"``, else (None, None)."""
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        value = node.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return node.target.id, value.value
    return None, None


def _docstring_after(body, index):
    following = body[index + 1] if index + 1 < len(body) else None
    if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
        return str(following.value.value).strip()
    return ""


def _constant_name(camel):
    """``MessagingSystem`` -> ``MESSAGING_SYSTEM``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).upper()


@functools.cache
def registry():
    """The pinned package's registry (read once)."""
    found = Registry()
    for package_name in (STABLE, INCUBATING):
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            found.add_module(importlib.import_module("%s.%s" % (package_name, info.name)))
    return found


def span_problems(record):
    """What is wrong with one span record against the registry; [] when nothing is."""
    known = registry()
    problems = []
    for key, value in record.attributes.items():
        if key.startswith(OWN_PREFIXES):
            continue
        if key not in known.known:
            problems.append("%s: unknown to the conventions (own keys are nova.*/refnova.*)" % key)
            continue
        if key in known.deprecated:
            problems.append("%s: deprecated (%s)" % (key, known.deprecated[key]))
        expected = TYPES.get(key)
        if expected is None:
            problems.append("%s: no type in TYPES" % key)
        elif type(value) is not expected:
            problems.append("%s: %r is %s, not %s" % (key, value, type(value).__name__, expected))
        allowed = known.enums.get(key, set()) | CUSTOM_VALUES.get(key, set())
        if key in known.enums and value not in allowed and key != "error.type":
            problems.append("%s: %r is none of %s" % (key, value, sorted(allowed)))
    problems += _missing(record)
    return ["%s %r: %s" % (record.kind, record.name, problem) for problem in problems]


def _missing(record):
    required = ()
    attributes = record.attributes
    if record.kind == "SERVER":
        required = HTTP_SERVER + ("http.response.status_code",)
    elif record.kind == "CLIENT" and "db.system.name" in attributes:
        required = DATABASE
        if not ({"db.query.text", "db.operation.name"} & set(attributes)):
            required += ("db.query.text or db.operation.name",)
    elif record.kind == "CLIENT":
        required = HTTP_CLIENT
    elif record.kind in ("PRODUCER", "CONSUMER"):
        required = MESSAGING
    missing = ["%s: required, missing" % key for key in required if key not in attributes]
    if record.status == "ERROR" and "error.type" not in attributes:
        missing.append("error.type: required on a span that failed, missing")
    return missing


def trace_problems(records):
    """Every problem of every span of ``records``, and of their scopes' schema URL."""
    problems = [problem for record in records for problem in span_problems(record)]
    schemas = {record.scope.get("schema_url") for record in records}
    if len(schemas) != 1 or not next(iter(schemas)):
        problems.append("schema URLs %s: expected one" % sorted(map(str, schemas)))
    return problems
