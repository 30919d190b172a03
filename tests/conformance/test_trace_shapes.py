"""Golden trace shapes: the span tree each traced fixture produces, against traces/*.json.

A fixture with a ``"trace": "traces/<name>.json"`` key is run in-process (as the conformance
suite runs it) with spans recorded; once the conductor's side of a cast has arrived, the
trace of the request is reduced to its shape (names, kinds, error flags and parent links, no
ids or times; database statements as the distinct statements under each span, see
``refnova.tracing.views.shape``) and compared with the golden file. Set
REFNOVA_UPDATE_TRACE_SHAPES=1 to rewrite the golden files from what the code produces (then
review the diff).
"""

import json
import os

import pytest

from refnova.api.openstack.compute import servers
from refnova.compute import api as compute_api
from refnova.conductor import api as conductor_api
from refnova.conductor import manager as conductor_manager
from refnova.conductor import rpcapi as conductor_rpcapi
from refnova.conformance.fixtures import REPO_ROOT, default_fixture_dir, load_fixtures
from refnova.conformance.runners import reference_deployment, run_in_process
from refnova.tracing import views as traceviews
from tests.support.tracing import CREATE_SPAN

TRACES_DIR = REPO_ROOT / "traces"
FIXTURES = [
    fixture
    for version in ("v2", "v2.1")
    for fixture in load_fixtures(default_fixture_dir(version))
    if "trace" in fixture.data
]
IDS = [fixture.id for fixture in FIXTURES]
UPDATE = os.environ.get("REFNOVA_UPDATE_TRACE_SHAPES") == "1"


class _WaitsForTheConductor:
    """A reference deployment whose close() first waits for the conductor's spans."""

    def __init__(self, deployment, recorder):
        self.deployment = deployment
        self.app = deployment.app
        self.recorder = recorder

    def close(self):
        try:
            self.recorder.wait_for_consumers(timeout=15.0)
        finally:
            self.deployment.close()


def run_traced(fixture, recorder):
    """Run a fixture in-process; (its Result, the records of its request's trace)."""

    def factory(world):
        return _WaitsForTheConductor(reference_deployment(world), recorder)

    result = run_in_process(fixture, deployment_factory=factory)
    return result, recorder.trace_of(CREATE_SPAN)


def golden_path(fixture):
    return REPO_ROOT / fixture.data["trace"]


def load_golden(fixture):
    return json.loads(golden_path(fixture).read_text(encoding="utf-8"))


def test_traced_fixtures_cover_success_and_rejections_at_three_layers():
    by_origin = {}
    for fixture in FIXTURES:
        golden = load_golden(fixture)
        assert golden["fixture"] == fixture.path.relative_to(REPO_ROOT).as_posix()
        origins = [
            node["name"]
            for node in _walk(golden["spans"])
            if node.get("error") and not any(c.get("error") for c in node.get("children", []))
        ]
        by_origin.setdefault(origins[0] if origins else None, []).append(fixture.id)
    assert None in by_origin, "no success fixture has a trace shape"
    assert "servers.Controller._check_fields" in by_origin, "no controller rejection"
    assert any(name.startswith("compute.api.API.") and "quota" not in name for name in by_origin), (
        "no compute-API rejection"
    )
    assert "compute.api.API._check_num_instances_quota" in by_origin, "no quota rejection"


def test_every_golden_shape_belongs_to_a_fixture():
    used = {golden_path(fixture).resolve() for fixture in FIXTURES}
    files = {path.resolve() for path in TRACES_DIR.glob("*.json")}
    assert files, "traces/ holds no golden shapes"
    assert sorted(map(str, files - used)) == []


@pytest.mark.parametrize("fixture", FIXTURES, ids=IDS)
def test_trace_matches_golden_shape(fixture, spans):
    result, records = run_traced(fixture, spans)
    assert result.ok, result.describe()
    actual = traceviews.shape(records)
    if UPDATE:
        golden = (
            load_golden(fixture)
            if golden_path(fixture).exists()
            else {"fixture": fixture.path.relative_to(REPO_ROOT).as_posix(), "about": ""}
        )
        golden["spans"] = actual
        golden_path(fixture).write_text(json.dumps(golden, indent=1) + "\n", encoding="utf-8")
        pytest.skip("rewrote %s" % golden_path(fixture).name)
    diff = traceviews.compare_shapes(load_golden(fixture)["spans"], actual)
    assert not diff, "trace of %s differs from %s:\n%s" % (
        fixture.id,
        fixture.data["trace"],
        "\n".join(diff),
    )


# Each of these hops is a Nova function with its own span; without the span, the trace of
# the success fixture must no longer match its golden shape.
HOPS = [
    (servers.Controller, "create", "servers.Controller.create"),
    (compute_api.API, "create", "compute.api.API.create"),
    (compute_api.API, "_create_instance", "compute.api.API._create_instance"),
    (
        compute_api.API,
        "_validate_and_build_base_options",
        "compute.api.API._validate_and_build_base_options",
    ),
    (compute_api.API, "_check_num_instances_quota", "compute.api.API._check_num_instances_quota"),
    (compute_api.API, "_provision_instances", "compute.api.API._provision_instances"),
    (compute_api.API, "_record_action_start", "compute.api.API._record_action_start"),
    (
        conductor_api.ComputeTaskAPI,
        "build_instances",
        "conductor.api.ComputeTaskAPI.build_instances",
    ),
    (
        conductor_rpcapi.ComputeTaskAPI,
        "build_instances",
        "conductor.rpcapi.ComputeTaskAPI.build_instances",
    ),
    (
        conductor_manager.ComputeTaskManager,
        "build_instances",
        "conductor.manager.ComputeTaskManager.build_instances",
    ),
]


def _success_fixture():
    for fixture in FIXTURES:
        if not any(node.get("error") for node in _walk(load_golden(fixture)["spans"])):
            return fixture
    raise AssertionError("no success fixture with a trace shape")


@pytest.mark.parametrize("owner,method,span_name", HOPS, ids=[hop[2] for hop in HOPS])
def test_a_hop_without_its_span_fails_the_comparison(owner, method, span_name, spans, monkeypatch):
    fixture = _success_fixture()
    golden = load_golden(fixture)["spans"]
    assert span_name in {node["name"] for node in _walk(golden)}
    undecorated = getattr(owner, method).__wrapped__
    monkeypatch.setattr(owner, method, undecorated)
    result, records = run_traced(fixture, spans)
    assert result.ok, result.describe()
    assert span_name not in {record.name for record in records}
    diff = traceviews.compare_shapes(golden, traceviews.shape(records))
    assert any(line.startswith("-") and span_name in line for line in diff), "\n".join(diff)


def _splice_out(nodes, target):
    """The shape with node ``target`` removed, its children taking its place."""
    result = []
    for node in nodes:
        if node is target:
            result += node.get("children", [])
            continue
        copy = dict(node)
        if "children" in node:
            copy["children"] = _splice_out(node["children"], target)
        result.append(copy)
    return result


def _walk(nodes):
    for node in nodes:
        yield node
        yield from _walk(node.get("children", []))


def _without_statement(nodes, target, statement):
    result = []
    for node in nodes:
        copy = dict(node)
        if node is target:
            copy["db"] = [s for s in node["db"] if s != statement]
        if "children" in node:
            copy["children"] = _without_statement(node["children"], target, statement)
        result.append(copy)
    return result


@pytest.mark.parametrize("fixture", FIXTURES, ids=IDS)
def test_removing_any_span_from_a_golden_shape_is_a_difference(fixture):
    golden = load_golden(fixture)["spans"]
    for node in _walk(golden):
        diff = traceviews.compare_shapes(golden, _splice_out(golden, node))
        assert diff, "removing %s went unnoticed" % node["name"]
        for statement in node.get("db", []):
            diff = traceviews.compare_shapes(golden, _without_statement(golden, node, statement))
            assert diff, "removing %s under %s went unnoticed" % (statement, node["name"])


def test_without_database_spans_the_success_shape_differs(spans, monkeypatch):
    from refnova import tracing

    monkeypatch.setattr(tracing.SQLAlchemyInstrumentor, "instrument", lambda self, engine: False)
    fixture = _success_fixture()
    result, records = run_traced(fixture, spans)
    assert result.ok, result.describe()
    diff = traceviews.compare_shapes(load_golden(fixture)["spans"], traceviews.shape(records))
    assert any(line.startswith("-") and "(db) INSERT instances" in line for line in diff)
