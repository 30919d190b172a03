"""From an answer to its trace: ``refnova serve`` tracing to a file answers every request
with W3C's ``traceresponse`` header, and ``refnova trace show <trace id>`` finds the trace.

The process runs in the test's directory with ``--tracing file`` (OTLP JSON lines in
``refnova-traces.jsonl``, the default) and its in-process conductor on memory://.
"""

import re

import requests

from tests.support.http import PROJECT, ServedApi
from tests.support.processes import clean_environment, run
from tests.support.tracing import CREATE_SPAN

TRACERESPONSE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def test_a_create_s_traceresponse_finds_its_trace(refnova_processes, tmp_path):
    env = clean_environment(OTEL_BSP_SCHEDULE_DELAY="100")
    api = refnova_processes.serve(
        "--db", "sqlite:///%s" % (tmp_path / "api.db"), "--tracing", "file", env=env
    )
    served = ServedApi(api.url)
    try:
        created = served.create(name="found")
        assert created.status_code == 202, created.text
        served.wait_for_status(PROJECT, created.json()["server"]["id"])
        refused = served.create(flavorRef="999")  # a 400 answers with its trace too
        assert refused.status_code == 400
        unauthenticated = requests.get("%s/v2/%s/servers" % (api.url, PROJECT), timeout=30)
        assert unauthenticated.status_code == 401
    finally:
        assert api.stop() == 0, api.output()  # the exporter flushes on the way out

    ids = []
    for response in (created, refused, unauthenticated):
        found = TRACERESPONSE.match(response.headers["traceresponse"])
        assert found, response.headers["traceresponse"]
        assert int(found.group(3), 16) & 1  # sampled
        ids.append(found.group(1))
    assert len(set(ids)) == 3

    shown = run("trace", "show", ids[0], cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("trace %s: " % ids[0])
    server_line = next(line for line in lines if CREATE_SPAN in line)
    assert "[SERVER]" in server_line and "-> 202" in server_line
    assert any("process nova:conductor  [CONSUMER]" in line for line in lines)

    shown = run("trace", "show", ids[1], cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "compute.flavors.get_flavor_by_flavor_id" in shown.stdout
    assert "-> 400 badRequest" in shown.stdout

    missing = run("trace", "show", "0" * 31 + "1", cwd=tmp_path)
    assert missing.returncode != 0
    assert "no trace %s" % ("0" * 31 + "1") in missing.stderr
