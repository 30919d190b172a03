"""A deployment of refnova processes over one database and one transport: API processes
(``refnova serve``) and conductors (``refnova conductor``), logging at INFO so that their
builds, redeliveries and rejections can be read; and a way to send requests from many
threads at once."""

import json
import threading

from refnova.world import load_world
from tests.support.http import ServedApi
from tests.support.processes import CONDUCTOR_CONSUMING, Processes

# Room for hundreds of m1.tiny servers: big hosts, no instance quota, no rate limit.
ROOMY_WORLD = {
    "hosts": [
        {
            "host": "compute%d" % n,
            "node": "compute%d" % n,
            "availability_zone": "nova",
            "memory_mb": 1048576,
            "disk_gb": 100000,
            "enabled": True,
        }
        for n in (1, 2, 3)
    ],
    "quotas": {"instances": -1, "cores": -1, "ram": -1},
    "rate_limits": {"POST": -1},
}


def write_world(path, overrides):
    """The reference world with ``overrides``, written to ``path``: the file's name."""
    path.write_text(json.dumps(load_world(overrides)))
    return str(path)


class Cluster(Processes):
    """The processes of one test; all of them end with the test."""

    def __init__(self, workdir):
        super().__init__(workdir, log_level="INFO")

    def api(self, db, transport, world=None, name="api", **settings):
        """``refnova serve`` on db and transport, once it listens: a ServedApi of it."""
        args = ["--db", db, "--transport", transport] + (["--world", world] if world else [])
        process = self.serve(*args, env=self.environment(**settings), name=name)
        return ServedApi(process.url, process)

    def conductor(self, db, transport, world=None, name="conductor", wait=True, **settings):
        """``refnova conductor``; with ``wait``, returned once it consumes its queue."""
        args = ["conductor", "--db", db, "--transport", transport]
        args += ["--world", world] if world else []
        process = self.start(*args, env=self.environment(**settings), name=name)
        if wait:
            process.wait_for_line(CONDUCTOR_CONSUMING)
        return process


def run_threads(count, target):
    """Run ``target(index)`` on ``count`` threads at once; their results, in order."""
    results = [None] * count
    errors = []
    barrier = threading.Barrier(count)

    def run(index):
        try:
            barrier.wait(timeout=30)
            results[index] = target(index)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    if errors:
        raise errors[0]
    return results
