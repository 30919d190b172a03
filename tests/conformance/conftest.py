"""The live conformance runs' fixture: ``refnova serve`` on a file database of its own."""

import json

import pytest


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
