"""The SQLAlchemy engine of a ``refnova.db.api.Database``: its pool and each backend's settings."""

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

# The execution option of the engine that ``snapshot`` and ``reading`` use: on SQLite their
# transactions begin DEFERRED (see ``_take_write_lock_at_begin``).
READ_ONLY = "refnova_read_only"
# SQLAlchemy's own default: connections a pool keeps open between uses.
POOL_SIZE = 5


def make_engine(url: str, pool_size: int = POOL_SIZE) -> Engine:
    """An engine for ``url``. A server database's pool keeps ``pool_size`` connections open:
    a process whose threads use more at once closes each one beyond that as soon as it is
    handed back, and opens a new one (a new server process, on PostgreSQL) for the next."""
    if not url.startswith("sqlite"):
        engine = create_engine(url, pool_pre_ping=True, pool_size=pool_size)
        if engine.dialect.name == "postgresql":
            # One multi-row INSERT per table, as psycopg2's dialect does, not a statement per
            # row: less CPU in the server and the API (benchmarks/README.md, workers).
            engine.dialect.use_insertmanyvalues_wo_returning = True
        return engine
    if url in ("sqlite://", "sqlite:///:memory:"):
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    _take_write_lock_at_begin(engine)
    return engine


def read_only_options(engine: Engine) -> dict[str, Any]:
    """The execution options of reads only (``Database.reading`` and ``snapshot``).

    On PostgreSQL they run outside a transaction (autocommit): at its READ COMMITTED, each
    statement of a transaction takes a snapshot of its own anyway, so a read sees the same
    rows and saves BEGIN and COMMIT, two round trips (a server's show: a seventh less time,
    a quarter less of PostgreSQL's CPU; benchmarks/README.md). Not on MySQL, whose REPEATABLE
    READ gives a transaction's statements one snapshot."""
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    return options


def _take_write_lock_at_begin(engine: Engine) -> None:
    """SQLite: BEGIN IMMEDIATE, so two writers queue instead of failing on lock upgrade; a
    transaction for reads only (``READ_ONLY``) begins DEFERRED and, on WAL, never waits."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
