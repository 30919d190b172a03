"""The house rules that keep the layers apart and the docs honest (docs/architecture.md)."""

import ast
import itertools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "refnova"
LOWER_LAYERS = ("behaviours", "compute", "conductor", "db", "messaging")
MAX_MODULE_LINES = 500
# A path inside the repository, as docs and comments cite one: `refnova/quota.py`,
# `fixtures/v2.1/`, `refnova/conductor/{api,rpcapi,manager}.py`.
CITED_PATH = re.compile(r"`((?:refnova|docs|fixtures|tests|tools|benchmarks|traces)/[\w./{},-]*)`")


def _modules(directory):
    return sorted(directory.rglob("*.py"))


def _imported_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


@pytest.mark.parametrize("layer", LOWER_LAYERS)
def test_lower_layers_never_import_the_api_layer(layer):
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(PACKAGE / layer)
        for name in _imported_modules(path)
        if name == "refnova.api" or name.startswith("refnova.api.")
    ]
    assert offenders == []


def test_no_module_is_longer_than_500_lines():
    long_modules = [
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path in _modules(PACKAGE)
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert long_modules == []


def _expand_braces(text):
    """`a/{b,c}.py` names `a/b.py` and `a/c.py`."""
    parts = re.split(r"\{([^{}]*)\}", text)
    choices = [[part] if i % 2 == 0 else part.split(",") for i, part in enumerate(parts)]
    return ["".join(combination) for combination in itertools.product(*choices)]


# Research notes: their citations name files of other repositories, each under its name.
RESEARCH_NOTES = ("icehouse-create-path.md", "rpc-and-tracing.md")


def _documents():
    docs = [
        path for path in sorted((ROOT / "docs").glob("*.md")) if path.name not in RESEARCH_NOTES
    ]
    sources = [ROOT / "README.md", *docs]
    sources += [ROOT / "benchmarks" / "README.md", ROOT / "fixtures" / "schema.json"]
    sources += _modules(PACKAGE) + _modules(ROOT / "benchmarks") + _modules(ROOT / "tools")
    return [path for path in sources if path.exists()]


def test_every_file_the_docs_and_comments_cite_exists():
    missing = []
    for document in _documents():
        text = document.read_text(encoding="utf-8")
        for cited in CITED_PATH.findall(text):
            for path in _expand_braces(cited.rstrip(".,")):
                if not (ROOT / path).exists():
                    missing.append(f"{document.relative_to(ROOT)} cites {path}")
    assert missing == []


def test_nothing_cites_a_design_document_outside_the_repository():
    citing = [
        str(path.relative_to(ROOT))
        for path in _documents() + sorted((ROOT / "fixtures").rglob("*.json"))
        if "DESIGN" in path.read_text(encoding="utf-8")
    ]
    assert citing == []


def _layout_names():
    """Every path or module name the README's Layout table gives, braces expanded."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("\n## Layout", 1)[1].split("\n## ", 1)[0]
    cells = [line.split("|")[1] for line in layout.splitlines() if line.startswith("| `")]
    tokens = re.findall(r"`([\w./{},-]+)`", "\n".join(cells))
    return {name for token in tokens for name in _expand_braces(token)}


def test_the_readme_layout_table_lists_every_module():
    names = _layout_names()
    unlisted = [
        str(relative)
        for path in _modules(PACKAGE)
        if path.name != "__init__.py"
        for relative in [path.relative_to(ROOT).as_posix()]
        if not any(relative == name or relative.endswith("/" + name) for name in names)
    ]
    assert unlisted == []
