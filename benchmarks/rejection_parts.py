"""Where ``vs_nova_rejection``'s round trip goes on refnova's side (no gate).

``python -m benchmarks.rejection_parts [--count 3000] [--runs 3]``: the rejection
``tools/oracle_timing.py`` times (``POST /v2.1/servers`` with an empty name, a 400 from the
JSON-Schema), on refnova's embedded defaults, three ways, medians on the wall clock:

- ``client+refnova``: the tool's own WebOb client (``oracle_timing.Client.rejection``);
- ``refnova alone``: the same request handed to the app as a prebuilt environ, no client;
- ``client+stub``: the tool's client against a WSGI app that only reads the body and answers
  a fault: what the client costs whatever answers;
- ``schema alone``: Nova's create schema for 2.1 (the version the tool asks for, by asking for
  none) checking the parsed body with ``jsonschema``, as refnova's controller does, up to
  the ``ApiError`` it raises: the part of the rejection no WSGI path can skip.
"""

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import webob

from refnova.api import validation
from refnova.api.openstack.compute.schemas import create_versions
from refnova.config import Settings
from refnova.exception import ApiError
from refnova.service import Deployment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import oracle_timing  # noqa: E402  (a tool, not a package)

FAULT = b'{"badRequest": {"code": 400, "message": "Invalid input"}}'


def stub(environ, start_response):
    environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    start_response("400 Bad Request", [("Content-Type", "application/json")])
    return [FAULT]


def median_us(function, count):
    times = []
    for _ in range(count):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(db_url="sqlite:///%s/refnova.db" % directory)
        with Deployment(settings) as deployment:
            defaults = deployment.world["defaults"]
            user, project = defaults["user_id"], defaults["project_id"]
            client = oracle_timing.Client(deployment.app, user, project, "member")
            stubbed = oracle_timing.Client(stub, user, project, "member")
            body = json.dumps({"server": dict(oracle_timing.SERVER, name="")}).encode()
            environ = webob.Request.blank(
                "/v2.1/servers", method="POST", headers=client.headers, body=body
            ).environ

            def alone():
                status = []
                request = dict(environ, **{"wsgi.input": io.BytesIO(body)})
                b"".join(deployment.app(request, lambda line, *rest: status.append(line)))
                assert status[0].startswith("400"), status

            def through_stub():
                stubbed.request(
                    "POST", "/v2.1/servers", {"server": dict(oracle_timing.SERVER, name="")}
                )

            schema = validation.SchemaValidator(create_versions.schema_for(None))
            parsed = json.loads(body)

            def schema_alone():
                try:
                    schema.validate(parsed)
                except ApiError as error:
                    assert error.status == 400, error
                else:
                    raise AssertionError("the schema accepted an empty name")

            for _ in range(args.runs):
                print(
                    "client+refnova %.1f us  refnova alone %.1f us  client+stub %.1f us  "
                    "schema alone %.1f us"
                    % (
                        median_us(client.rejection, args.count),
                        median_us(alone, args.count),
                        median_us(through_stub, args.count),
                        median_us(schema_alone, args.count),
                    )
                )


if __name__ == "__main__":
    main()
