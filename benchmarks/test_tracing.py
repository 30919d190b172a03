"""The tracing cost: (whole create traced - untraced) over the same number of bare SDK spans.

Measured by ``benchmarks.tracing_probe`` in a process of its own (a process gets one global
tracer provider, and refnova hooks SQLAlchemy only when one is installed before the engine is
made); see that module for how the untraced, traced and floor rounds are interleaved.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_tracing(results, tmp_path):
    command = [
        sys.executable,
        "-m",
        "benchmarks.tracing_probe",
        "--rounds",
        str(results.rounds(600, 150)),
        "--warmup",
        str(results.rounds(50, 20)),
        "--dir",
        str(tmp_path),
    ]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    for name in [name for name in env if name.startswith("OTEL_")]:
        del env[name]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for name, values in report["samples"].items():
        results.record("tracing." + name, values, report["cpu"][name])
    results.figures["spans_per_create"] = (report["span_count"], "spans")
