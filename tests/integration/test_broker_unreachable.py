"""A create whose cast cannot reach the broker: 503, the instance in ERROR with a fault, and
its quota given back. Needs no service: the broker URL points at a port nothing listens on."""

import sqlalchemy

from tests.support.processes import free_port

PROJECT = "p"


def test_an_unreachable_broker_gives_503_an_error_instance_and_the_quota_back(cluster, tmp_path):
    db_url = "sqlite:///%s" % (tmp_path / "refnova.db")
    transport = "rabbit://guest:guest@127.0.0.1:%d/" % free_port()
    api = cluster.api(db_url, transport, publish_timeout=2)

    # kombu's retry policy is bounded: the create answers (the client gives up after 60 s).
    response = api.create(PROJECT, name="lost")
    assert response.status_code == 503, response.text
    assert response.json() == {
        "serviceUnavailable": {
            "message": "Service unavailable: the message broker could not be reached",
            "code": 503,
        }
    }
    assert "Cast build_instances to nova:conductor failed" in api.process.output()

    engine = sqlalchemy.create_engine(db_url)
    try:
        with engine.connect() as conn:
            ((server_id, state, task_state),) = conn.execute(
                sqlalchemy.text("SELECT uuid, vm_state, task_state FROM instances")
            ).all()
            assert (state, task_state) == ("error", None)
            fault = conn.execute(
                sqlalchemy.text(
                    "SELECT code, message FROM instance_faults WHERE instance_uuid = :u"
                ),
                {"u": server_id},
            ).all()
            assert fault == [(503, "Service unavailable: the message broker could not be reached")]
            action = conn.execute(
                sqlalchemy.text(
                    "SELECT message FROM instance_actions"
                    " WHERE instance_uuid = :u AND finish_time IS NOT NULL"
                ),
                {"u": server_id},
            ).scalar_one()
            assert action == "Error"
            usage = dict(
                conn.execute(
                    sqlalchemy.text(
                        "SELECT resource, in_use + reserved FROM quota_usages WHERE project_id = :p"
                    ),
                    {"p": PROJECT},
                ).all()
            )
            assert usage == {"instances": 0, "cores": 0, "ram": 0}
            assert conn.execute(sqlalchemy.text("SELECT count(*) FROM reservations")).scalar() == 0
    finally:
        engine.dispose()

    shown = api.show(PROJECT, server_id).json()["server"]
    assert shown["status"] == "ERROR"
    assert shown["fault"]["code"] == 503
    assert (
        shown["fault"]["message"] == "Service unavailable: the message broker could not be reached"
    )
