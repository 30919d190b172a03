"""``fixtures/schema.json`` compiled once into a yes/no check, for loading many fixtures fast.

``jsonschema`` interprets the schema anew for every value, about a millisecond a fixture:
most of a conformance run's loading. ``compile_schema`` turns the schema into Python
closures, once, that answer only whether a value conforms, with ``jsonschema``'s meaning of
each keyword (Draft 2020-12, no format checks). The loader asks them first and asks
``jsonschema`` for the problems only of a value they reject, so the messages stay the
library's. A schema using a keyword not compiled here is refused (``Unsupported``) rather
than half-checked: the loader then checks every value with ``jsonschema``.
``tests/unit/conformance/test_schema_check.py`` holds the two to the same answer on every
fixture and on thousands of broken copies of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
# Keywords that annotate and never reject.
ANNOTATIONS = frozenset(("$schema", "$id", "$comment", "$defs", "title", "description"))
DEFS_PREFIX = "#/$defs/"

Check = Callable[[Any], bool]
# The property names a subschema evaluated on a value it accepted (unevaluatedProperties).
Evaluated = Callable[[Any], set[str]]


class Unsupported(ValueError):
    """A schema this module does not compile (the caller falls back to jsonschema)."""


def compile_schema(schema: Mapping[str, Any]) -> Check:
    """The check of a whole schema: ``check(value)`` is whether ``value`` conforms."""
    if schema.get("$schema") != DRAFT_2020_12:
        raise Unsupported(f"not a Draft 2020-12 schema: {schema.get('$schema')!r}")
    return _Compiler(schema.get("$defs", {})).node(schema).check


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


def _is_array(value: Any) -> bool:
    return isinstance(value, list)


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool)


TYPES: dict[str, Check] = {
    "object": _is_object,
    "array": _is_array,
    "string": _is_string,
    "number": _is_number,
    "integer": _is_integer,
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
}


class _Node:
    """One compiled (sub)schema: its check and, for a value it accepted, what it evaluated."""

    def __init__(self, check: Check, evaluated: Evaluated) -> None:
        self.check = check
        self.evaluated = evaluated


def _nothing_evaluated(_value: Any) -> set[str]:
    return set()


def _always(_value: Any) -> bool:
    return True


def _never(_value: Any) -> bool:
    return False


class _Compiler:
    """Compiles subschemas; ``$ref``s to ``#/$defs/NAME`` are bound once every def is known,
    so recursive definitions (an expected value holds expected values) compile."""

    def __init__(self, defs: Mapping[str, Any]) -> None:
        self.defs = defs
        self.compiled: dict[str, _Node] = {}
        self.started: set[str] = set()

    def ref(self, ref: str) -> _Node:
        name = ref.removeprefix(DEFS_PREFIX)
        if not ref.startswith(DEFS_PREFIX) or name not in self.defs:
            raise Unsupported(f"$ref {ref!r}: only #/$defs/<name> of the schema")
        if name not in self.started:  # a definition that refers to itself is under way
            self.started.add(name)
            self.compiled[name] = self.node(self.defs[name])
        compiled = self.compiled  # looked up at call time: filled in by then
        return _Node(
            lambda value: compiled[name].check(value),
            lambda value: compiled[name].evaluated(value),
        )

    def node(self, schema: Any) -> _Node:
        if schema is True:
            return _Node(_always, _nothing_evaluated)
        if schema is False:
            return _Node(_never, _nothing_evaluated)
        if not isinstance(schema, dict):
            raise Unsupported(f"not a schema: {schema!r}")
        checks: list[Check] = []
        evaluators: list[Evaluated] = []
        for keyword, argument in schema.items():
            if keyword in ANNOTATIONS or keyword in ("then", "else", "prefixItems"):
                continue  # then/else belong to if, prefixItems to items (or alone, below)
            compile_keyword = KEYWORDS.get(keyword)
            if compile_keyword is None:
                raise Unsupported(f"keyword {keyword!r}")
            check, evaluated = compile_keyword(self, argument, schema)
            if check is not None:
                checks.append(check)
            if evaluated is not None:
                evaluators.append(evaluated)
        if "prefixItems" in schema and "items" not in schema:
            checks.append(_prefix_items(self, schema["prefixItems"]))
        if "unevaluatedProperties" in schema:
            return self._with_unevaluated(schema, checks, evaluators)
        return _Node(_all(checks), _union(evaluators))

    def _with_unevaluated(
        self, schema: Mapping[str, Any], checks: list[Check], evaluators: list[Evaluated]
    ) -> _Node:
        """unevaluatedProperties sees what the schema's other keywords evaluated, once they
        all accepted the value (had one not, the value is rejected anyway)."""
        others, evaluated_by_others = _all(checks), _union(evaluators)
        rest = self.node(schema["unevaluatedProperties"]).check

        def check(value: Any) -> bool:
            if not others(value):
                return False
            if not isinstance(value, dict):
                return True
            seen = evaluated_by_others(value)
            return all(rest(item) for key, item in value.items() if key not in seen)

        def evaluated(value: Any) -> set[str]:
            return set(value) if isinstance(value, dict) else set()  # the rest all accepted

        return _Node(check, evaluated)


def _all(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    frozen = tuple(checks)
    return lambda value: all(check(value) for check in frozen)


def _union(evaluators: list[Evaluated]) -> Evaluated:
    frozen = tuple(evaluators)

    def evaluated(value: Any) -> set[str]:
        found: set[str] = set()
        for evaluator in frozen:
            found |= evaluator(value)
        return found

    return evaluated


# --- the keywords: each gives (check or None, evaluated-properties or None) ------------------

Compiled = tuple[Check | None, Evaluated | None]


def _type(_compiler: _Compiler, argument: Any, _schema: Mapping[str, Any]) -> Compiled:
    names = [argument] if isinstance(argument, str) else list(argument)
    if any(name not in TYPES for name in names):
        raise Unsupported(f"type {argument!r}")
    tests = tuple(TYPES[name] for name in names)
    return (lambda value: any(test(value) for test in tests)), None


def _scalars(argument: Any) -> frozenset[str]:
    """enum and const values this module compares: strings only (jsonschema's equality of
    numbers, booleans and containers has rules of its own)."""
    values = argument if isinstance(argument, list) else [argument]
    if not all(isinstance(value, str) for value in values):
        raise Unsupported(f"enum or const of other than strings: {argument!r}")
    return frozenset(values)


def _enum(_compiler: _Compiler, argument: Any, _schema: Mapping[str, Any]) -> Compiled:
    allowed = _scalars(argument)
    return (lambda value: isinstance(value, str) and value in allowed), None


def _const(_compiler: _Compiler, argument: Any, _schema: Mapping[str, Any]) -> Compiled:
    allowed = _scalars(argument)
    return (lambda value: isinstance(value, str) and value in allowed), None


def _pattern(_compiler: _Compiler, argument: Any, _schema: Mapping[str, Any]) -> Compiled:
    search = re.compile(argument).search  # jsonschema: re.search, not a full match
    return (lambda value: not isinstance(value, str) or search(value) is not None), None


def _min_length(_compiler: _Compiler, argument: Any, _schema: Mapping[str, Any]) -> Compiled:
    return (lambda value: not isinstance(value, str) or len(value) >= argument), None


def _minimum(_compiler: _Compiler, argument: Any, _schema: Mapping[str, Any]) -> Compiled:
    return (lambda value: not _is_number(value) or value >= argument), None


def _maximum(_compiler: _Compiler, argument: Any, _schema: Mapping[str, Any]) -> Compiled:
    return (lambda value: not _is_number(value) or value <= argument), None


def _required(_compiler: _Compiler, argument: Any, _schema: Mapping[str, Any]) -> Compiled:
    names = tuple(argument)
    return (lambda value: not isinstance(value, dict) or all(n in value for n in names)), None


def _min_properties(_compiler: _Compiler, argument: Any, _schema: Mapping[str, Any]) -> Compiled:
    return (lambda value: not isinstance(value, dict) or len(value) >= argument), None


def _min_items(_compiler: _Compiler, argument: Any, _schema: Mapping[str, Any]) -> Compiled:
    return (lambda value: not isinstance(value, list) or len(value) >= argument), None


def _dependent_required(
    _compiler: _Compiler, argument: Any, _schema: Mapping[str, Any]
) -> Compiled:
    pairs = tuple((name, tuple(needed)) for name, needed in argument.items())

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        return all(all(n in value for n in needed) for name, needed in pairs if name in value)

    return check, None


def _properties(compiler: _Compiler, argument: Any, _schema: Mapping[str, Any]) -> Compiled:
    checks = {name: compiler.node(subschema).check for name, subschema in argument.items()}

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        return all(test(value[name]) for name, test in checks.items() if name in value)

    def evaluated(value: Any) -> set[str]:
        return checks.keys() & value.keys() if isinstance(value, dict) else set()

    return check, evaluated


def _additional_properties(
    compiler: _Compiler, argument: Any, schema: Mapping[str, Any]
) -> Compiled:
    if "patternProperties" in schema:
        raise Unsupported("patternProperties")
    named = frozenset(schema.get("properties", {}))
    rest = compiler.node(argument).check

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        return all(rest(item) for key, item in value.items() if key not in named)

    def evaluated(value: Any) -> set[str]:
        return set(value) if isinstance(value, dict) else set()  # each accepted, or named

    return check, evaluated


def _unevaluated_properties(
    _compiler: _Compiler, _argument: Any, _schema: Mapping[str, Any]
) -> Compiled:
    return None, None  # compiled by _Compiler._with_unevaluated, after the others


def _items(compiler: _Compiler, argument: Any, schema: Mapping[str, Any]) -> Compiled:
    prefix = schema.get("prefixItems", [])
    head = _prefix_items(compiler, prefix)
    each = compiler.node(argument).check
    start = len(prefix)

    def check(value: Any) -> bool:
        if not isinstance(value, list):
            return True
        return head(value) and all(each(item) for item in value[start:])

    return check, None


def _prefix_items(compiler: _Compiler, prefix: list[Any]) -> Check:
    checks = tuple(compiler.node(subschema).check for subschema in prefix)

    def check(value: Any) -> bool:
        if not isinstance(value, list):
            return True
        return all(test(item) for test, item in zip(checks, value, strict=False))

    return check


def _ref(compiler: _Compiler, argument: Any, _schema: Mapping[str, Any]) -> Compiled:
    target = compiler.ref(argument)
    return target.check, target.evaluated


def _all_of(compiler: _Compiler, argument: Any, _schema: Mapping[str, Any]) -> Compiled:
    nodes = [compiler.node(subschema) for subschema in argument]
    return _all([node.check for node in nodes]), _union([node.evaluated for node in nodes])


def _any_of(compiler: _Compiler, argument: Any, _schema: Mapping[str, Any]) -> Compiled:
    nodes = tuple(compiler.node(subschema) for subschema in argument)

    def evaluated(value: Any) -> set[str]:
        found: set[str] = set()
        for node in nodes:
            if node.check(value):
                found |= node.evaluated(value)
        return found

    return (lambda value: any(node.check(value) for node in nodes)), evaluated


def _not(compiler: _Compiler, argument: Any, _schema: Mapping[str, Any]) -> Compiled:
    inner = compiler.node(argument).check
    return (lambda value: not inner(value)), None


def _if(compiler: _Compiler, argument: Any, schema: Mapping[str, Any]) -> Compiled:
    condition = compiler.node(argument)
    then = compiler.node(schema.get("then", True))
    otherwise = compiler.node(schema.get("else", True))

    def check(value: Any) -> bool:
        return then.check(value) if condition.check(value) else otherwise.check(value)

    def evaluated(value: Any) -> set[str]:
        if condition.check(value):
            return condition.evaluated(value) | then.evaluated(value)
        return otherwise.evaluated(value)

    return check, evaluated


KEYWORDS: dict[str, Callable[[_Compiler, Any, Mapping[str, Any]], Compiled]] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "pattern": _pattern,
    "minLength": _min_length,
    "minimum": _minimum,
    "maximum": _maximum,
    "required": _required,
    "minProperties": _min_properties,
    "minItems": _min_items,
    "dependentRequired": _dependent_required,
    "properties": _properties,
    "additionalProperties": _additional_properties,
    "unevaluatedProperties": _unevaluated_properties,
    "items": _items,
    "$ref": _ref,
    "allOf": _all_of,
    "anyOf": _any_of,
    "not": _not,
    "if": _if,
}
