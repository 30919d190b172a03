"""Registered behaviours in the database: first registered first, a sequence's step shared
by every request (and process) that takes one, and the choice kept with the instance."""

import concurrent.futures

import pytest

from refnova import behaviours
from refnova.behaviours.criteria import RequestFacts
from refnova.db import api as db_api
from refnova.db import behaviours as db_behaviours

FACTS = RequestFacts("vm", {}, "1", "image", "project", "user")


@pytest.fixture
def db(tmp_path):
    database = db_api.Database("sqlite:///%s" % (tmp_path / "behaviours.db"))
    yield database
    database.close()


def register(db, body):
    with db.transaction() as session:
        return behaviours.register(session, body)


def choose(db, facts=FACTS):
    with db.transaction() as session:
        applied = behaviours.choose(session, facts)
    return None if applied is None else applied.name


def test_no_behaviour_chooses_nothing(db):
    assert choose(db) is None


def test_the_first_registered_that_matches_applies(db):
    register(db, {"name": "build", "criteria": {"server_name": "^other$"}})
    first = register(db, {"name": "fail", "parameters": {"code": 409}})
    register(db, {"name": "error"})
    with db.transaction() as session:
        applied = behaviours.choose(session, FACTS)
    assert applied == behaviours.Applied(
        first,
        "fail",
        {
            "code": 409,
            "fault": "conflictingRequest",
            "message": "There was a conflict when trying to complete your request.",
        },
    )


def test_an_invalid_behaviour_is_not_registered(db):
    with pytest.raises(behaviours.InvalidBehaviour):
        register(db, {"name": "fail", "parameters": {"code": "500"}})
    with db.transaction() as session:
        assert db_behaviours.all_in_order(session) == []


def test_a_sequence_run_once_then_lets_the_next_behaviour_apply(db):
    register(
        db,
        {"name": "sequence", "parameters": {"behaviours": [{"name": "fail"}, {"name": "default"}]}},
    )
    register(db, {"name": "build"})
    assert [choose(db) for _ in range(4)] == ["fail", "default", "build", "build"]


def test_a_cycled_sequence_starts_again(db):
    register(
        db,
        {
            "name": "sequence",
            "parameters": {"behaviours": [{"name": "fail"}, {"name": "error"}], "cycle": True},
        },
    )
    assert [choose(db) for _ in range(5)] == ["fail", "error", "fail", "error", "fail"]


def test_a_sequence_counts_only_the_requests_its_criteria_match(db):
    register(
        db,
        {
            "name": "sequence",
            "parameters": {"behaviours": [{"name": "fail"}, {"name": "error"}]},
            "criteria": {"server_name": "^vm$"},
        },
    )
    other = RequestFacts("other", {}, "1", "image", "project", "user")
    assert [choose(db, other), choose(db), choose(db, other), choose(db)] == [
        None,
        "fail",
        None,
        "error",
    ]


def test_concurrent_requests_each_take_their_own_step(tmp_path):
    """Two Database objects on one file stand for two API processes."""
    url = "sqlite:///%s" % (tmp_path / "shared.db")
    first, second = db_api.Database(url), db_api.Database(url)
    try:
        steps = [{"name": "fail", "parameters": {"code": 400 + i}} for i in range(40)]
        register(first, {"name": "sequence", "parameters": {"behaviours": steps}})

        def take(database):
            with database.transaction() as session:
                return behaviours.choose(session, FACTS).parameters["code"]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(take, [first, second] * 20))
        assert sorted(codes) == list(range(400, 440))
    finally:
        first.close()
        second.close()


def test_removing_a_behaviour(db):
    behaviour_id = register(db, {"name": "fail"})
    with db.transaction() as session:
        assert db_behaviours.remove(session, behaviour_id)
        assert not db_behaviours.remove(session, behaviour_id)
    assert choose(db) is None


def test_the_worlds_behaviours_are_registered_once(db):
    world = {"behaviours": [{"name": "fail"}, {"id": "b", "name": "build"}]}
    behaviours.seed(db, world)
    behaviours.seed(db, world)
    with db.transaction() as session:
        rows = db_behaviours.all_in_order(session)
    assert [(row.id, row.body) for row in rows] == [
        ("world-0", {"name": "fail"}),
        ("b", {"name": "build"}),
    ]


def test_each_registered_text_is_parsed_once_and_a_removed_one_dropped(db):
    parsed = behaviours.Parsed()
    first = register(db, {"name": "fail", "parameters": {"code": 409}})
    with db.transaction() as session:
        (before,) = behaviours.registered(session, parsed)
    second = register(db, {"name": "error"})
    with db.transaction() as session:
        again = behaviours.registered(session, parsed)
        db_behaviours.remove(session, first)
    assert [behaviour_id for behaviour_id, _ in again] == [first, second]
    assert again[0][1] is before[1]  # the same text: not parsed again
    with db.transaction() as session:
        assert [behaviour_id for behaviour_id, _ in behaviours.registered(session, parsed)] == [
            second
        ]


def test_a_behaviour_another_process_registers_is_met_by_the_next_create(tmp_path):
    """Two Database objects on one file stand for two API processes; the parsed behaviours
    kept between creates never hide a registration made elsewhere."""
    url = "sqlite:///%s" % (tmp_path / "shared.db")
    first, second = db_api.Database(url), db_api.Database(url)
    parsed = behaviours.Parsed()

    def met(database):
        with database.transaction() as session:
            found = behaviours.registered(session, parsed)
            applied = behaviours.choose(session, FACTS, found)
        return None if applied is None else applied.name

    try:
        assert met(first) is None
        register(second, {"name": "quota"})
        assert met(first) == "quota"
    finally:
        first.close()
        second.close()
