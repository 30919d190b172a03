"""``refnova conformance``: run the golden fixtures in-process or against a live endpoint.

    refnova conformance                                   the in-process reference (/v2)
    refnova conformance --contract v2.1                   today's contract, in-process
    refnova conformance --target http://nova:8774/v2.1    a live /v2.1 (the contract is
                                                          taken from the URL's version)
    refnova conformance --contract v2.1 --microversion 2.37   the fixtures recorded at 2.37
    refnova conformance --target http://nova:8774 \\
        --os-auth-url http://keystone:5000/v3 --os-username demo --os-password secret \\
        --os-project-name demo --image IMAGE --flavor FLAVOR --network NETWORK

Exit status: 0 when no fixture failed, 1 when one did, 2 when the run could not start.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from refnova.conformance import microversions, parallel, report
from refnova.conformance.fixtures import (
    CONTRACTS,
    contract_for_target,
    default_fixture_dir,
    load_fixtures,
)
from refnova.conformance.placeholders import placeholder_values
from refnova.conformance.results import Result, counts
from refnova.conformance.runners import LiveTarget, live_values, run_suite, target_root
from refnova.conformance.selection import select
from refnova.conformance.world import load_reference_world
from refnova.identity import keystone

IN_PROCESS = "the in-process reference"


class UsageError(Exception):
    """Options that do not make a run."""


def add_conformance_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add ``conformance`` to the ``refnova`` command's sub-commands."""
    parser = commands.add_parser(
        "conformance",
        help="run the golden fixtures against refnova or a live Nova endpoint",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--target",
        help="a live endpoint's root, e.g. http://nova:8774 (default: the in-process reference)",
    )
    parser.add_argument(
        "--contract",
        choices=CONTRACTS,
        help="v2 (Icehouse, fixtures/v2) or v2.1 (today's Nova, fixtures/v2.1); "
        "default: the --target URL's version, else v2",
    )
    parser.add_argument("--fixtures", help="fixture directory (default: fixtures/<contract>)")
    parser.add_argument(
        "-k",
        dest="select",
        metavar="EXPR",
        help="only fixtures whose file name, name or source match EXPR "
        "(words, and/or/not, parentheses)",
    )
    parser.add_argument(
        "--microversion",
        metavar="2.X|latest|all",
        help="only the fixtures recorded at 2.X (or at latest); default all: every fixture "
        "at its own microversion. A live target's announced maximum is read from "
        "GET /v2.1/; fixtures above it are skipped with the reason",
    )
    parser.add_argument("--junit", metavar="FILE", help="write JUnit XML here")
    parser.add_argument("--report", metavar="FILE", help="write a Markdown table here")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print each fixture's outcome as it comes"
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="processes an in-process run shares its fixtures among (default: one per CPU "
        "it may use; a small run stays in one); a live run is sent one fixture at a time",
    )
    _add_caller_options(parser.add_argument_group("who calls (a live target)"))
    _add_world_options(parser.add_argument_group("the target's world"))
    parser.set_defaults(handler=run)
    return parser


def _add_caller_options(who: argparse._ArgumentGroup) -> None:
    who.add_argument("--token", help="X-Auth-Token to send (noauth2: user:project)")
    who.add_argument("--user", help="noauth2 user (default: the world's demo user)")
    who.add_argument("--project", help="the project id (default: the world's, or the token's)")
    who.add_argument(
        "--admin-token",
        help="a token of the project's admin, for the fixtures "
        "that need one (noauth2: admin:project is used)",
    )
    who.add_argument(
        "--os-auth-url",
        default=os.environ.get("OS_AUTH_URL"),
        help="Keystone to get a token from (v3 password auth)",
    )
    who.add_argument("--os-username", default=os.environ.get("OS_USERNAME"))
    who.add_argument("--os-password", default=os.environ.get("OS_PASSWORD"))
    who.add_argument("--os-project-name", default=os.environ.get("OS_PROJECT_NAME"))
    who.add_argument(
        "--os-user-domain-name", default=os.environ.get("OS_USER_DOMAIN_NAME", "Default")
    )
    who.add_argument(
        "--os-project-domain-name", default=os.environ.get("OS_PROJECT_DOMAIN_NAME", "Default")
    )


def _add_world_options(world: argparse._ArgumentGroup) -> None:
    world.add_argument("--image", help="id of an active public image the fixtures boot")
    world.add_argument("--flavor", help="id of a small flavor that fits the image")
    world.add_argument("--network", help="id of a network of the project, with a subnet")
    world.add_argument(
        "--reference-world",
        action="store_true",
        help="the target was seeded from fixtures/world.json (as `refnova serve` "
        "is): also run the fixtures that name its objects",
    )


def live_target(args: argparse.Namespace) -> LiveTarget:
    """The target, its tokens and its placeholder values, from the options."""
    given: dict[str, str | None] = {
        "image_id": args.image,
        "flavor_id": args.flavor,
        "network_id": args.network,
    }
    token = _identify(args, given)
    root = target_root(args.target)
    return LiveTarget(
        url=root,
        max_microversion=microversions.announced_maximum(root),
        values=live_values(given),
        token=token,
        admin_token=args.admin_token,
        reference_world=args.reference_world,
        world=load_reference_world(None),
    )


def _identify(args: argparse.Namespace, given: dict[str, str | None]) -> str | None:
    """The token to send (None: noauth2), filling in the user and project ``given``."""
    if args.os_auth_url:
        info = _keystone_token(args)
        given.update(user_id=info.user_id, project_id=info.project_id)
        return info.token
    if args.token and ":" in args.token and not args.project:
        user, _sep, project = args.token.partition(":")  # a noauth2 token
        given.update(user_id=user, project_id=project)
        return None
    if args.token:
        if not args.project:
            raise UsageError("--token needs --project (the project the token is scoped to)")
        given.update(user_id=args.user or "", project_id=args.project)
        token: str = args.token
        return token
    given.update(user_id=args.user, project_id=args.project)
    return None


def _keystone_token(args: argparse.Namespace) -> keystone.TokenInfo:
    missing = [
        name
        for name in ("os_username", "os_password", "os_project_name")
        if not getattr(args, name)
    ]
    if missing:
        raise UsageError(
            "--os-auth-url needs " + ", ".join("--" + name.replace("_", "-") for name in missing)
        )
    try:
        return keystone.KeystoneClient(args.os_auth_url).issue_token(
            args.os_username,
            args.os_password,
            args.os_project_name,
            args.os_user_domain_name,
            args.os_project_domain_name,
        )
    except keystone.KeystoneError as error:
        raise UsageError(f"no token from Keystone: {error}") from error


def run(args: argparse.Namespace) -> int:
    """Run the selected fixtures, write the reports; the exit status."""
    contract = args.contract or contract_for_target(args.target)
    directory = Path(args.fixtures) if args.fixtures else default_fixture_dir(contract)
    try:
        fixtures = select(load_fixtures(directory), args.select)
        fixtures = microversions.select_microversion(fixtures, args.microversion)
        if args.target and args.jobs:
            raise UsageError("--jobs is for an in-process run: a live run sends one at a time")
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
        values: Mapping[str, str] = placeholder_values(load_reference_world(None))
        jobs = args.jobs or parallel.usable_cpus()
        results = run_suite(fixtures, progress=progress, jobs=jobs)
    else:
        label, values = target.url, target.values
        results = run_suite(fixtures, target, progress=progress)
    _write_reports(args, results, values, label)
    return 1 if counts(results)["failed"] else 0


def _write_reports(
    args: argparse.Namespace, results: list[Result], values: Mapping[str, str], label: str
) -> None:
    if args.junit:
        Path(args.junit).write_bytes(report.junit_xml(results, values, label))
    if args.report:
        Path(args.report).write_text(
            report.markdown_report(results, values, label), encoding="utf-8"
        )
    sys.stdout.write(report.text_report(results, values, label))
    sys.stdout.flush()


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _print_progress(result: Result) -> None:
    print(f"{result.outcome:4} {result.fixture.id}", flush=True)
