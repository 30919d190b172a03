"""The engine on PostgreSQL: a connection kept open for each HTTP thread, and a table's rows
inserted by one statement."""

import threading

from sqlalchemy import event, func, select

from refnova import tracing
from refnova.config import Settings
from refnova.db import api as db_api
from refnova.db import models
from refnova.service import Deployment


def test_a_deployment_keeps_a_connection_open_for_each_http_thread(pg_url):
    settings = Settings(db_url=pg_url, http_threads=12, conductor_in_process=False)
    with Deployment(settings) as deployment:
        engine = deployment.db.engine
        holding, release = threading.Barrier(13), threading.Event()

        def hold():
            with engine.connect():
                holding.wait(30)
                release.wait(30)

        threads = [threading.Thread(target=hold) for _ in range(12)]
        for thread in threads:
            thread.start()
        holding.wait(30)  # twelve connections in use at once
        release.set()
        for thread in threads:
            thread.join(30)
        assert engine.pool.checkedin() == 12  # none closed when handed back


def test_few_http_threads_keep_sqlalchemys_default_pool(pg_url):
    settings = Settings(db_url=pg_url, http_threads=2, conductor_in_process=False)
    with Deployment(settings) as deployment:
        assert deployment.db.engine.pool.size() == db_api.POOL_SIZE


def test_the_rows_of_a_table_go_in_one_statement(pg_url):
    db = db_api.Database(pg_url)
    statements = []
    event.listen(
        db.engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *rest: statements.append(statement),
    )
    rows = [{"project_id": "p", "resource": "r%d" % n, "hard_limit": n} for n in range(15)]
    try:
        with db.writing() as connection:
            db_api.execute_core(connection, models.table_of(models.Quota).insert(), rows)
        with db.reading() as connection:
            count = connection.scalar(select(func.count()).select_from(models.Quota))
    finally:
        db.close()
    inserts = [statement for statement in statements if statement.startswith("INSERT")]
    assert len(inserts) == 1  # one execution, not one per row in the driver's pipeline
    assert inserts[0].count("::BIGINT)") == 15  # its VALUES hold the fifteen rows
    assert count == 15


def test_reads_run_outside_a_transaction_and_writes_inside_one(pg_url):
    db = db_api.Database(pg_url)
    try:
        with db.reading() as connection:
            assert connection.connection.dbapi_connection.autocommit is True
            connection.scalar(select(func.count()).select_from(models.Quota))
        with db.snapshot() as session:
            assert session.connection().connection.dbapi_connection.autocommit is True
        with db.writing() as connection:
            assert connection.connection.dbapi_connection.autocommit is False
            db_api.execute_core(
                connection,
                models.table_of(models.Quota).insert(),
                [{"project_id": "p", "resource": "r", "hard_limit": 1}],
            )
            assert connection.connection.dbapi_connection.info.transaction_status == 2  # INTRANS
        with db.reading() as connection:  # the pooled connection back in autocommit, and the
            assert connection.connection.dbapi_connection.autocommit is True  # write committed
            assert connection.scalar(select(func.count()).select_from(models.Quota)) == 1
    finally:
        db.close()


def test_a_traced_read_has_its_statement_s_span_and_no_commit(pg_url, spans):
    db = db_api.Database(pg_url)
    try:
        with tracing.tracer().start_as_current_span("outer"):
            with db.reading() as connection:
                connection.scalar(select(func.count()).select_from(models.Quota))
            with db.writing() as connection:
                db_api.execute_core(
                    connection,
                    models.table_of(models.Quota).insert(),
                    [{"project_id": "p", "resource": "r", "hard_limit": 1}],
                )
    finally:
        db.close()
    names = [span.name for span in spans.finished() if span.name != "outer"]
    assert names == ["SELECT quotas", "INSERT quotas", "COMMIT"]
