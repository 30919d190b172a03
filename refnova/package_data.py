"""Where refnova's data lives: ``fixtures`` (the reference world, the golden fixtures and
their schema) and ``traces`` (the golden trace shapes).

The repository's top-level ``fixtures/`` and ``traces/`` are the source of truth, which the
tests and tools read. A built wheel carries a copy of each as ``refnova/data/<name>``
(``setup.py`` copies them at build time), read here with ``importlib.resources``; a source
checkout or an editable install has no copy, and reads the repository's own.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

SHIPPED = ("fixtures", "traces")


def data_dir(name: str) -> Path:
    """The directory ``name`` (one of SHIPPED): the package's copy, else the checkout's."""
    if name not in SHIPPED:
        raise ValueError("refnova ships no data directory %r" % name)
    shipped = importlib.resources.files("refnova") / "data" / name
    if isinstance(shipped, Path) and shipped.is_dir():  # an installed package is a directory
        return shipped
    return Path(__file__).resolve().parent.parent / name
