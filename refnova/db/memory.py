"""In-memory SQLite databases (``sqlite://``): their one connection, and copies of them.

A database that lives in one connection (SQLAlchemy's StaticPool) is copied whole, schema and
rows, with SQLite's backup API in a fraction of a millisecond. The in-process conformance run
builds one database per world from a copy of an empty one (``Database(url, schema_from=)``),
rather than creating the schema each time, and puts a database back as seeded before each
fixture from a copy taken after seeding (``refnova.conformance.in_process``).
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from refnova.db.api import Database


def connection_of(database: Database) -> sqlite3.Connection:
    """The one SQLite connection of an in-memory database; ValueError for any other."""
    engine = database.engine
    if engine.dialect.name != "sqlite" or engine.url.database not in (None, "", ":memory:"):
        raise ValueError(f"not an in-memory SQLite database: {engine.url}")
    pooled = engine.raw_connection()
    try:
        connection = pooled.dbapi_connection
    finally:
        pooled.close()  # back to the StaticPool: the connection itself stays open
    if not isinstance(connection, sqlite3.Connection):
        raise ValueError(f"not a sqlite3 connection: {connection!r}")
    return connection


def copy(source: Database, target: Database) -> None:
    """Everything ``source`` holds written over ``target`` (both in-memory, neither in a
    transaction: SQLite refuses a destination in use)."""
    connection_of(source).backup(connection_of(target))
