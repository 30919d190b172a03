"""A world file whose behaviours are not valid stops refnova before it starts: one line
naming the file and the behaviour, exit status 2."""

import json

from refnova import cli
from refnova.world import load_world


def test_an_invalid_world_behaviour_is_one_line_and_status_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("REFNOVA_DB_URL", "REFNOVA_TRANSPORT_URL", "REFNOVA_DEBUG", "REFNOVA_PORT"):
        monkeypatch.delenv(name, raising=False)
    world = tmp_path / "world.json"
    bad = {"name": "fail", "parameters": {"code": 99}}
    world.write_text(json.dumps(load_world({"behaviours": [{"name": "build"}, bad]})))
    assert cli.main(["serve", "--world", str(world), "--port", "0"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "refnova serve: error: world file %s: behaviours[1]: parameters.code must be an "
        "integer from 400 to 599; got 99" % world
    ]
