"""tools/oracle_timing.py without Nova: its WebOb client against refnova in-process, the
driver's protocol through the refnova side in a child interpreter, and its ratio lines."""

import importlib.util
import io
import json
import sys

from benchmarks import gate
from refnova.conformance.fixtures import REPO_ROOT
from tests.support.deployment import make_deployment

TOOL = REPO_ROOT / "tools" / "oracle_timing.py"
spec = importlib.util.spec_from_file_location("oracle_timing", TOOL)
oracle_timing = importlib.util.module_from_spec(spec)
spec.loader.exec_module(oracle_timing)


def test_the_client_sees_a_create_active_a_rejection_400_and_deletes_every_server():
    with make_deployment() as deployment:
        defaults = deployment.world["defaults"]
        client = oracle_timing.Client(
            deployment.app, defaults["user_id"], defaults["project_id"], "member"
        )
        accepted, active, server_id = client.post_active()
        assert 0 < accepted <= active
        assert client.request("GET", "/v2.1/servers/" + server_id)[1]["server"]["status"] == (
            "ACTIVE"
        )
        assert client.rejection() > 0
        assert client.delete_all() == 1
        assert client.request("GET", "/v2.1/servers")[1]["servers"] == []


def test_the_commands_are_answered_as_json_lines():
    with make_deployment() as deployment:
        defaults = deployment.world["defaults"]
        client = oracle_timing.Client(
            deployment.app, defaults["user_id"], defaults["project_id"], "member"
        )
        commands = [
            json.dumps({"op": "active", "count": 2}),
            json.dumps({"op": "cleanup"}),
            json.dumps({"op": "rejection", "count": 3}),
        ]
        out = io.StringIO()
        oracle_timing.serve_commands(client, commands, out)
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert answers[0] == {"ready": True}
    assert [len(answers[1]["accepted"]), len(answers[1]["active"])] == [2, 2]
    assert answers[2] == {"deleted": 2}
    assert len(answers[3]["rejection"]) == 3


def test_the_refnova_side_runs_in_its_own_interpreter():
    side = oracle_timing.Side("refnova", sys.executable)
    try:
        assert len(side.ask("active", 1)["active"]) == 1
        assert side.ask("cleanup") == {"deleted": 1}
    finally:
        side.close()
    assert side.process.returncode == 0


def test_the_ratio_lines_are_refnova_over_nova_and_the_gate_reads_them():
    medians = {
        ("nova", "accepted"): 0.5,
        ("refnova", "accepted"): 0.002,
        ("nova", "active"): 0.8,
        ("refnova", "active"): 0.004,
        ("nova", "rejection"): 0.0015,
        ("refnova", "rejection"): 0.00006,
    }
    lines = oracle_timing.report(medians, {"accepted": 60, "active": 60, "rejection": 300})
    assert "ratio vs_nova_active 0.0050 target 0.01" in lines
    assert "ratio vs_nova_rejection 0.0400 target 0.03" in lines
    found, _ = gate.parse("\n".join(lines))
    passed, report = gate.judge(found, {}, 0.25, list(oracle_timing.TARGETS), False, known_gaps={})
    assert not passed  # 0.04 is over 0.03 x 1.25
    assert report[0].endswith("ok")


def test_the_rejections_parts_are_measured_on_the_same_rejection(capsys):
    """benchmarks/rejection_parts.py: its four figures, each of a request or check that
    really rejected (each asserts its 400)."""
    from benchmarks import rejection_parts

    rejection_parts.main(["--count", "5", "--runs", "1"])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    names = ("client+refnova", "refnova alone", "client+stub", "schema alone")
    for name in names:
        assert name + " " in line, line
    figures = [float(word) for word in line.split() if word.replace(".", "", 1).isdigit()]
    assert len(figures) == len(names) and all(figure > 0 for figure in figures), line
