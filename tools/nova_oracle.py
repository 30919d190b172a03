#!/usr/bin/env python
"""Real-Nova HTTP oracle.

(Vendored from the project's reference tooling, tools/nova-oracle/oracle.py, for
``tools/oracle_check.py`` and ``tox -e oracle``. Changes to the original: every response
header is reported; a ``"world"`` section seeds the fake Glance and Neutron before the API
starts; the fake Neutron client gets python-neutronclient's own find-by-name-or-id, which
Nova uses for security groups and which the fixture lacks; a ``{"cleanup": true}`` request
deletes every server and waits until they are gone; ``{answer[I].path}`` placeholders are
filled from earlier answers. See "World" below.)

Runs the REAL OpenStack Nova compute API (installed from PyPI, e.g.
nova==34.0.0) in-process, using Nova's own functional-test harness
(nova.tests.functional.integrated_helpers._IntegratedTestBase: sqlite DBs,
PlacementFixture, GlanceFixture, NeutronFixture, CinderFixture,
CastAsCallFixture, fake virt driver, conductor/scheduler/compute services,
OSAPIFixture with stubbed keystone).  No socket is opened: requests are
routed to the WSGI app with wsgi-intercept.

Setup (about 1 minute, ~400 MB):
    python3 -m venv <oracle-dir>/venv
    <oracle-dir>/venv/bin/pip install nova==34.0.0 'SQLAlchemy<2.1' \
        openstack-placement oslotest wsgi-intercept
  (SQLAlchemy 2.1 emits SADeprecationWarning for noload(); nova's test
  harness turns warnings into errors -> 500s. Pin <2.1.)

Usage:
    <oracle-dir>/venv/bin/python oracle.py REQUESTS.json \
        [--isolate] [--out RESULTS.json]

REQUESTS.json is either a JSON list of requests, or an object
    {"config": {"quota": {"instances": 1}, "api": {...}},   # oslo.config
     "requests": [ ... ]}
Each request:
    {"method": "POST",                  # default GET
     "path": "/v2.1/servers",           # also "/v2/servers",
                                        #      "/v2/{project_id}/servers"
     "body": {...} | "raw string",      # dict/list -> JSON, str -> raw bytes
     "headers": {...},                  # merged over defaults; null removes
     "as": "user"|"admin"|"reader"|"other",  # identity (default user)
     "microversion": "2.1",             # sets both microversion headers
     "name": "free text label"}
A request {"cleanup": true} (no method/path) deletes every server of the deployment, as
admin, and waits until they are gone: the next request sees an unused project.

Placeholders substituted in path and (serialized) body:
    {project_id} {image_id} {flavor_id} {flavor_ref} {network_id}
    {last_server_id}  (id of the last server created with 202)
    {answer[I].server.id}, {answer[I].servers[0].name}, ...  (a leaf of the JSON
                      answer to request I of this run: dotted keys, [index])

"world" (optional, beside "config") seeds the fake services before the API starts:
    {"images": [<glance image dict>, ...],            # GlanceFixture.create (replaces)
     "networks": [<neutron network dict>, ...],       # NeutronFixture
     "ports": [<neutron port dict>, ...],
     "security_groups": [<neutron security group dict>, ...]}
Network, port and security group dicts get the fixture project's tenant_id/project_id
unless they name one.

"config" values are oslo.config overrides applied before the API starts,
e.g. {"quota": {"instances": 1}} or {"oslo_policy":
{"enforce_new_defaults": true}} (the harness otherwise lets deprecated
policy rules through, so e.g. a reader-only token may create servers).

By default all requests share one Nova "deployment" (state persists, in
order).  With --isolate each request gets a fresh deployment (~2 s each).

Output: one JSON object per request on stdout (JSON lines), and the whole
list in --out if given:
    {"i": 0, "name": ..., "method": ..., "path": ..., "status": 400,
     "body": {...} or text, "headers": {...selected...}}
"""

import json
import os
import re
import sys
import time

# Keep a private handle on the real stdout for the JSON results, and send
# everything else written to fd 1 (nova/oslo logging after fixture cleanup,
# eventlet warnings, ...) to stderr so stdout stays pure JSON lines.
_REAL_STDOUT = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)

import unittest  # noqa: E402

import requests  # noqa: E402
from nova.tests.functional import integrated_helpers  # noqa: E402

IMAGE_ID = "155d900f-4e14-4e4c-a73d-069cbf4541e6"  # GlanceFixture image
FLAVOR_ID = "1"  # m1.tiny
NETWORK_ID = "3cb9bc59-5699-4588-a4b1-b87f96708bc6"  # NeutronFixture net 1

_SPEC = {"config": {}, "requests": []}
_ANSWER_RE = re.compile(r"\{answer\[(\d+)\]((?:\.[^.\[\]{}]+|\[\d+\])*)\}")
_ANSWER_STEP_RE = re.compile(r"\.([^.\[\]{}]+)|\[(\d+)\]")
_RESULTS = []
_NEUTRON_LOOKUP = (
    "find_resource",
    "find_resource_by_id",
    "_find_resource_by_name",
    "get_resource_plural",
)


def _answer_leaf(found):
    """The text of ``{answer[I].path}``: a leaf of the JSON answer to request I."""
    value = next(r for r in _RESULTS if r["i"] == int(found.group(1)))["body"]
    for key, index in _ANSWER_STEP_RE.findall(found.group(2)):
        value = value[key] if key else value[int(index)]
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


class _Oracle(integrated_helpers._IntegratedTestBase):
    REQUIRES_LOCKING = True

    def _setup_services(self):
        # The ConfFixture points api_paste_config at <site-packages>/../etc;
        # pip installs it at <venv>/etc/nova/api-paste.ini.
        paste = os.path.join(sys.prefix, "etc", "nova", "api-paste.ini")
        if os.path.exists(paste):
            self.flags(api_paste_config=paste, group="wsgi")
        # make [oslo_policy] options settable from "config" (they are
        # otherwise registered lazily on first policy check)
        from oslo_config import cfg
        from oslo_policy import opts as policy_opts

        policy_opts._register(cfg.CONF)
        for group, opts in _SPEC.get("config", {}).items():
            g = None if group in ("DEFAULT", "") else group
            self.flags(group=g, **opts)
        if "oslo_policy" in _SPEC.get("config", {}):
            # RealPolicyFixture already built the enforcer; rebuild it
            import nova.policy

            nova.policy.reset()
            nova.policy.init(suppress_deprecation_warnings=True)
        self._seed_world(_SPEC.get("world") or {})
        super()._setup_services()

    def _seed_world(self, world):
        import types

        from neutronclient.v2_0 import client as neutron_client

        for image in world.get("images", []):
            self.glance.images.pop(str(image["id"]), None)  # replaces a fixture image
            self.glance.create(None, dict(image))
        project = self.neutron.tenant_id
        for key, table in (
            ("networks", self.neutron._networks),
            ("ports", self.neutron._ports),
            ("security_groups", self.neutron._security_groups),
        ):
            for item in world.get(key, []):
                item = dict(item)
                item.setdefault("tenant_id", project)
                item.setdefault("project_id", item["tenant_id"])
                table[item["id"]] = item
        # python-neutronclient's lookup by name or id, as a real client does it
        self.neutron.EXTED_PLURALS = neutron_client.Client.EXTED_PLURALS
        for name in _NEUTRON_LOOKUP:
            setattr(
                self.neutron,
                name,
                types.MethodType(getattr(neutron_client.ClientBase, name), self.neutron),
            )

    def _run_requests(self, reqs, offset=0):
        fx = self.api_fixture
        base = fx.base_url.split("/v2")[0]  # http://<uuid-host>:80
        project = fx.project_id
        idents = {
            "user": ("fake", "reader,member"),
            "admin": ("admin", "reader,member,admin"),
            "reader": ("reader", "reader"),
            "other": ("other", "other"),
        }
        last_server = ""
        for i, r in enumerate(reqs, offset):
            if r.get("cleanup"):
                out = {
                    "i": i,
                    "name": r.get("name"),
                    "method": "CLEANUP",
                    "path": "",
                    "status": 200,
                    "headers": {},
                    "body": {"deleted": self._delete_all(base, project)},
                }
                _RESULTS.append(out)
                _REAL_STDOUT.write(json.dumps(out, sort_keys=True) + "\n")
                _REAL_STDOUT.flush()
                continue
            subst = {
                "{project_id}": project,
                "{image_id}": IMAGE_ID,
                "{flavor_id}": FLAVOR_ID,
                "{flavor_ref}": "http://fake.server/%s" % FLAVOR_ID,
                "{network_id}": NETWORK_ID,
                "{last_server_id}": last_server,
            }

            def sub(s, subst=subst):
                for k, v in subst.items():
                    s = s.replace(k, v)
                return _ANSWER_RE.sub(_answer_leaf, s)

            method = r.get("method", "GET").upper()
            path = sub(r.get("path", "/v2.1/servers"))
            body = r.get("body", None)
            if body is None:
                data = None
            elif isinstance(body, str):
                data = sub(body).encode("utf-8")
            else:
                data = sub(json.dumps(body)).encode("utf-8")
            user, roles = idents[r.get("as", "user")]
            headers = {
                "Content-Type": "application/json",
                "X-Auth-User": user,
                "X-User-Id": user,
                "X-Auth-Project-Id": project,
                "X-Roles": roles,
            }
            mv = r.get("microversion")
            if mv:
                headers["X-OpenStack-Nova-API-Version"] = mv
                headers["OpenStack-API-Version"] = "compute %s" % mv
            for k, v in (r.get("headers") or {}).items():
                if v is None:
                    headers.pop(k, None)
                else:
                    headers[k] = v
            resp = requests.request(method, base + path, data=data, headers=headers)
            try:
                rbody = resp.json()
            except ValueError:
                rbody = resp.text
            if (
                method == "POST"
                and resp.status_code == 202
                and isinstance(rbody, dict)
                and isinstance(rbody.get("server"), dict)
            ):
                last_server = rbody["server"].get("id", last_server)
            if method == "POST" and resp.status_code in (200, 202):
                self._settle(base, project)
            out = {
                "i": i,
                "name": r.get("name"),
                "method": method,
                "path": path,
                "status": resp.status_code,
                "body": rbody,
                "headers": dict(resp.headers.items()),
            }
            _RESULTS.append(out)
            _REAL_STDOUT.write(json.dumps(out, sort_keys=True) + "\n")
            _REAL_STDOUT.flush()

    def _delete_all(self, base, project, timeout=60.0):
        """Delete every server (as admin) and wait until none is left."""
        headers = {
            "X-Auth-User": "admin",
            "X-User-Id": "admin",
            "X-Auth-Project-Id": project,
            "X-Roles": "reader,member,admin",
            "X-OpenStack-Nova-API-Version": "2.1",
        }
        url = base + "/v2.1/servers?all_tenants=1"
        ids = [s["id"] for s in requests.get(url, headers=headers).json()["servers"]]
        for server_id in ids:
            requests.delete(base + "/v2.1/servers/" + server_id, headers=headers)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not requests.get(url, headers=headers).json()["servers"]:
                return len(ids)
            time.sleep(0.05)
        sys.stderr.write("oracle: servers still there after %ss\n" % timeout)
        return len(ids)

    def _settle(self, base, project, timeout=30.0):
        """Wait until no server is in BUILD (or has a task_state).

        Since Nova runs builds in a background ('long_task') pool even with
        CastAsCallFixture, a test that ends right after a 202 would hang
        ~60 s in teardown (MessagingTimeout). Waiting also makes the state
        seen by the next request deterministic.
        """
        headers = {
            "X-Auth-User": "admin",
            "X-User-Id": "admin",
            "X-Auth-Project-Id": project,
            "X-Roles": "reader,member,admin",
            "X-OpenStack-Nova-API-Version": "2.1",
        }
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = requests.get(base + "/v2.1/servers/detail?all_tenants=1", headers=headers)
            busy = [
                s
                for s in r.json().get("servers", [])
                if s.get("status") == "BUILD" or s.get("OS-EXT-STS:task_state")
            ]
            if not busy:
                return
            time.sleep(0.05)
        sys.stderr.write("oracle: servers still building after %ss\n" % timeout)

    def test_oracle(self):
        reqs = _SPEC["requests"]
        if _SPEC.get("_isolate_index") is not None:
            idx = _SPEC["_isolate_index"]
            self._run_requests([reqs[idx]], offset=idx)
        else:
            self._run_requests(reqs)


def main(argv):
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("requests")
    p.add_argument("--isolate", action="store_true")
    p.add_argument("--out")
    a = p.parse_args(argv)
    with open(a.requests) as f:
        spec = json.load(f)
    if isinstance(spec, list):
        spec = {"requests": spec}
    _SPEC.update(spec)
    runs = range(len(_SPEC["requests"])) if a.isolate else [None]
    ok = True
    for idx in runs:
        _SPEC["_isolate_index"] = idx
        suite = unittest.TestSuite([_Oracle("test_oracle")])
        res = unittest.TextTestRunner(stream=sys.stderr, verbosity=0).run(suite)
        ok = ok and res.wasSuccessful()
    if a.out:
        with open(a.out, "w") as f:
            json.dump(_RESULTS, f, indent=1, sort_keys=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
