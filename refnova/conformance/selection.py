"""``-k``: the fixtures a pytest-like expression selects.

Words match case-insensitively as substrings of the fixture's file name, name and source;
``and``, ``or``, ``not`` (any case) and parentheses combine them, with Python's precedence
(``not`` binds tightest, then ``and``, then ``or``). The expression is parsed here, never
evaluated as code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from refnova.conformance.fixtures import Fixture

Predicate = Callable[[str], bool]
KEYWORDS = frozenset({"and", "or", "not", "(", ")"})
TOKEN_RE = re.compile(r"\(|\)|[^\s()]+")


def select(fixtures: Iterable[Fixture], expression: str | None) -> list[Fixture]:
    """The fixtures that a pytest-like ``-k`` expression selects (all for an empty one)."""
    fixtures = list(fixtures)
    if not expression or not expression.strip():
        return fixtures
    predicate = parse_selection(expression)
    return [f for f in fixtures if predicate(" ".join((f.id, f.name, f.source)).lower())]


def parse_selection(expression: str) -> Predicate:
    """A predicate on lower-cased text; ValueError for an expression that does not parse."""
    return _Parser(expression).parse()


class _Parser:
    """Recursive descent over: or := and ("or" and)*; and := not ("and" not)*;
    not := "not" not | atom; atom := "(" or ")" | word."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = [token.lower() for token in TOKEN_RE.findall(expression)]
        self.position = 0

    def parse(self) -> Predicate:
        predicate = self._or()
        if self.position != len(self.tokens):  # e.g. two bare words: "A24 cores"
            raise self._error()
        return predicate

    def _or(self) -> Predicate:
        predicate = self._and()
        while self._take("or"):
            predicate = _either(predicate, self._and())
        return predicate

    def _and(self) -> Predicate:
        predicate = self._not()
        while self._take("and"):
            predicate = _both(predicate, self._not())
        return predicate

    def _not(self) -> Predicate:
        if self._take("not"):
            return _negated(self._not())
        return self._atom()

    def _atom(self) -> Predicate:
        if self._take("("):
            predicate = self._or()
            if not self._take(")"):
                raise self._error()
            return predicate
        if self.position >= len(self.tokens) or self.tokens[self.position] in KEYWORDS:
            raise self._error()
        word = self.tokens[self.position]
        self.position += 1
        return lambda text: word in text

    def _take(self, token: str) -> bool:
        if self.position < len(self.tokens) and self.tokens[self.position] == token:
            self.position += 1
            return True
        return False

    def _error(self) -> ValueError:
        return ValueError(f"bad -k expression {self.expression!r}")


# Combinators, not lambdas in the loops above: each closes over its own operands.
def _either(left: Predicate, right: Predicate) -> Predicate:
    return lambda text: left(text) or right(text)


def _both(left: Predicate, right: Predicate) -> Predicate:
    return lambda text: left(text) and right(text)


def _negated(inner: Predicate) -> Predicate:
    return lambda text: not inner(text)
