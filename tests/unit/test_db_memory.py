"""In-memory databases copied whole (refnova.db.memory): a database built from a copy of an
empty one's schema is the database that creating the schema makes."""

import pytest

from refnova.db import api as db_api
from refnova.db import memory


def schema_of(database):
    rows = memory.connection_of(database).execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    )
    return rows.fetchall()


def test_a_database_from_a_copied_schema_is_the_one_creating_it_makes():
    template, created = db_api.Database("sqlite://"), db_api.Database("sqlite://")
    copied = db_api.Database("sqlite://", schema_from=template)
    try:
        assert len(schema_of(created)) > 10
        assert schema_of(copied) == schema_of(created)
        db_api.seed_world(copied, {"flavors": [], "quotas": {}})  # writable, as a created one
    finally:
        for database in (template, created, copied):
            database.close()


def test_only_an_in_memory_database_has_one_connection(tmp_path):
    on_file = db_api.Database("sqlite:///%s" % (tmp_path / "file.db"))
    try:
        with pytest.raises(ValueError, match="in-memory SQLite"):
            memory.connection_of(on_file)
    finally:
        on_file.close()
