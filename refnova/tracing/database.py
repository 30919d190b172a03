"""CLIENT spans for SQLAlchemy statements (OpenTelemetry's database conventions).

``SQLAlchemyInstrumentor().instrument(engine)`` wraps the methods of the engine's own dialect
instance that hand a statement to the driver (``do_execute``, ``do_executemany``,
``do_execute_no_params``) and end a transaction (``do_commit``, ``do_rollback``), and listens
to the engine's ``rollback`` event; ``uninstrument(engine)`` removes every hook it added. A
statement gets a span only inside a recording span, so start-up DDL and seeding make no traces
of their own. Statements are recorded parameterized (``db.query.text``); bound values never are.

The driver's call is only timed: a statement's span (its parent the span current when it ran,
its start and end those of the call) is made when its transaction ends, with those of the
transaction's other statements, just before the ``COMMIT`` or ``ROLLBACK`` span. The SDK's
span code then runs in one go rather than between driver calls, where the same instructions
took more CPU time (colder caches: benchmarks/README.md, "The target not met, and why"). Span
processors see such a span at its transaction's end. A failing statement's span is made at
once, marked with its error.

A transaction's begin and end are spans too: SQLite's ``BEGIN IMMEDIATE`` is a statement
(its span holds the wait for the database's write lock), and the driver's commit and
rollback are ``COMMIT`` and ``ROLLBACK`` spans (``db.operation.name``), so no time of a
transaction is left outside a span. Reads that run outside a transaction (PostgreSQL's, in
autocommit: ``refnova.db.engine.read_only_options``) have their statements' spans alone.
"""

from __future__ import annotations

import functools
import re
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue
from sqlalchemy import event
from sqlalchemy.engine import Engine

from refnova.tracing import spans
from refnova.tracing.attributes import (
    DB_COLLECTION_NAME,
    DB_NAMESPACE,
    DB_OPERATION_BATCH_SIZE,
    DB_OPERATION_NAME,
    DB_QUERY_SUMMARY,
    DB_QUERY_TEXT,
    DB_SYSTEM_NAME,
    DB_SYSTEM_OTHER,
    DB_SYSTEMS,
    SCHEMA_URL,
    SERVER_ADDRESS,
    SERVER_PORT,
)
from refnova.tracing.provider import enabled, refnova_version

# SQLite pragmas and session settings: driver plumbing, not the path's statements.
_UNTRACED_SQL = frozenset(("PRAGMA", "SET", "SHOW"))
_SQL_TARGET = re.compile(
    r"^\s*(?:(?:SELECT|DELETE)\b.*?\bFROM\s+|INSERT\s+(?:OR\s+\w+\s+)?INTO\s+"
    r"|UPDATE\s+(?:OR\s+\w+\s+)?)[\"`\[]?([A-Za-z_]\w*)",
    re.IGNORECASE | re.DOTALL,
)
# The dialect's methods that hand a statement to the driver.
_EXECUTIONS = ("do_execute", "do_executemany", "do_execute_no_params")
# The dialect's methods that end a transaction, and the operation each one is.
_ENDINGS = {"do_commit": "COMMIT", "do_rollback": "ROLLBACK"}
# Set in a pooled connection's info by a transaction's rollback (the pool's own rollback of a
# connection handed back, after every commit, is housekeeping and gets no span).
_ROLLING_BACK = "_refnova_rolling_back"
# In a pooled connection's info: the statements of its transaction whose spans are not made yet.
_STATEMENTS = "_refnova_statements"

Attributes = Mapping[str, AttributeValue]
Listener = Callable[..., Any]
# A dialect's ``do_execute`` or ``do_executemany``: (cursor, statement, parameters, context).
Execution = Callable[[Any, str, Any, Any], Any]
# (span name, attributes) of a statement text, or None for driver plumbing.
StatementSpan = Callable[[str], "tuple[str, Attributes] | None"]
# A statement that gets a span: its name, attributes and parent context.
Recorded = tuple[str, Attributes, Context]
# A statement that ran: the same, and the start and end of the driver's call (ns).
Ran = tuple[str, Attributes, Context, int, int]
# Read once: a read of an enum member costs several times a global's (Python 3.11).
_CLIENT = SpanKind.CLIENT


def sql_summary(statement: str) -> tuple[str, str | None]:
    """(operation, table) of a statement, e.g. ("INSERT", "instances"); table may be None."""
    words = statement.split(None, 1)
    operation = words[0].upper() if words else ""
    found = _SQL_TARGET.match(statement)
    return operation, (found.group(1) if found else None)


def engine_attributes(engine: Engine) -> dict[str, AttributeValue]:
    """What every statement span of an engine carries: the system, database and server."""
    system = DB_SYSTEMS.get(engine.dialect.name, DB_SYSTEM_OTHER)
    base: dict[str, AttributeValue] = {DB_SYSTEM_NAME: system}
    url = engine.url
    if url.database and system != DB_SYSTEMS["sqlite"]:
        base[DB_NAMESPACE] = url.database
    if url.host:
        base[SERVER_ADDRESS] = url.host
        if url.port:
            base[SERVER_PORT] = int(url.port)
    return base


def _statement_spans(base: Attributes) -> StatementSpan:
    """(span name, attributes) of a statement text, or None for driver plumbing."""
    system = str(base[DB_SYSTEM_NAME])

    # The path's statements are prebuilt, so each text is parsed once, not once per execution.
    @functools.lru_cache(maxsize=1024)
    def statement_span(statement: str) -> tuple[str, Attributes] | None:
        operation, table = sql_summary(statement)
        if operation in _UNTRACED_SQL:
            return None
        name = "%s %s" % (operation, table) if table else (operation or system)
        attributes = dict(base)
        attributes[DB_QUERY_SUMMARY] = name
        attributes[DB_QUERY_TEXT] = statement
        if operation:
            attributes[DB_OPERATION_NAME] = operation
        if table:
            attributes[DB_COLLECTION_NAME] = table
        return name, attributes

    return statement_span


def _timed(tracer: trace.Tracer, statement_span: StatementSpan, method: Execution) -> Listener:
    """``method(cursor, statement, parameters, context)``, the dialect's call that hands a
    statement to the driver, timed for its statement's span, which its transaction's end makes
    (a failure's at once). A statement gets none without a recording parent, without an
    execution context (SQLAlchemy's own bare cursor calls) or as driver plumbing.

    One frame per statement: every statement of a traced request runs through here."""
    get_current = otel_context.get_current
    get_current_span = trace.get_current_span

    def execute(cursor: Any, statement: str, parameters: Any, context: Any = None) -> Any:
        if context is None:
            return method(cursor, statement, parameters, context)
        parent = get_current()
        found = statement_span(statement) if get_current_span(parent).is_recording() else None
        if found is None:
            return method(cursor, statement, parameters, context)
        name, attributes = found
        if context.executemany and isinstance(parameters, (list, tuple)) and len(parameters) > 1:
            attributes = {**attributes, DB_OPERATION_BATCH_SIZE: len(parameters)}
        # The statements already run in the transaction of the context's connection.
        info = context.root_connection.connection.info
        ran: list[Ran] | None = info.get(_STATEMENTS)
        if ran is None:
            ran = info[_STATEMENTS] = []
        start = time.time_ns()
        try:
            result = method(cursor, statement, parameters, context)
        except BaseException as error:
            _make_failed(tracer, ran, (name, attributes, parent), start, error)
            raise
        ran.append((name, attributes, parent, start, time.time_ns()))
        return result

    return execute


def _make_spans(tracer: trace.Tracer, ran: list[Ran]) -> None:
    """The spans of the statements that ran, in the order they ran; the list is emptied."""
    for name, attributes, parent, start, end in ran:
        span = tracer.start_span(
            name, parent, kind=_CLIENT, attributes=attributes, start_time=start
        )
        span.end(end_time=end)
    ran.clear()


def _make_failed(
    tracer: trace.Tracer, ran: list[Ran], recorded: Recorded, start: int, error: BaseException
) -> None:
    """The spans of the statements before a failing one, then its own span, marked."""
    _make_spans(tracer, ran)
    name, attributes, parent = recorded
    span = tracer.start_span(name, parent, kind=_CLIENT, attributes=attributes, start_time=start)
    spans.mark_error(span, error)
    span.end()


def _timed_no_params(
    tracer: trace.Tracer, statement_span: StatementSpan, method: Listener
) -> Listener:
    """The dialect's ``do_execute_no_params`` (cursor, statement, context), timed by ``_timed``."""
    timed = _timed(
        tracer,
        statement_span,
        lambda cursor, statement, _parameters, context: method(cursor, statement, context),
    )

    def execute_no_params(cursor: Any, statement: str, context: Any = None) -> Any:
        return timed(cursor, statement, None, context)

    return execute_no_params


def _rollback_listener(conn: Any) -> None:
    """Flags a transaction's own rollback (the pool's rollback on return gets no span)."""
    if trace.get_current_span().is_recording():
        conn.info[_ROLLING_BACK] = True


def _ending(
    tracer: trace.Tracer,
    base: Attributes,
    operation: str,
    method: Listener,
    may_autocommit: bool,
) -> Listener:
    """The dialect's ``method`` (its commit or rollback), after which the transaction's
    statements get their spans, then the CLIENT span ``operation`` of the call itself.
    ``may_autocommit``: whether the driver's connections have an ``autocommit`` switch."""
    attributes = {**base, DB_OPERATION_NAME: operation, DB_QUERY_SUMMARY: operation}
    only_flagged = operation == "ROLLBACK"

    def end_transaction(dbapi_connection: Any) -> None:
        info = getattr(dbapi_connection, "info", {})
        flagged = info.pop(_ROLLING_BACK, False)
        ran: list[Ran] = info.get(_STATEMENTS) or []
        # A driver in autocommit (PostgreSQL's reads) ended no transaction: nothing to show.
        no_transaction = may_autocommit and dbapi_connection.autocommit is True
        if (
            (only_flagged and not flagged)
            or no_transaction
            or not trace.get_current_span().is_recording()
        ):
            try:
                return method(dbapi_connection)
            finally:
                _make_spans(tracer, ran)
        failed: Exception | None = None
        start = time.time_ns()
        try:
            return method(dbapi_connection)
        except Exception as error:
            failed = error
            raise
        finally:
            end = time.time_ns()
            _make_spans(tracer, ran)
            # A leaf: made once the driver's call is over, never current.
            span = tracer.start_span(
                operation, kind=_CLIENT, attributes=attributes, start_time=start
            )
            if failed is not None:
                spans.mark_error(span, failed)
            span.end(end_time=end)

    return end_transaction


class SQLAlchemyInstrumentor:
    """Statement spans on the engines it instruments, until it uninstruments them."""

    def __init__(self, tracer: trace.Tracer | None = None) -> None:
        self._tracer = tracer
        # An engine that is garbage collected is forgotten with it.
        self._hooked: weakref.WeakSet[Engine] = weakref.WeakSet()

    def instrument(self, engine: Engine) -> bool:
        """Hook ``engine``; False (and nothing hooked) when tracing is off or it is hooked."""
        if not enabled() or engine in self._hooked:
            return False
        # The installed provider's own tracer: no proxy to go through for every statement.
        tracer = self._tracer or trace.get_tracer(
            spans.INSTRUMENTATION_NAME, refnova_version(), schema_url=SCHEMA_URL
        )
        base = engine_attributes(engine)
        statement_span = _statement_spans(base)
        dialect = engine.dialect
        # The engine's own dialect instance: its methods shadowed here, for it alone.
        dialect.do_execute = _timed(  # type: ignore[method-assign]
            tracer, statement_span, dialect.do_execute
        )
        dialect.do_executemany = _timed(  # type: ignore[method-assign]
            tracer, statement_span, dialect.do_executemany
        )
        dialect.do_execute_no_params = _timed_no_params(  # type: ignore[method-assign]
            tracer, statement_span, dialect.do_execute_no_params
        )
        # Asked of the driver's class once (psycopg's has the switch, sqlite3's before 3.12
        # not): asking a connection without it would raise and catch on every commit.
        may_autocommit = hasattr(getattr(dialect.loaded_dbapi, "Connection", None), "autocommit")
        for name, operation in _ENDINGS.items():
            original = getattr(dialect, name)
            ending = _ending(tracer, base, operation, original, may_autocommit)
            setattr(dialect, name, ending)
        event.listen(engine, "rollback", _rollback_listener)
        self._hooked.add(engine)
        return True

    def uninstrument(self, engine: Engine) -> None:
        """Remove every hook ``instrument`` added to ``engine`` (none: nothing to do)."""
        if engine not in self._hooked:
            return
        self._hooked.discard(engine)
        event.remove(engine, "rollback", _rollback_listener)
        for name in (*_EXECUTIONS, *_ENDINGS):
            vars(engine.dialect).pop(name, None)

    def is_instrumented(self, engine: Engine) -> bool:
        return engine in self._hooked
