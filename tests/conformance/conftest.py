"""The conformance tests' fixtures: ``refnova serve`` on a file database of its own for the live
runs, and one in-process deployment per world for the golden fixtures' modules."""

import json

import pytest

from refnova.conformance.runners import in_process_deployments


@pytest.fixture
def serve(refnova_processes, tmp_path):
    """Start ``refnova serve`` (optionally on a world of its own): its base URL."""

    def start(world=None, *options):
        number = len(refnova_processes.started)
        args = ["--db", "sqlite:///%s" % (tmp_path / ("serve-%d.db" % number)), *options]
        if world is not None:
            world_file = tmp_path / ("world-%d.json" % number)
            world_file.write_text(json.dumps(world))
            args += ["--world", str(world_file)]
        return refnova_processes.serve(*args).url

    return start


@pytest.fixture(scope="module")
def deployments():
    """One deployment per world for the module, reset before each fixture (as the CLI runs)."""
    with in_process_deployments() as made:
        yield made
