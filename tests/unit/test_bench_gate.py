"""The benchmarks' regression gate (benchmarks/gate.py): it passes what is within target x
(1 + margin), and it fails a run whose path was made slower, a missing ratio, and (when the
services are required) a skipped one."""

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

from benchmarks import gate
from benchmarks.ratios import TARGETS

ROOT = pathlib.Path(__file__).resolve().parents[2]  # the repository


def _run_output(values, skipped=()):
    lines = ["# some pytest output", "ratio-like noise that is not a ratio line"]
    for name, value in values.items():
        lines.append("ratio %s %.3f target %s" % (name, value, TARGETS[name][0]))
    lines += ["skip %s RabbitMQ is not reachable on 127.0.0.1:5672" % name for name in skipped]
    return "\n".join(lines) + "\n"


def _judge(text, margin=0.25, expected=None, require_services=False):
    found, skipped = gate.parse(text)
    return gate.judge(
        found, skipped, margin, expected or list(TARGETS), require_services, known_gaps={}
    )


def test_every_ratio_at_or_under_its_target_passes_and_is_printed():
    passed, report = _judge(_run_output({name: target for name, (target, *_) in TARGETS.items()}))
    assert passed
    assert all(any(line.startswith("gate %s " % name) for line in report) for name in TARGETS)
    assert report[-1].startswith("gate: passed")


def test_a_ratio_over_target_but_within_the_margin_passes():
    values = {name: target for name, (target, *_) in TARGETS.items()}
    values["create"] = TARGETS["create"][0] * 1.2
    passed, report = _judge(_run_output(values), margin=0.25)
    assert passed
    assert any("within the noise margin" in line for line in report)


def test_a_ratio_beyond_the_margin_fails():
    values = {name: target for name, (target, *_) in TARGETS.items()}
    values["cast_memory"] = TARGETS["cast_memory"][0] * 1.3
    passed, report = _judge(_run_output(values), margin=0.25)
    assert not passed
    assert any(line.startswith("gate cast_memory") and "FAIL" in line for line in report)


def test_a_missing_ratio_fails():
    values = {name: target for name, (target, *_) in TARGETS.items() if name != "tracing"}
    passed, report = _judge(_run_output(values))
    assert not passed
    assert any(line.startswith("gate tracing") and "missing" in line for line in report)


def test_a_skipped_ratio_fails_only_when_services_are_required():
    values = {name: target for name, (target, *_) in TARGETS.items() if name != "cast_rabbitmq"}
    text = _run_output(values, skipped=["cast_rabbitmq"])
    assert _judge(text)[0]
    assert not _judge(text, require_services=True)[0]


def test_the_command_line_judges_saved_output(tmp_path):
    saved = tmp_path / "run.txt"
    saved.write_text(_run_output({"validation": 1.1}))
    assert gate.main(["--from", str(saved), "--ratios", "validation"]) == 0
    saved.write_text(_run_output({"validation": 9.0}))
    assert gate.main(["--from", str(saved), "--ratios", "validation"]) == 1


# A deliberately slowed path: every create's checks take 400 microseconds longer, as if a
# change had put something slow in servers.Controller.create.
SLOWDOWN_PLUGIN = textwrap.dedent("""
    import time

    from refnova.api.openstack.compute import servers

    _create = servers.Controller.create

    def create(self, req, body):
        deadline = time.perf_counter() + 0.0004
        while time.perf_counter() < deadline:
            pass
        return _create(self, req, body)

    servers.Controller.create = create
""")


def _gate_on_validation(tmp_path, *plugins):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    command = [
        sys.executable,
        "-m",
        "benchmarks.gate",
        "--quick",
        "--ratios",
        "validation",
        "--",
        "benchmarks/test_validation.py",
        "-q",
    ]
    for plugin in plugins:
        command += ["-p", plugin]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def slowdown_plugin(tmp_path):
    (tmp_path / "bench_slowdown.py").write_text(SLOWDOWN_PLUGIN)
    return "bench_slowdown"


def test_the_quick_mode_passes_the_path_as_it_is(tmp_path):
    done = _gate_on_validation(tmp_path)
    assert "ratio validation " in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 0, done.stdout[-3000:]
    assert "gate: passed" in done.stdout


def test_the_quick_mode_fails_a_slowed_path(tmp_path, slowdown_plugin):
    done = _gate_on_validation(tmp_path, slowdown_plugin)
    assert "ratio validation " in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 1, done.stdout[-3000:]
    assert "gate validation" in done.stdout and "FAIL" in done.stdout
    assert "gate: FAILED" in done.stdout


def test_a_known_gap_is_reported_and_gated_at_its_recorded_ceiling():
    gaps = {"tracing": (2.0, "a reason")}
    values = {name: target for name, (target, *_) in TARGETS.items()}
    values["tracing"] = 1.9
    found, skipped = gate.parse(_run_output(values))
    passed, report = gate.judge(found, skipped, 0.25, list(TARGETS), False, known_gaps=gaps)
    assert passed
    assert any(
        line.startswith("gate tracing") and "target missed (known: a reason)" in line
        for line in report
    )
    values["tracing"] = 2.6
    found, skipped = gate.parse(_run_output(values))
    passed, report = gate.judge(found, skipped, 0.25, list(TARGETS), False, known_gaps=gaps)
    assert not passed


def test_a_ratio_where_more_is_better_fails_below_its_target_over_the_margin():
    values = {name: target for name, (target, *_) in TARGETS.items()}
    values["workers_2"] = 1.2  # 1.4 / 1.25 = 1.12: under target, within the margin
    passed, report = _judge(_run_output(values))
    assert passed
    assert any(line.startswith("gate workers_2") and "under target" in line for line in report)
    values["workers_2"] = 1.0
    passed, report = _judge(_run_output(values))
    assert not passed
    assert any(line.startswith("gate workers_2") and "FAIL (under 1.120" in line for line in report)
