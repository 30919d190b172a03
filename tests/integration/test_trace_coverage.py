"""Every millisecond of a create inside some span: with a separate conductor on the SQLite
default (the issue's deployment), the children of ``servers.Controller.create`` cover at
least 95 % of its duration, lock waits included (SQLite's ``BEGIN IMMEDIATE`` is a span).

The API and a conductor are two processes over one SQLite file and RabbitMQ (a vhost of the
test's own); creates follow one another, so the conductor's writes meet the next create's
transactions. The figures compare span times within each trace, not wall-clock time.
"""

import pytest

from refnova.tracing import files as tracefiles
from refnova.tracing import views as traceviews
from tests.support.http import PROJECT, ServedApi
from tests.support.processes import clean_environment
from tests.support.tracing import CREATE_SPAN

pytestmark = pytest.mark.rabbitmq

CONTROLLER = "servers.Controller.create"
CREATES = 8


def covered_share(node):
    """The share of a span's duration that its children's spans cover (their union)."""
    span = node.span
    intervals = sorted(
        (max(child.span.start_ns, span.start_ns), min(child.span.end_ns, span.end_ns))
        for child in node.children
    )
    covered, reached = 0, span.start_ns
    for start, end in intervals:
        start = max(start, reached)
        if end > start:
            covered += end - start
            reached = end
    return covered / (span.end_ns - span.start_ns)


def test_children_cover_the_controller_with_a_separate_conductor(
    vhost, refnova_processes, tmp_path
):
    traces_dir = tmp_path / "traces"
    env = clean_environment(OTEL_BSP_SCHEDULE_DELAY="100")
    common = ["--transport", vhost.url, "--traces-dir", str(traces_dir)]
    common += ["--db", "sqlite:///%s" % (tmp_path / "refnova.db")]
    try:
        conductor = refnova_processes.start("conductor", *common, env=env)
        conductor.wait_for_line(r"refnova conductor consuming")
        api = ServedApi(refnova_processes.serve(*common, env=env).url)
        responses = [api.create(name="vm%d" % n) for n in range(CREATES)]
        assert [r.status_code for r in responses] == [202] * CREATES
        for response in responses:
            api.wait_for_status(PROJECT, response.json()["server"]["id"], timeout=60.0)
    finally:
        for process in reversed(refnova_processes.started):
            process.stop()
    shares, trees = [], []
    for response in responses:
        trace_id = response.headers["traceresponse"].split("-")[1]
        records = tracefiles.load_spans(tracefiles.trace_file_path(traces_dir, trace_id))
        nodes = [node for _, node in traceviews.walk(traceviews.build_tree(records))]
        (controller,) = [node for node in nodes if node.span.name == CONTROLLER]
        assert any(node.span.name == CREATE_SPAN for node in nodes)
        # Every transaction's begin is a span: a wait for SQLite's write lock reads as one (a
        # read, the flavor's, begins deferred and takes no lock).
        begins = [n.span.attributes["db.query.text"] for n in nodes if n.span.name == "BEGIN"]
        assert "BEGIN IMMEDIATE" in begins and set(begins) <= {"BEGIN IMMEDIATE", "BEGIN"}
        assert any(node.span.name == "COMMIT" for node in nodes)
        shares.append(covered_share(controller))
        trees.append(traceviews.render_text(records))
    # The median create: one thread preempted between two spans on a busy machine is not
    # time the trace fails to explain.
    median = sorted(shares)[CREATES // 2]
    worst = min(range(CREATES), key=shares.__getitem__)
    assert median >= 0.95, "covered %s; the least covered:\n%s" % (
        ["%.3f" % share for share in shares],
        trees[worst],
    )
