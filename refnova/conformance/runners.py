"""The runners: a fixture sent to an in-process refnova or to a live endpoint, and matched.

In-process (``refnova.conformance.in_process``), a fixture runs on a ``refnova.service.Deployment``
(in-memory SQLite, kombu's memory:// transport) of the world it asks for. Live, the fixtures go
over HTTP with ``requests``; ``LiveRunner`` deletes the servers each fixture created, so
that the next one meets an unused project.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from refnova.conformance import microversions
from refnova.conformance.fixtures import Fixture
from refnova.conformance.http import HttpRequest, HttpResponse, build_request, json_or_none
from refnova.conformance.in_process import (  # the in-process runner, named here as before
    Deployment,
    Progress,
    WsgiApp,
    call_wsgi,
    in_process_deployments,
    reference_deployment,
    run_all_in_process,
    run_in_process,
)
from refnova.conformance.parallel import run_in_processes
from refnova.conformance.placeholders import placeholder_values
from refnova.conformance.results import FAIL, SKIP, Result, answer_summary, evaluate
from refnova.conformance.setup import run_setup, undo_all
from refnova.conformance.world import load_reference_world, world_change_lines, world_references

if TYPE_CHECKING:  # requests is imported when a live target is asked, not in-process
    import requests

__all__ = [
    "Deployment",
    "LiveRunner",
    "LiveTarget",
    "Progress",
    "WsgiApp",
    "call_wsgi",
    "in_process_deployments",
    "reference_deployment",
    "run_all_in_process",
    "run_in_process",
    "run_live",
    "run_suite",
]

WorldLoader = Callable[[Mapping[str, Any] | None], Mapping[str, Any]]


# --------------------------------------------------------------------------- live targets


@dataclass(frozen=True)
class LiveTarget:
    """An endpoint to run the fixtures against, and what the runner knows of it.

    ``token`` None means noauth2: the fixtures' own ``X-Auth-Token: user:project`` headers
    go as they are. With a token (Keystone), the default user's header carries ``token`` and
    the admin's ``admin_token``; fixtures that need the admin are skipped without one.
    ``reference_world``: the target was seeded from fixtures/world.json (``refnova serve``),
    so fixtures that name its objects (a queued image, a port in use...) can run.
    """

    url: str
    values: Mapping[str, str]
    token: str | None = None
    admin_token: str | None = None
    reference_world: bool = False
    world: Mapping[str, Any] | None = None  # the reference world (default: world.json)
    # The highest microversion the target announces (GET /v2.1/); None: none announced.
    max_microversion: str | None = None


def live_values(
    given: Mapping[str, str | None] | None = None, world_loader: WorldLoader | None = None
) -> dict[str, str]:
    """Placeholder values for a live target: the reference world's, overridden by ``given``."""
    values = placeholder_values((world_loader or load_reference_world)(None))
    values.update({name: str(value) for name, value in (given or {}).items() if value is not None})
    return values


def target_root(url: str) -> str:
    """The endpoint's root: ``http://h:8774/v2/<project>`` and ``http://h:8774/v2`` give
    ``http://h:8774`` (the fixtures' paths start with ``/v2/``)."""
    url = url.rstrip("/")
    found = re.match(r"^(.*?)/v(?:1\.1|2\.1|2)(?:/.*)?$", url)
    return found.group(1) if found else url


def live_skip_reason(fixture: Fixture, target: LiveTarget) -> str | None:
    """Why a live target cannot run this fixture, or None."""
    reason = microversions.skip_reason(fixture, target.max_microversion)
    if reason is not None:
        return reason
    if fixture.needs_world:
        changes = ", ".join(world_change_lines(fixture.world or {}))
        return (
            f"needs a world change ({changes}) that a live target cannot be given; "
            "it runs against the in-process reference"
        )
    if not target.reference_world:
        references = world_references(fixture, target.world or load_reference_world(None))
        if references:
            return (
                "names objects of the reference world (" + "; ".join(references) + "); "
                "they run with --reference-world against a target seeded from "
                "fixtures/world.json"
            )
    return None


def authorize(request: HttpRequest, target: LiveTarget) -> HttpRequest | str:
    """The request with the target's tokens in X-Auth-Token, or a skip reason."""
    if target.token is None:
        return request
    user = f"{target.values['user_id']}:{target.values['project_id']}"
    admin = f"admin:{target.values['project_id']}"
    headers = []
    for name, value in request.headers:
        if name.lower() == "x-auth-token":
            if value == user:
                value = target.token
            elif value == admin:
                if not target.admin_token:
                    return "needs the project's admin (give an admin token with --admin-token)"
                value = target.admin_token
        headers.append((name, value))
    return dataclasses.replace(request, headers=tuple(headers))


def run_live(
    fixture: Fixture,
    base_url: str,
    values: Mapping[str, str],
    session: requests.Session | None = None,
    timeout: float = 30.0,
    rate_limit_retries: int = 2,
    sleep: Callable[[float], None] = time.sleep,
    max_wait: float = 65.0,
    target: LiveTarget | None = None,
) -> Result:
    """Send one fixture to a live endpoint (``base_url`` = scheme://host:port) and match.

    Fixtures a live target cannot run are skipped (``live_skip_reason``). A 429 that the
    fixture does not expect (the default limiter allows 120 POSTs a minute) is waited out
    and retried.
    """
    target = target or LiveTarget(base_url, values, reference_world=True)
    reason = live_skip_reason(fixture, target)
    if reason is None:
        authorized = authorize(build_request(fixture, values), target)
        reason = authorized if isinstance(authorized, str) else None
    if reason is not None:
        return Result(fixture, SKIP, reason=reason)

    def send(sent: HttpRequest) -> HttpResponse:
        response = send_http(base_url, sent, session, timeout)
        for _ in range(rate_limit_retries):
            if response.status != 429 or fixture.expect["status"] == 429:
                break
            sleep(_retry_after(response, max_wait))
            response = send_http(base_url, sent, session, timeout)
        return response

    prepared = run_setup(fixture.setup, values, send, lambda step: authorize(step, target), sleep)
    try:
        if prepared.problem is not None:
            return Result(fixture, FAIL, reason=prepared.problem)
        # authorize gave a request for this fixture above; its setup values change no token
        request = cast(HttpRequest, authorize(build_request(fixture, prepared.values), target))
        result = evaluate(fixture, send(request), prepared.values)
    finally:
        undo_notes = undo_all(prepared.undo, send)
    return dataclasses.replace(result, notes=result.notes + tuple(undo_notes))


def _retry_after(response: HttpResponse, max_wait: float) -> float:
    try:
        wait = float(response.header_map().get("retry-after", "1"))
    except ValueError:
        wait = 1.0
    return min(max(wait, 0.0), max_wait)


def send_http(
    base_url: str,
    request: HttpRequest,
    session: requests.Session | None = None,
    timeout: float = 30.0,
) -> HttpResponse:
    """Send a request over HTTP to ``base_url`` (scheme://host:port) and read the answer."""
    headers: dict[str, str | None] = dict(request.header_dict())
    for name in request.removed:  # keep requests' own defaults out as well
        headers[name] = None
    import requests  # a live target only

    client = session or requests.Session()
    try:
        # requests drops a header whose value is None; its type stubs do not say so
        reply = client.request(
            request.method,
            base_url.rstrip("/") + request.path,
            headers=headers,  # type: ignore[arg-type]
            data=request.body,
            timeout=timeout,
            allow_redirects=False,
        )
    finally:
        if session is None:
            client.close()
    return HttpResponse(reply.status_code, tuple(reply.headers.items()), reply.content)


# --------------------------------------------------------------------------- the live runner


class LiveRunner:
    """Runs fixtures against a live target, leaving the project as it found it.

    Before the first fixture it lists the project's servers (``GET /v2/{project}/servers``);
    after each fixture that sends a POST, it lists them again, deletes every server that was
    not there before and waits until they are gone (its last listing is the next fixture's
    "before"), so that quota fixtures ("already used 0") see an unused project. Run it against
    a project of its own: a server that someone else creates meanwhile would be deleted too.

    On a noauth2 target each fixture calls as a user of its own (``fresh_users``): the rate
    limit counts POSTs per user (Icehouse: 120 a minute), so no fixture waits out what the
    earlier ones used. Fixtures about their user (key pairs are a user's) or about the limiter
    (they expect a 429) keep the target's user, and only they may wait on a 429.
    """

    def __init__(
        self,
        target: LiveTarget,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        cleanup_timeout: float = 120.0,
        poll_interval: float = 0.5,
        rate_limit_retries: int = 2,
        max_wait: float = 65.0,
        fresh_users: bool = True,
    ) -> None:
        self.target = target
        self.fresh_users = fresh_users
        self._callers = itertools.count(1)
        self._run_id = uuid.uuid4().hex[:6]  # two runs within a minute count apart too
        self.session = session
        self.timeout = timeout
        self.sleep = sleep
        self.clock = clock
        self.cleanup_timeout = cleanup_timeout
        self.poll_interval = poll_interval
        self.rate_limit_retries = rate_limit_retries
        self.max_wait = max_wait
        self.cleanup_problem: str | None = None  # set once listing servers does not work
        # The project's servers as the last clean-up left them: the next fixture's "before",
        # one listing fewer a fixture (None: list them again).
        self._left: set[str] | None = None

    @property
    def servers_path(self) -> str:
        return f"/v2/{self.target.values['project_id']}/servers"

    def _admin_request(self, method: str, path: str) -> HttpResponse:
        values = self.target.values
        token = self.target.token or f"{values['user_id']}:{values['project_id']}"
        request = HttpRequest(
            method, path, (("Accept", "application/json"), ("X-Auth-Token", token)), (), b""
        )
        return send_http(self.target.url, request, self.session, self.timeout)

    def server_ids(self) -> set[str] | None:
        """The ids of the project's servers, or None when the target cannot list them."""
        try:
            response = self._admin_request("GET", self.servers_path)
        except OSError as error:
            self.cleanup_problem = f"listing servers failed: {error}"
            return None
        body = json_or_none(response.body)
        if (
            response.status != 200
            or not isinstance(body, dict)
            or not isinstance(body.get("servers"), list)
        ):
            self.cleanup_problem = (
                f"GET {self.servers_path} answered "
                f"{answer_summary(response)}: "
                "servers the fixtures create are not cleaned up"
            )
            return None
        return {
            server["id"]
            for server in body["servers"]
            if isinstance(server, dict) and "id" in server
        }

    def clean_up(self, before: set[str]) -> tuple[str, ...]:
        """Delete the servers that appeared since ``before``; notes on what did not go well.
        What it last listed, once they are gone, is the next fixture's ``before``."""
        after = self.server_ids()
        if after is None:
            return (self.cleanup_problem or "could not list servers",)
        created = sorted(after - before)
        notes = self._delete(created)
        if not created:
            self._left = after
        return tuple(notes + self._wait_until_gone(set(created)))

    def _servers_before(self) -> set[str] | None:
        """The project's servers before a fixture: what the last clean-up left, else listed."""
        left, self._left = self._left, None  # taken once: a fixture that fails lists again
        return left if left is not None else self.server_ids()

    def _delete(self, server_ids: list[str]) -> list[str]:
        notes = []
        for server_id in server_ids:
            response = self._admin_request("DELETE", f"{self.servers_path}/{server_id}")
            if response.status not in (202, 204, 404):
                notes.append(f"deleting server {server_id} answered {answer_summary(response)}")
        return notes

    def _wait_until_gone(self, remaining: set[str]) -> list[str]:
        deadline = self.clock() + self.cleanup_timeout
        while remaining:
            current = self.server_ids()
            if current is None:
                return [self.cleanup_problem or "could not list servers"]
            remaining &= current
            if not remaining:
                self._left = current
                break
            if self.clock() >= deadline:
                return [
                    f"servers still there after {self.cleanup_timeout:.0f}s: "
                    + ", ".join(sorted(remaining))
                ]
            self.sleep(self.poll_interval)
        return []

    def run(self, fixture: Fixture) -> Result:
        """Run one fixture, then clean up after it; clean-up problems become notes."""
        before = self._servers_before() if live_skip_reason(fixture, self.target) is None else None
        caller = self.caller_for(fixture)
        result = run_live(
            fixture,
            caller.url,
            caller.values,
            session=self.session,
            timeout=self.timeout,
            rate_limit_retries=self.rate_limit_retries,
            sleep=self.sleep,
            max_wait=self.max_wait,
            target=caller,
        )
        if result.outcome == SKIP or (before is not None and not posts(fixture)):
            if before is not None:  # sent nothing, or no POST: no new server to look for
                self._left = before
            return result
        notes = (
            self.clean_up(before)
            if before is not None
            else (self.cleanup_problem or "could not list servers",)
        )
        return dataclasses.replace(result, notes=result.notes + notes) if notes else result

    def caller_for(self, fixture: Fixture) -> LiveTarget:
        """The target as this fixture calls it: on noauth2, a user of its own."""
        if not self.fresh_users or self.target.token is not None or about_its_user(fixture):
            return self.target
        user = f"{self.target.values['user_id']}-{self._run_id}-{next(self._callers)}"
        return dataclasses.replace(self.target, values={**self.target.values, "user_id": user})

    def run_all(
        self, fixtures: Iterable[Fixture], progress: Progress | None = None
    ) -> list[Result]:
        """Run fixtures one after the other, telling ``progress`` of each result."""
        results = []
        for fixture in fixtures:
            result = self.run(fixture)
            if progress is not None:
                progress(result)
            results.append(result)
        return results


def posts(fixture: Fixture) -> bool:
    """Whether a fixture sends a POST (a setup step or its request): only a POST makes a
    server, so only after one does the live runner look for servers to delete."""
    return any(
        str(request.get("method", "")).upper() == "POST"
        for request in (fixture.request, *fixture.setup)
    )


def about_its_user(fixture: Fixture) -> bool:
    """Whether a fixture depends on who its user is: it tests the rate limiter (a 429), or
    touches key pairs (a user's own: the reference world's belong to its user)."""
    if fixture.expect["status"] == 429:
        return True
    for request in (fixture.request, *fixture.setup):
        body = request.get("body")
        server = body.get("server") if isinstance(body, dict) else None
        if "keypair" in str(request.get("path", "")).lower() or (
            isinstance(server, dict) and "key_name" in server
        ):
            return True
    return False


# --------------------------------------------------------------------------- suites


def run_suite(
    fixtures: Iterable[Fixture],
    target: str | LiveTarget | None = None,
    values: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    jobs: int = 1,
    **runner_options: Any,
) -> list[Result]:
    """Run fixtures in-process (``target`` None, on up to ``jobs`` processes) or against a
    live endpoint.

    ``target`` is a URL (noauth2, a target seeded from the reference world, ``values``
    over the world's placeholders) or a ``LiveTarget``.
    """
    if target is None:
        return run_in_processes(fixtures, jobs, progress)
    if isinstance(target, str):
        root = target_root(target)
        target = LiveTarget(
            root,
            live_values(values),
            reference_world=True,
            max_microversion=microversions.announced_maximum(root),
        )
    with _session_for(target.url) as session:
        return LiveRunner(target, session=session, **runner_options).run_all(fixtures, progress)


def _session_for(url: str) -> requests.Session:
    """A session for requests to ``url`` with the environment's proxy and CA settings read
    once: otherwise requests reads them (and parses ``no_proxy``) again on every request."""
    import requests  # a live target only

    session = requests.Session()
    settings = session.merge_environment_settings(url, {}, None, None, None)
    session.proxies.update(settings["proxies"])
    session.verify = settings["verify"]
    session.cert = settings["cert"]
    session.trust_env = False
    return session
