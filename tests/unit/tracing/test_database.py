"""SQLAlchemyInstrumentor: statement spans on the engines it hooks, none once it unhooks them."""

import contextlib
import threading
import time

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import create_engine, exc, text

from refnova import tracing
from refnova.db import api as db_api
from refnova.tracing import database

EVENTS = ("rollback",)
# The dialect's methods the instrumentor shadows on the engine's own dialect instance.
ENDINGS = ("do_execute", "do_executemany", "do_execute_no_params", "do_commit", "do_rollback")


@pytest.fixture
def engine():
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)"))
    yield engine
    engine.dispose()


def listeners(engine):
    """How many listeners each engine event the instrumentor hooks has."""
    return {name: len(getattr(engine.dispatch, name)) for name in EVENTS}


def insert_in_a_span(engine, name="a"):
    with tracing.tracer().start_as_current_span("outer"):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO things (name) VALUES (:name)"), {"name": name})


def statement_spans(spans):
    """The statements' spans (not the transaction's end)."""
    return [span for span in spans.finished() if span.name not in ("outer", "COMMIT")]


def names(spans):
    return [span.name for span in spans.finished() if span.name != "outer"]


def test_an_instrumented_engine_makes_a_client_span_per_statement(spans, engine):
    instrumentor = tracing.SQLAlchemyInstrumentor()
    assert instrumentor.instrument(engine) and instrumentor.is_instrumented(engine)
    insert_in_a_span(engine)
    (span,) = statement_spans(spans)
    assert (span.name, span.kind) == ("INSERT things", SpanKind.CLIENT)
    assert dict(span.attributes) == {
        "db.system.name": "sqlite",
        "db.query.summary": "INSERT things",
        "db.query.text": "INSERT INTO things (name) VALUES (?)",
        "db.operation.name": "INSERT",
        "db.collection.name": "things",
    }
    instrumentor.uninstrument(engine)


def test_a_commit_is_a_span_and_the_pool_s_own_rollback_is_none(spans, engine):
    instrumentor = tracing.SQLAlchemyInstrumentor()
    instrumentor.instrument(engine)
    insert_in_a_span(engine)
    # The pool rolls back every connection handed back: housekeeping, not the transaction's.
    assert names(spans) == ["INSERT things", "COMMIT"]
    commit = spans.finished()[1]
    assert commit.kind == SpanKind.CLIENT
    assert dict(commit.attributes) == {
        "db.system.name": "sqlite",
        "db.operation.name": "COMMIT",
        "db.query.summary": "COMMIT",
    }
    instrumentor.uninstrument(engine)


def test_a_transaction_rolled_back_has_a_rollback_span(spans, engine):
    instrumentor = tracing.SQLAlchemyInstrumentor()
    instrumentor.instrument(engine)
    with pytest.raises(ValueError):
        with tracing.tracer().start_as_current_span("outer"):
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO things (name) VALUES ('x')"))
                raise ValueError("refused")
    assert names(spans) == ["INSERT things", "ROLLBACK"]
    assert spans.finished()[1].attributes["db.operation.name"] == "ROLLBACK"
    instrumentor.uninstrument(engine)


@contextlib.contextmanager
def holding_the_write_lock(db, statement=None):
    """A writer thread in a transaction (BEGIN IMMEDIATE: SQLite's write lock), after
    ``statement``, until the block ends or the yielded event is set; yields that event and
    the list that gets the time the writer let go."""
    holding, release, released = threading.Event(), threading.Event(), []

    def hold_the_lock():
        with db.engine.begin() as connection:
            if statement is not None:
                connection.execute(text(statement))
            holding.set()
            release.wait(5)
            released.append(time.time_ns())

    writer = threading.Thread(target=hold_the_lock)
    writer.start()
    holding.wait(5)
    try:
        yield release, released
    finally:
        release.set()
        writer.join()


def test_sqlite_s_begin_immediate_is_a_span_that_holds_the_lock_wait(spans, tmp_path):
    """A writer holds SQLite's lock; the traced transaction's BEGIN span ends only once the
    writer has committed (span and clock times compared, no duration asserted)."""
    db = db_api.Database("sqlite:///%s" % (tmp_path / "lock.db"))
    with holding_the_write_lock(db) as (release, released):
        threading.Timer(0.2, release.set).start()  # the writer lets go 0.2 s from now
        with tracing.tracer().start_as_current_span("outer"), db.transaction() as session:
            session.execute(text("SELECT 1"))
    db.close()
    begin = next(span for span in spans.finished() if span.name == "BEGIN")
    assert begin.attributes["db.query.text"] == "BEGIN IMMEDIATE"
    assert begin.attributes["db.operation.name"] == "BEGIN"
    assert begin.end_time >= released[0]
    assert names(spans) == ["BEGIN", "SELECT", "COMMIT"]


@pytest.mark.parametrize("kind", ["reading", "snapshot"])
def test_a_read_only_transaction_begins_deferred_and_does_not_wait_for_a_writer(
    spans, tmp_path, kind
):
    """On SQLite (WAL) a read neither waits for a writer's lock nor takes one: its BEGIN span
    ends, and its SELECT sees the last commit, while the writer still holds the lock."""
    db = db_api.Database("sqlite:///%s" % (tmp_path / "read.db"))
    with holding_the_write_lock(db, "CREATE TABLE written (n INTEGER)") as (_, released):
        with tracing.tracer().start_as_current_span("outer"), getattr(db, kind)() as reader:
            tables = reader.execute(text("SELECT name FROM sqlite_master")).scalars().all()
    db.close()
    begin = next(span for span in spans.finished() if span.name == "BEGIN")
    assert begin.attributes["db.query.text"] == "BEGIN"
    assert begin.end_time < released[0]
    assert "written" not in tables  # the writer's table is not committed yet


def test_uninstrument_removes_every_listener_it_added(spans, engine):
    before = listeners(engine)
    instrumentor = tracing.SQLAlchemyInstrumentor()
    instrumentor.instrument(engine)
    assert listeners(engine) == {name: count + 1 for name, count in before.items()}
    assert all(name in vars(engine.dialect) for name in ENDINGS)
    instrumentor.uninstrument(engine)
    assert listeners(engine) == before
    assert not any(name in vars(engine.dialect) for name in ENDINGS)
    assert not instrumentor.is_instrumented(engine)
    insert_in_a_span(engine)
    assert statement_spans(spans) == []


def test_an_engine_is_hooked_once_and_can_be_hooked_again(spans, engine):
    before = listeners(engine)
    instrumentor = tracing.SQLAlchemyInstrumentor()
    assert instrumentor.instrument(engine)
    assert not instrumentor.instrument(engine)
    assert listeners(engine) == {name: count + 1 for name, count in before.items()}
    instrumentor.uninstrument(engine)
    instrumentor.uninstrument(engine)  # nothing left to remove: no error
    assert instrumentor.instrument(engine)
    insert_in_a_span(engine)
    assert len(statement_spans(spans)) == 1
    instrumentor.uninstrument(engine)
    assert listeners(engine) == before


def test_a_failing_statement_ends_its_span_as_an_error(spans, engine):
    instrumentor = tracing.SQLAlchemyInstrumentor()
    instrumentor.instrument(engine)
    with pytest.raises(exc.OperationalError):
        with tracing.tracer().start_as_current_span("outer"):
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO nowhere (name) VALUES ('x')"))
    assert names(spans) == ["INSERT nowhere", "ROLLBACK"]
    span = spans.finished()[0]
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "OperationalError"
    instrumentor.uninstrument(engine)


def test_statement_spans_are_made_at_the_transaction_s_end_with_their_own_parent_and_times(
    spans, engine
):
    """A statement is only timed as it runs; its span (parent: the span current then, even
    one already ended) is made when the transaction ends, just before the COMMIT span."""
    instrumentor = tracing.SQLAlchemyInstrumentor()
    instrumentor.instrument(engine)
    with tracing.tracer().start_as_current_span("outer"):
        with engine.begin() as connection:
            with tracing.tracer().start_as_current_span("inner") as inner:
                before = time.time_ns()
                connection.execute(text("INSERT INTO things (name) VALUES ('x')"))
                after = time.time_ns()
            assert [span.name for span in spans.finished()] == ["inner"]
    assert names(spans) == ["inner", "INSERT things", "COMMIT"]
    insert, commit = spans.finished()[1:3]
    assert insert.parent.span_id == inner.get_span_context().span_id
    assert before <= insert.start_time <= insert.end_time <= after <= commit.start_time
    assert insert.end_time <= inner.end_time
    instrumentor.uninstrument(engine)


def test_the_statements_before_a_failing_one_keep_their_spans_in_order(spans, engine):
    instrumentor = tracing.SQLAlchemyInstrumentor()
    instrumentor.instrument(engine)
    with pytest.raises(exc.OperationalError):
        with tracing.tracer().start_as_current_span("outer"):
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO things (name) VALUES ('x')"))
                connection.execute(text("INSERT INTO nowhere (name) VALUES ('x')"))
    assert names(spans) == ["INSERT things", "INSERT nowhere", "ROLLBACK"]
    statuses = [span.status.status_code for span in spans.finished()[:2]]
    assert statuses == [StatusCode.UNSET, StatusCode.ERROR]
    instrumentor.uninstrument(engine)


def test_untraced_nothing_is_hooked(spans, engine, monkeypatch):
    monkeypatch.setattr(database, "enabled", lambda: False)
    before = listeners(engine)
    instrumentor = tracing.SQLAlchemyInstrumentor()
    assert not instrumentor.instrument(engine)
    assert listeners(engine) == before


def test_a_database_unhooks_its_engine_when_closed(spans):
    db = db_api.Database("sqlite://")
    hooked = listeners(db.engine)
    assert all(count >= 1 for count in hooked.values())
    db.close()
    assert listeners(db.engine) == {name: count - 1 for name, count in hooked.items()}
