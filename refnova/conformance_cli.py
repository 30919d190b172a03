"""``refnova conformance``: run the golden fixtures in-process or against a live endpoint.

    refnova conformance                                   the in-process reference (/v2)
    refnova conformance --contract v2.1                   today's contract, in-process
    refnova conformance --target http://nova:8774/v2.1    a live /v2.1 (the contract is
                                                          taken from the URL's version)
    refnova conformance --target http://nova:8774 \\
        --os-auth-url http://keystone:5000/v3 --os-username demo --os-password secret \\
        --os-project-name demo --image IMAGE --flavor FLAVOR --network NETWORK

Exit status: 0 when no fixture failed, 1 when one did, 2 when the run could not start.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from refnova import conformance, conformance_report
from refnova.identity import keystone

IN_PROCESS = "the in-process reference"


def add_conformance_command(commands):
    parser = commands.add_parser(
        "conformance", help="run the golden fixtures against refnova or a live Nova endpoint",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", help="a live endpoint's root, e.g. http://nova:8774 "
                                         "(default: the in-process reference)")
    parser.add_argument("--contract", choices=conformance.CONTRACTS,
                        help="v2 (Icehouse, fixtures/v2) or v2.1 (today's Nova, fixtures/v2.1); "
                             "default: the --target URL's version, else v2")
    parser.add_argument("--fixtures", help="fixture directory (default: fixtures/<contract>)")
    parser.add_argument("-k", dest="select", metavar="EXPR",
                        help="only fixtures whose file name, name or source match EXPR "
                             "(words, and/or/not, parentheses)")
    parser.add_argument("--junit", metavar="FILE", help="write JUnit XML here")
    parser.add_argument("--report", metavar="FILE", help="write a Markdown table here")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print each fixture's outcome as it comes")
    who = parser.add_argument_group("who calls (a live target)")
    who.add_argument("--token", help="X-Auth-Token to send (noauth2: user:project)")
    who.add_argument("--user", help="noauth2 user (default: the world's demo user)")
    who.add_argument("--project", help="the project id (default: the world's, or the token's)")
    who.add_argument("--admin-token", help="a token of the project's admin, for the fixtures "
                                           "that need one (noauth2: admin:project is used)")
    who.add_argument("--os-auth-url", default=os.environ.get("OS_AUTH_URL"),
                     help="Keystone to get a token from (v3 password auth)")
    who.add_argument("--os-username", default=os.environ.get("OS_USERNAME"))
    who.add_argument("--os-password", default=os.environ.get("OS_PASSWORD"))
    who.add_argument("--os-project-name", default=os.environ.get("OS_PROJECT_NAME"))
    who.add_argument("--os-user-domain-name",
                     default=os.environ.get("OS_USER_DOMAIN_NAME", "Default"))
    who.add_argument("--os-project-domain-name",
                     default=os.environ.get("OS_PROJECT_DOMAIN_NAME", "Default"))
    world = parser.add_argument_group("the target's world")
    world.add_argument("--image", help="id of an active public image the fixtures boot")
    world.add_argument("--flavor", help="id of a small flavor that fits the image")
    world.add_argument("--network", help="id of a network of the project, with a subnet")
    world.add_argument("--reference-world", action="store_true",
                       help="the target was seeded from fixtures/world.json (as `refnova serve` "
                            "is): also run the fixtures that name its objects")
    parser.set_defaults(handler=run)
    return parser


class UsageError(Exception):
    pass


def live_target(args) -> conformance.LiveTarget:
    """The target, its tokens and its placeholder values, from the options."""
    given = {"image_id": args.image, "flavor_id": args.flavor, "network_id": args.network}
    token = None
    if args.os_auth_url:
        missing = [name for name in ("os_username", "os_password", "os_project_name")
                   if not getattr(args, name)]
        if missing:
            raise UsageError("--os-auth-url needs " + ", ".join(
                "--" + name.replace("_", "-") for name in missing))
        try:
            info = keystone.KeystoneClient(args.os_auth_url).issue_token(
                args.os_username, args.os_password, args.os_project_name,
                args.os_user_domain_name, args.os_project_domain_name)
        except keystone.KeystoneError as error:
            raise UsageError(f"no token from Keystone: {error}")
        token = info.token
        given.update(user_id=info.user_id, project_id=info.project_id)
    elif args.token and ":" in args.token and not args.project:
        user, _sep, project = args.token.partition(":")      # a noauth2 token
        given.update(user_id=user, project_id=project)
    elif args.token:
        if not args.project:
            raise UsageError("--token needs --project (the project the token is scoped to)")
        token = args.token
        given.update(user_id=args.user or "", project_id=args.project)
    else:
        given.update(user_id=args.user, project_id=args.project)
    world = conformance.load_reference_world(None)
    return conformance.LiveTarget(
        url=conformance.target_root(args.target), values=conformance.live_values(given),
        token=token, admin_token=args.admin_token, reference_world=args.reference_world,
        world=world)


def run(args) -> int:
    contract = args.contract or conformance.contract_for_target(args.target)
    directory = Path(args.fixtures) if args.fixtures else conformance.default_fixture_dir(contract)
    try:
        fixtures = conformance.select(conformance.load_fixtures(directory), args.select)
        target = live_target(args) if args.target else None
    except (UsageError, ValueError) as error:
        print(f"refnova conformance: {error}", file=sys.stderr)
        return 2
    if not fixtures:
        print(f"refnova conformance: no fixture selected in {directory}", file=sys.stderr)
        return 2
    progress = _print_progress if args.verbose else None
    if target is None:
        label = IN_PROCESS
        values = conformance.placeholder_values(conformance.load_reference_world(None))
        results = conformance.run_suite(fixtures, progress=progress)
    else:
        label = target.url
        values = target.values
        results = conformance.run_suite(fixtures, target, progress=progress)
    if args.junit:
        Path(args.junit).write_bytes(conformance_report.junit_xml(results, values, label))
    if args.report:
        Path(args.report).write_text(conformance_report.markdown_report(results, values, label),
                                     encoding="utf-8")
    sys.stdout.write(conformance_report.text_report(results, values, label))
    sys.stdout.flush()
    return 1 if conformance.counts(results)["failed"] else 0


def _print_progress(result: conformance.Result) -> None:
    print(f"{result.outcome:4} {result.fixture.id}", flush=True)
