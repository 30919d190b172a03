"""An in-process run shared among forked processes: the shares, when a run forks, and that
the forked run answers what one process answers, in the same order.

Forking runs in a fresh interpreter of its own (a subprocess): the test process may hold
threads of other tests, and a run only forks where none runs."""

import json
import os
import pickle
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from refnova.cli import main
from refnova.conformance import parallel
from refnova.conformance.fixtures import REPO_ROOT, Fixture
from refnova.conformance.results import PASS


def fixture(name, world=None):
    data = {"name": name, "request": {}, "expect": {"status": 200}}
    if world is not None:
        data["world"] = world
    return Fixture(Path(name + ".json"), data)


def test_every_fixture_lands_in_exactly_one_share_in_its_order():
    fixtures = [
        fixture("f%d" % i, {"quotas": {"instances": i % 3}} if i % 5 == 0 else None)
        for i in range(50)
    ]
    shares = parallel.share(fixtures, 3)
    assert len(shares) == 3
    assert sorted(i for s in shares for i in s) == list(range(50))
    assert all(s == sorted(s) for s in shares)
    assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_a_world_of_its_own_stays_in_one_share():
    fixtures = [fixture("r%d" % i) for i in range(20)]
    fixtures += [fixture("w%d" % i, {"port_quota": 3}) for i in range(5)]
    shares = parallel.share(fixtures, 2)
    holding = [s for s in shares if any(i >= 20 for i in s)]
    assert len(holding) == 1 and set(range(20, 25)) <= set(holding[0])
    assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_a_share_is_never_empty():
    assert parallel.share([fixture("a"), fixture("b")], 4) == [[0], [1]]


def test_a_small_run_or_a_run_that_cannot_fork_stays_in_one_process(monkeypatch):
    monkeypatch.setattr(parallel, "can_fork", lambda: True)
    assert parallel.jobs_for(100, 8, min_per_job=40) == 2
    assert parallel.jobs_for(1000, 2, min_per_job=40) == 2
    assert parallel.jobs_for(39, 8, min_per_job=40) == 1
    monkeypatch.setattr(parallel, "can_fork", lambda: False)
    assert parallel.jobs_for(1000, 8) == 1


def test_no_fork_while_another_thread_runs():
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not parallel.can_fork()
    finally:
        stop.set()
        other.join()


FORKED_RUN = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from refnova.conformance import parallel
    from refnova.conformance.fixtures import load_fixtures
    from refnova.conformance.in_process import run_all_in_process
    from refnova.conformance.world import load_reference_world

    pids = Path(sys.argv[1])
    fixtures = load_fixtures(Path(sys.argv[2]))
    chosen = fixtures[:24] + [f for f in fixtures[24:] if f.world][:6]

    def loader(world):
        with pids.open("a") as out:  # which processes built a deployment
            out.write("%d\\n" % os.getpid())
        return load_reference_world(world)

    def summary(results):
        return [[r.fixture.id, r.outcome, r.status, list(r.mismatches)] for r in results]

    seen = []
    forked = parallel.run_in_processes(
        chosen, 2, progress=seen.append, world_loader=loader, min_per_job=1
    )
    alone = run_all_in_process(chosen)
    print(json.dumps({"forked": summary(forked), "alone": summary(alone),
                      "progress": sorted(r.fixture.id for r in seen),
                      "ids": [f.id for f in chosen]}))
    """
)


def run_script(script, *args):
    done = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
    )
    return done


def test_a_forked_run_answers_as_one_process_does_in_the_fixtures_order(tmp_path):
    pids = tmp_path / "pids"
    done = run_script(FORKED_RUN, pids, REPO_ROOT / "fixtures" / "v2.1")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert [row[0] for row in answer["forked"]] == answer["ids"]
    assert answer["forked"] == answer["alone"]
    assert all(row[1] == PASS for row in answer["forked"])
    assert answer["progress"] == sorted(answer["ids"])  # each fixture reported once
    # Two processes built deployments for the forked run (the parent also for the lone run).
    assert len(set(pids.read_text().split())) == 2


FAILING_CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from refnova.conformance import parallel
    from refnova.conformance.fixtures import load_fixtures
    from refnova.conformance.in_process import reference_deployment

    parent = os.getpid()

    def factory(world):
        if os.getpid() != parent:
            raise RuntimeError("no deployment in this child")
        return reference_deployment(world)

    fixtures = load_fixtures(Path(sys.argv[1]))[:4]
    try:
        parallel.run_in_processes(fixtures, 2, deployment_factory=factory, min_per_job=1)
    except parallel.ChildFailed as error:
        print("ChildFailed:", error)
    """
)


def test_a_child_that_fails_fails_the_run_with_its_traceback():
    done = run_script(FAILING_CHILD, REPO_ROOT / "fixtures" / "v2")
    assert done.returncode == 0, done.stderr
    assert "ChildFailed: a process of the run" in done.stdout
    assert "RuntimeError: no deployment in this child" in done.stdout


def test_the_command_forked_prints_what_it_prints_in_one_process():
    command = [sys.executable, "-m", "refnova.cli", "conformance", "--contract", "v2"]
    one = subprocess.run(command + ["-j", "1"], capture_output=True, text=True, cwd=REPO_ROOT)
    two = subprocess.run(command + ["-j", "2"], capture_output=True, text=True, cwd=REPO_ROOT)
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    assert two.stdout == one.stdout
    assert " passed, 0 failed" in two.stdout


def test_jobs_are_for_an_in_process_run(capsys):
    assert main(["conformance", "--target", "http://nova.example:8774", "--jobs", "2"]) == 2
    assert "--jobs is for an in-process run" in capsys.readouterr().err


def test_jobs_must_be_one_or_more(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["conformance", "-j", "0"])
    assert exited.value.code == 2
    assert "must be 1 or more" in capsys.readouterr().err


def test_a_child_that_ends_while_answering_fails_the_run():
    reader, writer = os.pipe()
    os.write(writer, pickle.dumps(("results", ["a result"]))[:7])  # cut short
    os.close(writer)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])  # a child that has ended well
    with pytest.raises(parallel.ChildFailed, match="no whole answer"):
        parallel._Child(ended.pid, reader, [0]).collect()
