#!/usr/bin/env python3
"""Check the /v2.1 golden fixtures against the real Nova, or record them from it.

Every expectation under ``fixtures/v2.1`` was recorded from Nova 34.0.0 running
in-process (``tools/nova_oracle.py``, Nova's own functional-test harness). This script
sends each fixture's request to that oracle again and matches Nova's answer against the
fixture's ``expect`` with the conformance matcher (``refnova.conformance.matcher.check_response``),
so a fixture whose expectation real Nova no longer meets is reported::

    tox -e oracle                                   # every /v2.1 fixture
    python tools/oracle_check.py [-k WORDS] [FIXTURE ...]
    python tools/oracle_check.py --record FIXTURE ...   # write expect (and source) from Nova

The oracle needs an interpreter with ``nova==34.0.0 'SQLAlchemy<2.1' openstack-placement
oslotest wsgi-intercept`` installed: ``--python`` or ``$NOVA_ORACLE_PYTHON`` (default: this
interpreter, as in ``tox -e oracle``). ``--oracle`` or ``$NOVA_ORACLE`` names another copy
of the oracle script. The refnova package itself is not needed, only its source tree.

How a fixture maps onto the oracle (its ``oracle`` object, all keys optional):

``config``  oslo.config overrides for the deployment it runs in. Every run also gets
            ``[api] response_validation = warn``, Nova 34.0.0's shipped default (the test
            harness sets ``error``).
``world``   images, networks, ports and security groups to seed Glance and Neutron with,
            so that the oracle's world holds what refnova's world.json holds.
``setup``   oracle requests sent before the fixture's (e.g. an admin creating a flavor).
``as``      the oracle identity: user (default), admin, reader, other.
``note``    why the expectation has a marker where refnova and Nova may differ.

A request whose X-Auth-Token is refnova's admin (``admin:<project>``) goes as the oracle's
admin unless ``as`` says otherwise. A fixture's own ``setup`` (the format's, which every
runner sends too) goes to the oracle before the fixture's request; its ``{setup[N]...}``
placeholders become the oracle's ``{answer[I]...}`` (I: the step's place in the run),
filled from Nova's earlier answers.
Recording writes the ids of those answers back as ``{setup[N]...}`` placeholders.

The request is sent as refnova would receive it (placeholders expanded with world.json's
values, which are the oracle's ids too), except ``X-Auth-Token``: the oracle authenticates
with its own headers. Fixtures with ``nova_status`` pin a Nova crash that refnova answers
properly; they match while Nova still answers that status.

Fixtures run in as few oracle deployments as possible: one per distinct config and world,
a fresh one for each fixture with ``setup``. After each POST every server is deleted again
(the oracle's ``cleanup`` request), so each fixture sees an unused project, as it does in a
fresh refnova deployment.
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# noqa: E402 below: the source tree first. These modules need only jsonschema (Nova's too).
from refnova.conformance.fixtures import FixtureError, fixture_paths, load_fixture  # noqa: E402
from refnova.conformance.http import HttpResponse, build_request, request_from_spec  # noqa: E402
from refnova.conformance.matcher import check_response  # noqa: E402
from refnova.conformance.placeholders import expand, placeholder_values  # noqa: E402
from refnova.conformance.setup import answer_values  # noqa: E402
from refnova.conformance.world import load_reference_world  # noqa: E402

FIXTURE_DIR = REPO / "fixtures" / "v2.1"
DEFAULT_ORACLE = Path(__file__).resolve().parent / "nova_oracle.py"
NOVA_VERSION = "34.0.0"
BASE_CONFIG = {"api": {"response_validation": "warn"}}
ORACLE_KEYS = frozenset({"config", "world", "setup", "as", "note"})
# Placeholders written back into recorded strings (long, unambiguous ids only).
RECORDED_PLACEHOLDERS = ("project_id", "image_id", "network_id")
UUID_RE = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
PASSWORD_RE = "(?=.*[2-9])(?=.*[A-HJ-NP-Z])(?=.*[a-km-z])[2-9A-HJ-NP-Za-km-z]{12}"
RECORDED_HEADERS = (
    "Content-Type",
    "OpenStack-API-Version",
    "X-OpenStack-Nova-API-Version",
    "Vary",
    "x-openstack-request-id",
    "x-compute-request-id",
)
REQUEST_ID_HEADERS = ("x-openstack-request-id", "x-compute-request-id")
# Other values that differ on every run: the times of a server, its host's hash.
GENERATED_TEXTS = (
    (("created", "updated"), r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"),
    (("OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at"), r"\d{4}-\d\d-\d\dT[\d:]{8}\.\d{6}"),
    (("hostId",), "[0-9a-f]{56}"),
)
SETUP_RE = re.compile(r"\{setup\[(\d+)\]")
LONG_TEXT = 2048  # recorded strings longer than this get their long runs compressed


# --------------------------------------------------------------------------- requests


def reference_values():
    return placeholder_values(load_reference_world())


def oracle_section(fixture):
    section = fixture.data.get("oracle") or {}
    unknown = set(section) - ORACLE_KEYS
    if unknown:
        raise FixtureError(f"{fixture.path.name}: unknown oracle keys {sorted(unknown)}")
    return section


def oracle_request(fixture, values, first_step=0):
    """The oracle's request for a fixture: refnova's exact bytes, the oracle's identity."""
    request = build_request(fixture, values)
    who = oracle_section(fixture).get("as") or _identity(request)
    return _as_oracle(request, fixture.id, who, first_step)


def _identity(request):
    """The oracle identity of a request: admin for refnova's ``admin:<project>`` token."""
    token = request.header_dict().get("X-Auth-Token", "")
    return "admin" if token.startswith("admin:") else "user"


def oracle_setup(fixture, values, first_step):
    """The oracle's requests for the fixture's own setup steps (the run's ``first_step``..)."""
    steps = []
    for index, spec in enumerate(fixture.setup):
        request = request_from_spec(spec, values)
        name = f"{fixture.id} setup[{index}]"
        steps.append(_as_oracle(request, name, _identity(request), first_step))
    return steps


def _as_oracle(request, name, who, first_step):
    """``{setup[N]...}`` becomes the oracle's ``{answer[first_step + N]...}``."""

    def answers(text):
        return SETUP_RE.sub(lambda found: "{answer[%d]" % (first_step + int(found[1])), text)

    headers = {
        name: answers(value) for name, value in request.headers if name.lower() != "x-auth-token"
    }
    for removed in request.removed:
        headers[removed] = None
    out = {
        "name": name,
        "method": request.method,
        "path": answers(request.path),
        "headers": headers,
        "as": who,
    }
    if request.body or request.method in ("POST", "PUT"):
        out["body"] = answers(request.body.decode("utf-8"))
    return out


def plan_runs(fixtures):
    """Oracle deployments: (spec without requests, [fixtures in order])."""
    groups, runs = {}, []
    for fixture in fixtures:
        section = oracle_section(fixture)
        config = _merge(BASE_CONFIG, section.get("config") or {})
        spec = {"config": config}
        if section.get("world"):
            spec["world"] = section["world"]
        if section.get("setup") or fixture.setup:
            runs.append((spec, [fixture]))
            continue
        groups.setdefault(json.dumps(spec, sort_keys=True), (spec, []))[1].append(fixture)
    runs.extend(groups.values())
    return runs


def _merge(base, extra):
    merged = json.loads(json.dumps(base))
    for group, options in extra.items():
        merged.setdefault(group, {}).update(options)
    return merged


# --------------------------------------------------------------------------- running


def run_oracle(spec, fixtures, values, python, oracle, workdir, index):
    """Run one deployment; the oracle's answer to each fixture (setup answers dropped)."""
    requests, owners = [], []
    for fixture in fixtures:
        for step in oracle_section(fixture).get("setup", []):
            requests.append(dict(step))
            owners.append(None)
        for step in oracle_setup(fixture, values, len(requests)):
            requests.append(step)
            owners.append((fixture, "setup"))
        requests.append(oracle_request(fixture, values, len(requests) - len(fixture.setup)))
        owners.append(fixture)
        if fixture.request["method"] == "POST" or fixture.setup:
            requests.append({"name": f"cleanup after {fixture.id}", "cleanup": True})
            owners.append(None)
    spec_path = workdir / f"run{index:02d}.json"
    out_path = workdir / f"run{index:02d}.out.json"
    log_path = workdir / f"run{index:02d}.log"
    spec_path.write_text(json.dumps(dict(spec, requests=requests), indent=1))
    with open(log_path, "w") as log:
        done = subprocess.run(
            [python, str(oracle), str(spec_path), "--out", str(out_path)],
            stdout=subprocess.DEVNULL,
            stderr=log,
            cwd=workdir,
        )
    if done.returncode != 0 or not out_path.exists():
        raise RuntimeError(f"the oracle failed (exit {done.returncode}); see {log_path}")
    results = json.loads(out_path.read_text())
    if len(results) != len(requests):
        raise RuntimeError(
            f"the oracle answered {len(results)} of {len(requests)} requests; see {log_path}"
        )
    answers = {}
    for owner, result, sent in zip(owners, results, requests, strict=True):
        if isinstance(owner, tuple):  # the fixture's own setup: kept for recording
            answers.setdefault(owner[0].id + " setup", []).append(result)
            owner = None
        if owner is None:
            if result["status"] >= 400:
                raise RuntimeError(
                    f"setup request {sent.get('name') or sent['path']} failed: "
                    f"{result['status']} {result['body']}"
                )
            continue
        answers[owner.id] = result
    return answers


def with_setup(values, setup_answers):
    """The placeholder values of a fixture: the world's, and its setup's answers."""
    merged = dict(values)
    for index, answer in enumerate(setup_answers):
        merged.update(answer_values(index, answer["body"]))
    return merged


def as_response(result):
    body = result["body"]
    raw = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode("utf-8")
    return HttpResponse(result["status"], tuple(result["headers"].items()), raw)


def compare(fixture, result, values):
    """(verdict, problems): MATCH when Nova meets the expectation (or crashes as recorded)."""
    if fixture.nova_status is not None:
        if result["status"] == fixture.nova_status:
            return "MATCH", []
        return "DIFF", [
            f"status: Nova answered {result['status']}, the fixture records "
            f"nova_status {fixture.nova_status}"
        ]
    problems = check_response(expand(fixture.expect, values), as_response(result))
    return ("MATCH" if not problems else "DIFF"), problems


# --------------------------------------------------------------------------- recording


def generalize(value, values, host, key=None, named=None):
    """A recorded JSON value as an expectation: generated ids and passwords become markers,
    links a pattern with any host, world ids their placeholders (and the ids in ``named``,
    placeholder name -> id, theirs: the answers of the fixture's setup)."""
    names = {name: values[name] for name in RECORDED_PLACEHOLDERS if values.get(name)}
    names.update(named or {})
    return _generalize(value, names, host, key)


def _generalize(value, names, host, key):
    if isinstance(value, dict):
        return {k: _generalize(v, names, host, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_generalize(v, names, host, key) for v in value]
    if not isinstance(value, str):
        return value
    if value in names.values():
        return _placeholders(value, names)
    if key == "id" and re.fullmatch(UUID_RE, value):
        return "<uuid>"
    if key == "adminPass" and re.fullmatch(PASSWORD_RE, value):
        return f"<re:{PASSWORD_RE}>"
    if key == "reservation_id" and re.fullmatch("r-[0-9a-z]{8}", value):
        return "<re:r-[0-9a-z]{8}>"
    if key in ("href", "Location") and host and value.startswith(host):
        return "<re:https?://[^/]+" + _pattern(value[len(host) :], names) + ">"
    if key in REQUEST_ID_HEADERS and re.fullmatch("req-" + UUID_RE, value):
        return f"<re:req-{UUID_RE}>"
    for keys, pattern in GENERATED_TEXTS:
        if key in keys and re.fullmatch(pattern, value):
            return f"<re:{pattern}>"
    if len(value) > LONG_TEXT:
        return _compressed(_placeholders(value, names))
    return _placeholders(value, names)


def setup_names(setup_answers):
    """Placeholder name -> id for the ids in the answers of a fixture's setup steps."""
    named = {}
    for index, answer in enumerate(setup_answers):
        for name, text in answer_values(index, answer["body"]).items():
            if re.fullmatch(UUID_RE, text) and text not in named.values():
                named[name] = text
    return named


def _compressed(text):
    """An exact pattern for a long text: runs of a repeated short unit become ``(?:u){n}``."""
    out, last = [], 0
    for found in re.finditer(r"(.{1,8}?)\1{63,}", text, re.DOTALL):
        unit = found.group(1)
        out.append(re.escape(text[last : found.start()]))
        out.append("(?:%s){%d}" % (re.escape(unit), len(found.group(0)) // len(unit)))
        last = found.end()
    out.append(re.escape(text[last:]))
    return "<re:" + "".join(out) + ">"


def _pattern(path, values):
    parts = re.split(f"({UUID_RE})", path)
    out = []
    for part in parts:
        if re.fullmatch(UUID_RE, part):
            named = [name for name, text in values.items() if text == part]
            out.append("{%s}" % named[0] if named else UUID_RE)
        else:
            out.append(
                re.escape(_placeholders(part, values)).replace(r"\{", "{").replace(r"\}", "}")
            )
    return "".join(out)


def _placeholders(text, named):
    for name, value in named.items():
        text = text.replace(value, "{%s}" % name)
    return text


def record(fixture, result, values, run_id, setup_answers=()):
    """Rewrite the fixture file with Nova's answer as its expectation."""
    named = setup_names(setup_answers)
    data = json.loads(fixture.path.read_text())
    row = row_id_of(fixture.path.name)
    data["source"] = f"nova-oracle nova=={NOVA_VERSION} run {run_id} {row}"
    if result["status"] >= 500:
        data["nova_status"] = result["status"]
        return _write(
            fixture.path, data
        ), f"Nova answered {result['status']}: nova_status recorded, expect kept"
    headers = {k.lower(): v for k, v in result["headers"].items()}
    host = _host_of(result)
    expect = {"status": result["status"], "headers": {}}
    for name in RECORDED_HEADERS:
        expect["headers"][name] = (
            generalize(headers[name.lower()], values, host, name, named)
            if name.lower() in headers
            else "<absent>"
        )
    if "location" in headers:
        expect["headers"]["Location"] = generalize(
            headers["location"], values, host, "Location", named
        )
    body = result["body"]
    if isinstance(body, (dict, list)):
        expect["body"] = generalize(body, values, host, named=named)
        expect["exact_body"] = True
    else:
        expect["text_contains"] = [
            line.strip() for line in str(body).splitlines() if line.strip() and "<" not in line
        ][:2]
    data["expect"] = expect
    data.pop("nova_status", None)
    return _write(fixture.path, data), f"recorded {result['status']}"


def row_id_of(file_name):
    """``J07-name-type.json`` pins row J7 (docs/v2.1-create-contract.md)."""
    found = re.match(r"([A-Z])0*(\d+)([a-z]?)-", file_name)
    if not found:
        raise FixtureError(f"{file_name}: expected a <row>-<what>.json name")
    return "".join(found.groups())


def _host_of(result):
    location = {k.lower(): v for k, v in result["headers"].items()}.get("location")
    candidates = [location] if location else []
    candidates += _hrefs(result["body"])
    for href in candidates:
        found = re.match(r"https?://[^/]+", href or "")
        if found and "docs.openstack.org" not in found.group(0):
            return found.group(0)
    return None


def _hrefs(value):
    """Every link's href in a JSON value (a server's, a list's, a version document's)."""
    if isinstance(value, dict):
        found = [value["href"]] if isinstance(value.get("href"), str) else []
        return found + [href for item in value.values() for href in _hrefs(item)]
    if isinstance(value, list):
        return [href for item in value for href in _hrefs(item)]
    return []


def _write(path, data):
    ordered = {
        key: data[key]
        for key in (
            "name",
            "source",
            "microversion",
            "nova_status",
            "world",
            "oracle",
            "setup",
            "request",
            "expect",
            "trace",
        )
        if key in data
    }
    ordered.update({k: v for k, v in data.items() if k not in ordered})
    path.write_text(json.dumps(ordered, indent=2, ensure_ascii=False) + "\n")
    return path


# --------------------------------------------------------------------------- main


def select(paths, keywords):
    fixtures = [load_fixture(path) for path in paths]
    if keywords:
        words = keywords.lower().split()
        fixtures = [f for f in fixtures if all(w in f"{f.id} {f.name}".lower() for w in words)]
    return fixtures


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("fixtures", nargs="*", help="fixture files (default: fixtures/v2.1)")
    parser.add_argument("-k", dest="keywords", help="only fixtures whose id/name has all words")
    parser.add_argument(
        "--record",
        action="store_true",
        help="write each fixture's expect and source from Nova's answer",
    )
    parser.add_argument(
        "--python",
        default=os.environ.get("NOVA_ORACLE_PYTHON", sys.executable),
        help="interpreter with nova==%s installed" % NOVA_VERSION,
    )
    parser.add_argument(
        "--oracle",
        default=os.environ.get("NOVA_ORACLE", str(DEFAULT_ORACLE)),
        help="the oracle script (default tools/nova_oracle.py)",
    )
    parser.add_argument("--keep", help="keep the oracle's request and answer files here")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every fixture")
    args = parser.parse_args(argv)

    paths = [Path(p) for p in args.fixtures] or fixture_paths(FIXTURE_DIR)
    fixtures = select(paths, args.keywords)
    if not fixtures:
        print("no fixtures selected")
        return 2
    values = reference_values()
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="nova-oracle-"))
    workdir.mkdir(parents=True, exist_ok=True)
    run_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%MZ")
    runs = plan_runs(fixtures)
    started = time.monotonic()
    print(
        f"nova-oracle: {len(fixtures)} fixtures in {len(runs)} Nova {NOVA_VERSION} "
        f"deployments ({args.oracle})",
        flush=True,
    )
    verdicts = {}
    for index, (spec, members) in enumerate(runs):
        answers = run_oracle(spec, members, values, args.python, args.oracle, workdir, index)
        for fixture in members:
            result = answers[fixture.id]
            setup_answers = answers.get(f"{fixture.id} setup", [])
            if args.record:
                _, what = record(fixture, result, values, run_id, setup_answers)
                verdicts[fixture.id] = ("RECORDED", [what])
            else:
                verdicts[fixture.id] = compare(fixture, result, with_setup(values, setup_answers))
    failed = 0
    for fixture in fixtures:
        verdict, problems = verdicts[fixture.id]
        failed += verdict == "DIFF"
        if verdict != "MATCH" or args.verbose:
            print(f"{verdict:8} {fixture.id} ({fixture.name})")
            for problem in problems:
                print(f"         - {problem}")
    counts = {}
    for verdict, _ in verdicts.values():
        counts[verdict] = counts.get(verdict, 0) + 1
    summary = ", ".join(f"{count} {verdict.lower()}" for verdict, count in sorted(counts.items()))
    print(
        f"nova-oracle summary: {len(fixtures)} /v2.1 fixtures against real Nova "
        f"{NOVA_VERSION}: {summary} ({time.monotonic() - started:.0f} s)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
