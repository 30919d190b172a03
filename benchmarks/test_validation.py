"""Validation: servers.Controller.create's checks on the typical body, no database.

The path is what the WSGI app does with the body before any row is read: the JSON parse (as
wsgi._deserialize does it), the OS-SCH-HNT and OS-DCF pre-processors, and Controller.create up
to the call into compute.api, whose arguments it captures. The flavor lookup is stubbed out
(it is a database read) and so is compute.api.API.create, which ends the path by raising.
The floor is the same parse and checks written inline for this one body.
"""

import json
import re

from benchmarks import floors
from benchmarks.conftest import interleaved
from refnova.api.openstack import auth
from refnova.api.openstack.compute import extensions, servers
from refnova.compute import api as compute_api
from refnova.db import models


class _Reached(Exception):
    """compute.api.API.create was reached: the checks are done."""


class _StopAtComputeAPI:
    db = None

    def create(self, context, flavor, image_uuid, **kwargs):
        raise _Reached(flavor, image_uuid, kwargs)


class _Controller(servers.Controller):
    flavor = models.Flavor(
        id=1,
        flavorid="1",
        name="m1.tiny",
        memory_mb=512,
        vcpus=1,
        root_gb=1,
        ephemeral_gb=0,
        swap=0,
        extra_specs={},
    )

    def _flavor(self, context, flavorid):
        self.flavor_asked = flavorid
        return self.flavor


class _Request:
    def __init__(self, context):
        self.environ = {"nova.context": context}


def make_path(world, raw):
    config = compute_api.ComputeConfig(quotas=dict(world["quotas"]))
    controller = _Controller(_StopAtComputeAPI(), config)
    defaults = world["defaults"]
    request = _Request(
        auth.context_from_headers(
            {"X-Auth-Token": "%s:%s" % (defaults["user_id"], defaults["project_id"])}
        )
    )

    def path():
        body = json.loads(raw.decode("utf-8"))
        for pre_process in extensions.CREATE_PRE_PROCESSORS:
            pre_process(body)
        try:
            controller.create(request, body)
        except _Reached as reached:
            return controller.flavor_asked, reached.args[1], reached.args[2]
        raise AssertionError("the controller did not reach compute.api")

    return path


def test_the_floor_yields_what_the_controller_hands_on(world, raw_body):
    path_flavor, path_image, path_kwargs = make_path(world, raw_body)()
    floor_flavor, floor_image, floor_kwargs = floors.validation(raw_body)
    assert (floor_flavor, floor_image) == (path_flavor, path_image)
    for kwargs in (path_kwargs, floor_kwargs):
        assert re.fullmatch(r"[2-9A-HJ-NP-Za-km-z]{12}", kwargs.pop("admin_password"))
    assert floor_kwargs == path_kwargs


def test_validation(benchmark, results, world, raw_body):
    benchmark.group = "validation"
    path = make_path(world, raw_body)
    interleaved(
        benchmark,
        results,
        "validation",
        path,
        {"floor": lambda: floors.validation(raw_body)},
        rounds=results.rounds(5000, 1500),
        warmup=results.rounds(500, 200),
    )
