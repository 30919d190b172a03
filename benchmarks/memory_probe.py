"""Peak memory of N whole creates in one process: ``python -m benchmarks.memory_probe [N]``.

A fresh process builds the benchmark deployment (SQLite file, memory://, no in-process
conductor), makes N creates of the typical body through the WSGI app, purging the queue every
100 creates, and prints one JSON line: its peak resident set size before and after the creates.
"""

import json
import os
import resource
import sys
import tempfile

from benchmarks import support


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    creates = int(argv[0]) if argv else 1000
    directory = tempfile.mkdtemp(prefix="refnova-memory-")
    world = support.bench_world()
    with support.make_deployment(
        "sqlite:///%s" % os.path.join(directory, "memory.db")
    ) as deployment:
        post = support.Poster(deployment.app, world, support.typical_body(world))
        post()
        before = _peak_mib()
        for index in range(creates):
            post()
            if index % 100 == 99:
                support.purge_queue(deployment.transport)
        after = _peak_mib()
    print(json.dumps({"creates": creates, "peak_rss_before_mib": before, "peak_rss_mib": after}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
