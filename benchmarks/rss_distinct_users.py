"""RSS of a ``refnova serve`` before and after POSTs from many distinct users (issue 13).

Each POST is a /v2 create with an empty server (400 from the controller, after the rate
limiter counted it), from a user never seen before. Prints one JSON line: the resident set
size after 1,000 warm-up POSTs, after ``USERS`` distinct users, and after ``USERS`` more.

    .venv/bin/python -m benchmarks.rss_distinct_users [USERS] [SOURCE_DIR]

SOURCE_DIR (default: this checkout) is put first on PYTHONPATH, to measure another tree.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

import requests

PROJECT = "6f70656e737461636b20342065766572"
SERVE = "import sys; from refnova.cli import main; sys.argv[0] = 'refnova'; sys.exit(main())"


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1)) / 1024


def main():
    users = int(sys.argv[1]) if len(sys.argv) > 1 else 60000
    source = sys.argv[2] if len(sys.argv) > 2 else os.getcwd()
    workdir = tempfile.mkdtemp(prefix="refnova-rss-")
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, "serve", "--port", "0", "--db", "sqlite:///refnova.db"],
        cwd=workdir,
        env=dict(os.environ, PYTHONPATH=source),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = next(
            found.group(1)
            for line in process.stderr
            if (found := re.search(r"(http://127\.0\.0\.1:\d+)", line))
        )
        session = requests.Session()

        def post(user):
            response = session.post(
                "%s/v2/%s/servers" % (url, PROJECT),
                data='{"server": {}}',
                headers={
                    "X-Auth-Token": "%s:%s" % (user, PROJECT),
                    "Content-Type": "application/json",
                },
            )
            assert response.status_code == 400, response.text

        for number in range(1000):
            post("warm-%d" % (number % 10))
        figures = {"users": users, "rss_mb_before": round(rss_mb(process.pid), 1)}
        for round_name in ("after_first", "after_second"):
            for number in range(users):
                post("%s-%d" % (round_name, number))
            figures[round_name] = round(rss_mb(process.pid), 1)
        print(json.dumps(figures))
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
