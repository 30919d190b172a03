#!/usr/bin/env python3
"""Time refnova beside the real Nova 34.0.0: POST -> ACTIVE and a rejected create.

Both run in-process, each in an interpreter of its own: Nova on its functional-test harness
(``tools/nova_oracle.py``: SQLite, the Placement, Glance and Neutron fixtures, the FakeDriver),
refnova on its embedded defaults (an SQLite file, ``memory://``, its conductor in-process,
tracing off). Both are sent the same requests by the same WebOb client (this module, imported
on both sides): ``webob.Request.blank(...).get_response(app)``, no socket.

- **POST -> ACTIVE**: ``POST /v2.1/servers`` (image, flavor 1, one network), then ``GET`` the
  server every millisecond until it is ACTIVE; the time from the POST to the GET that saw it.
- **A rejection**: the same body with an empty name, which both refuse with 400 from the
  JSON-Schema.

Batches alternate between the two (Nova first in even rounds, refnova first in odd ones), so
whatever else the machine does lands on both; after each POST -> ACTIVE batch every server is
deleted (outside the timings), so both stay within the default quotas. Prints one line per
ratio, as the benchmarks do (benchmarks/README.md), and judges them with ``benchmarks.gate``::

    ratio vs_nova_active <refnova median / Nova median> target 0.01
    ratio vs_nova_rejection <refnova median / Nova median> target 0.03

    python tools/oracle_timing.py [--rounds 6] [--batch 10] [--rejections 50]

The Nova side runs on ``--python`` or ``$NOVA_ORACLE_PYTHON`` (default: this interpreter, as
in ``tox -e oracle``), the refnova side on ``--refnova-python`` or ``$REFNOVA_PYTHON`` (default:
the project's ``.venv``, as the README makes it, else this interpreter).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
IMAGE_ID = "155d900f-4e14-4e4c-a73d-069cbf4541e6"  # Nova's GlanceFixture image, world.json's
NETWORK_ID = "3cb9bc59-5699-4588-a4b1-b87f96708bc6"  # Nova's NeutronFixture net, world.json's
SERVER = {
    "name": "timed",
    "imageRef": IMAGE_ID,
    "flavorRef": "1",
    "networks": [{"uuid": NETWORK_ID}],
}
TARGETS = {"vs_nova_active": 0.01, "vs_nova_rejection": 0.03}
POLL_SECONDS = 0.001
SETTLE_TIMEOUT = 120.0


# --------------------------------------------------------------------------- the client


class Client:
    """Requests straight into a WSGI app through WebOb, as one user of one project."""

    def __init__(self, app, user, project, roles):
        import webob

        self.webob = webob
        self.app = app
        self.headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-Auth-User": user,
            "X-User-Id": user,
            "X-Auth-Project-Id": project,
            "X-Roles": roles,
        }

    def request(self, method, path, body=None):
        data = json.dumps(body).encode("utf-8") if body is not None else b""
        request = self.webob.Request.blank(path, method=method, headers=self.headers, body=data)
        response = request.get_response(self.app)
        return response.status_int, (response.json if response.body else None)

    def post_active(self):
        """(seconds to the 202, seconds to the GET that saw ACTIVE, the server's id)."""
        start = time.perf_counter()
        status, body = self.request("POST", "/v2.1/servers", {"server": SERVER})
        accepted = time.perf_counter() - start
        if status != 202:
            raise RuntimeError("create answered %s: %s" % (status, body))
        server_id = body["server"]["id"]
        while True:
            status, shown = self.request("GET", "/v2.1/servers/" + server_id)
            state = shown["server"]["status"]
            if state == "ACTIVE":
                return accepted, time.perf_counter() - start, server_id
            if state == "ERROR" or time.perf_counter() - start > SETTLE_TIMEOUT:
                raise RuntimeError("server %s is %s: %s" % (server_id, state, shown))
            time.sleep(POLL_SECONDS)

    def rejection(self):
        start = time.perf_counter()
        status, body = self.request("POST", "/v2.1/servers", {"server": dict(SERVER, name="")})
        elapsed = time.perf_counter() - start
        if status != 400:
            raise RuntimeError("a create with an empty name answered %s: %s" % (status, body))
        return elapsed

    def delete_all(self):
        """Delete every server of the project and wait until none is listed."""
        _, listed = self.request("GET", "/v2.1/servers")
        for server in listed["servers"]:
            self.request("DELETE", "/v2.1/servers/" + server["id"])
        deadline = time.perf_counter() + SETTLE_TIMEOUT
        while self.request("GET", "/v2.1/servers")[1]["servers"]:
            if time.perf_counter() > deadline:
                raise RuntimeError("servers still listed %ss after their delete" % SETTLE_TIMEOUT)
            time.sleep(0.01)
        return len(listed["servers"])


def serve_commands(client, commands, out):
    """Answer the driver's JSON-line commands (active, rejection, cleanup) until EOF."""
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in commands:
        command = json.loads(line)
        op, count = command["op"], command.get("count", 0)
        if op == "active":
            runs = [client.post_active() for _ in range(count)]
            answer = {"accepted": [r[0] for r in runs], "active": [r[1] for r in runs]}
        elif op == "rejection":
            answer = {"rejection": [client.rejection() for _ in range(count)]}
        else:
            answer = {"deleted": client.delete_all()}
        out.write(json.dumps(answer) + "\n")
        out.flush()


# --------------------------------------------------------------------------- the two sides


def nova_side():
    """Nova 34 on its functional harness; the commands answered from inside its test."""
    sys.path.insert(0, str(TOOLS))
    import nova_oracle  # keeps the real stdout for answers, sends the rest to stderr

    # The harness's compute has 2 vCPUs at the initial allocation ratio 4.0: 8 servers. With
    # 16.0, a batch of 10 (and the servers a slow delete leaves for a moment) fits.
    nova_oracle._SPEC["config"] = {
        "api": {"response_validation": "warn"},
        "DEFAULT": {"cpu_allocation_ratio": 16.0},
    }

    class Timing(nova_oracle._Oracle):
        def test_oracle(self):
            import wsgi_intercept

            url = urlsplit(self.api_fixture.base_url)
            make_app, _ = wsgi_intercept._wsgi_intercept[(url.hostname, url.port or 80)]
            client = Client(make_app(), "fake", self.api_fixture.project_id, "reader,member")
            serve_commands(client, sys.stdin, nova_oracle._REAL_STDOUT)

    import unittest

    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=0).run(
        unittest.TestSuite([Timing("test_oracle")])
    )
    return 0 if result.wasSuccessful() else 1


def refnova_side():
    """refnova's embedded defaults: an SQLite file, memory://, the conductor in-process."""
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.path.insert(0, str(REPO))
    from refnova.config import Settings
    from refnova.service import Deployment

    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(db_url="sqlite:///%s/refnova.db" % directory)
        with Deployment(settings) as deployment:
            defaults = deployment.world["defaults"]
            client = Client(deployment.app, defaults["user_id"], defaults["project_id"], "member")
            serve_commands(client, sys.stdin, out)
    return 0


SIDES = {"nova": nova_side, "refnova": refnova_side}


def _refnova_python():
    """$REFNOVA_PYTHON, else the project's .venv (README), else this interpreter."""
    venv = REPO / ".venv" / "bin" / "python"
    default = str(venv) if venv.exists() else sys.executable
    return os.environ.get("REFNOVA_PYTHON", default)


# --------------------------------------------------------------------------- the driver


class Side:
    """One side's interpreter, running this file with ``--side``."""

    def __init__(self, name, python):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "REFNOVA_"))}
        self.name = name
        # Nova's harness logs a great deal: kept in a file, named if the side fails.
        self.log = tempfile.NamedTemporaryFile(prefix="oracle-timing-%s-" % name, suffix=".log")
        self.process = subprocess.Popen(
            [python, str(Path(__file__).resolve()), "--side", name],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.read()  # {"ready": true}, once set up

    def read(self):
        line = self.process.stdout.readline()
        if not line:
            self.log.seek(0)
            tail = self.log.read()[-3000:].decode("utf-8", "replace")
            raise RuntimeError(
                "the %s side ended (status %s):\n%s" % (self.name, self.process.wait(), tail)
            )
        return json.loads(line)

    def ask(self, op, count=0):
        self.process.stdin.write(json.dumps({"op": op, "count": count}) + "\n")
        self.process.stdin.flush()
        return self.read()

    def close(self):
        self.process.stdin.close()
        self.process.wait(120)
        self.log.close()


def measure(sides, rounds, batch, rejections):
    samples = {(name, kind): [] for name in sides for kind in ("accepted", "active", "rejection")}
    for index in range(rounds):
        order = list(sides) if index % 2 == 0 else list(sides)[::-1]
        for name in order:
            answer = sides[name].ask("active", batch)
            samples[name, "accepted"] += answer["accepted"]
            samples[name, "active"] += answer["active"]
            sides[name].ask("cleanup")
        for name in order:
            samples[name, "rejection"] += sides[name].ask("rejection", rejections)["rejection"]
    return {key: statistics.median(values) for key, values in samples.items()}


def report(medians, counts):
    lines = []
    for kind in ("accepted", "active", "rejection"):
        for name in ("nova", "refnova"):
            lines.append(
                "figure %s_%s_ms %.3f ms (median of %d)"
                % (name, kind, medians[name, kind] * 1e3, counts[kind])
            )
    for ratio, kind in (("vs_nova_active", "active"), ("vs_nova_rejection", "rejection")):
        value = medians["refnova", kind] / medians["nova", kind]
        lines.append("ratio %s %.4f target %s" % (ratio, value, TARGETS[ratio]))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(prog="oracle_timing.py", description=__doc__.split("\n")[0])
    parser.add_argument("--side", choices=sorted(SIDES), help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=6, help="batches of each (default 6)")
    parser.add_argument("--batch", type=int, default=10, help="creates per batch (default 10)")
    parser.add_argument(
        "--rejections", type=int, default=50, help="rejections per batch (default 50)"
    )
    parser.add_argument("--python", default=os.environ.get("NOVA_ORACLE_PYTHON", sys.executable))
    parser.add_argument("--refnova-python", default=_refnova_python())
    args = parser.parse_args(argv)
    if args.side:
        return SIDES[args.side]()

    sides = {"nova": Side("nova", args.python), "refnova": Side("refnova", args.refnova_python)}
    try:
        medians = measure(sides, args.rounds, args.batch, args.rejections)
    finally:
        for side in sides.values():
            side.close()
    counts = {
        "accepted": args.rounds * args.batch,
        "active": args.rounds * args.batch,
        "rejection": args.rounds * args.rejections,
    }
    lines = report(medians, counts)
    print("\n".join(lines))
    sys.path.insert(0, str(REPO))
    from benchmarks import gate

    found, skipped = gate.parse("\n".join(lines))
    passed, verdict = gate.judge(
        found, skipped, gate.DEFAULT_MARGIN, list(TARGETS), False, known_gaps={}
    )
    print("\n".join(verdict))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
