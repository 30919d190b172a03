"""``-k``: the fixtures a pytest-like expression selects."""
from __future__ import annotations

import re
from typing import Callable, Iterable

from refnova.conformance.fixtures import Fixture


def select(fixtures: Iterable[Fixture], expression: str | None) -> list[Fixture]:
    """The fixtures that a pytest-like ``-k`` expression selects.

    Words match case-insensitively as substrings of the file name, the fixture's name and its
    source; ``and``, ``or``, ``not`` and parentheses combine them.
    """
    fixtures = list(fixtures)
    if not expression or not expression.strip():
        return fixtures
    predicate = _compile_selection(expression)
    return [f for f in fixtures if predicate(" ".join((f.id, f.name, f.source)).lower())]


def _compile_selection(expression: str) -> Callable[[str], bool]:
    tokens = re.findall(r"\(|\)|[^\s()]+", expression)
    words: list[str] = []
    code = []
    for token in tokens:
        if token in ("(", ")") or token.lower() in ("and", "or", "not"):
            code.append(token.lower())
        else:
            words.append(token.lower())
            code.append(f"(_w[{len(words) - 1}] in _t)")
    source = " ".join(code)
    try:
        compiled = compile(source, "<-k>", "eval")
        eval(compiled, {"__builtins__": {}}, {"_w": words, "_t": ""})
    except (SyntaxError, TypeError) as error:   # e.g. "A24 and (", or two bare words
        raise ValueError(f"bad -k expression {expression!r}") from error
    return lambda text: bool(eval(compiled, {"__builtins__": {}}, {"_w": words, "_t": text}))
