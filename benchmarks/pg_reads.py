"""A server's show on PostgreSQL, its reads in a transaction or outside one (no gate).

``python -m benchmarks.pg_reads [--rounds 4] [--shows 2000]``: one deployment on a throwaway
PostgreSQL database (``support.postgresql_database``), one server created, then rounds of
``GET /v2/{project_id}/servers/{id}`` straight into the WSGI app, alternating the engine its
reads use: ``transaction`` (BEGIN ... COMMIT around each read, as before) and ``autocommit``
(``refnova.db.engine.read_only_options``, what a deployment uses). Prints, for each, the
median wall time of a show and the CPU PostgreSQL's backends spent per show (from /proc).
"""

import argparse
import io
import json
import os
import statistics
import time

from sqlalchemy import text

from benchmarks import support
from refnova.db.engine import READ_ONLY


def backend_cpu(pids):
    total = 0.0
    for pid in pids:
        with open("/proc/%d/stat" % pid) as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--shows", type=int, default=2000)
    args = parser.parse_args(argv)
    with support.postgresql_database() as url:
        deployment = support.make_deployment(url)
        post = support.Poster(
            deployment.app, deployment.world, support.typical_body(deployment.world)
        )
        server_id = json.loads(post())["server"]["id"]
        environ = dict(post.environ, REQUEST_METHOD="GET", CONTENT_LENGTH="0")
        environ["PATH_INFO"] += "/" + server_id

        def show():
            status = []
            request = dict(environ, **{"wsgi.input": io.BytesIO(b"")})
            b"".join(deployment.app(request, lambda line, headers, info=None: status.append(line)))
            assert status[0].startswith("200"), status

        engines = {
            "autocommit": deployment.db._read_engine,
            "transaction": deployment.db.engine.execution_options(**{READ_ONLY: True}),
        }
        with deployment.db.engine.connect() as connection:
            pids = connection.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).all()
        for _ in range(args.rounds):
            for name, engine in engines.items():
                deployment.db._read_engine = engine
                for _ in range(100):
                    show()
                cpu, times = backend_cpu(pids), []
                for _ in range(args.shows):
                    start = time.perf_counter()
                    show()
                    times.append(time.perf_counter() - start)
                used = (backend_cpu(pids) - cpu) / args.shows
                print(
                    "%-11s show %.0f us (median), PostgreSQL %.0f us of CPU a show"
                    % (name, statistics.median(times) * 1e6, used * 1e6)
                )
        deployment.db._read_engine = engines["autocommit"]
        deployment.close()


if __name__ == "__main__":
    main()
