"""A fixture's ``setup``: the requests sent before its own, and the placeholders they fill.

Listing servers needs servers: a fixture's ``setup`` steps are requests of the same format
as its ``request``, sent first, in order, by every runner (``tools/oracle_check.py`` sends
them to the real Nova). Each must answer 2xx, or its ``expect_status``. The JSON answer of
step N fills placeholders named after its leaves, ``{setup[N].server.id}`` or
``{setup[N].servers[0].name}``, in later steps, in the fixture's request and in its
expectation. A step that answers with a server is waited for until the server has left
BUILD, as the oracle waits, so that what the fixture lists does not depend on timing. A
step's ``undo`` request is what a live runner sends afterwards to take back what the step
made (the servers setup creates are deleted by the live runner's own clean-up).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from refnova.conformance.http import HttpRequest, HttpResponse, json_or_none, request_from_spec
from refnova.conformance.results import answer_summary

Send = Callable[[HttpRequest], HttpResponse]
Prepare = Callable[[HttpRequest], "HttpRequest | str"]  # a request, or why it cannot go
SETTLE_TIMEOUT = 30.0
# A fake driver builds in milliseconds, a real one in seconds: the first wait is short and
# each one twice the last, up to the longest.
SETTLE_FIRST_WAIT = 0.002
SETTLE_LONGEST_WAIT = 0.5


@dataclass
class SetupOutcome:
    """The placeholder values after setup, what went wrong (None: nothing), the undos."""

    values: dict[str, str]
    problem: str | None = None
    undo: list[HttpRequest] = field(default_factory=list)


def answer_values(index: int, body: Any) -> dict[str, str]:
    """``{"setup[N].path": text}`` for every scalar leaf of step N's JSON answer."""
    return dict(_leaves(body, f"setup[{index}]"))


def _leaves(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{where}.{key}")
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from _leaves(item, f"{where}[{position}]")
    elif isinstance(value, str):
        yield where, value
    elif value is not None:
        yield where, str(value).lower() if isinstance(value, bool) else str(value)


def run_setup(
    steps: list[Mapping[str, Any]],
    values: Mapping[str, str],
    send: Send,
    prepare: Prepare | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    settle_timeout: float = SETTLE_TIMEOUT,
) -> SetupOutcome:
    """Send the steps in order; stop at the first that does not answer as it should."""
    outcome = SetupOutcome(dict(values))
    for index, step in enumerate(steps):
        request = _prepared(request_from_spec(step, outcome.values), prepare)
        if isinstance(request, str):
            outcome.problem = f"setup[{index}]: {request}"
            return outcome
        response = send(request)
        expected = step.get("expect_status")
        if (
            expected is not None
            and response.status != expected
            or (expected is None and not 200 <= response.status < 300)
        ):
            outcome.problem = (
                f"setup[{index}] {request.method} {request.path} answered "
                f"{answer_summary(response)}, expected {expected or '2xx'}"
            )
            return outcome
        body = json_or_none(response.body)
        outcome.values.update(answer_values(index, body))
        if "undo" in step:
            undo = _prepared(request_from_spec(step["undo"], outcome.values), prepare)
            if isinstance(undo, HttpRequest):
                outcome.undo.insert(0, undo)
        problem = _settle(request, body, send, sleep, clock, settle_timeout)
        if problem:
            outcome.problem = f"setup[{index}]: {problem}"
            return outcome
    return outcome


def _prepared(request: HttpRequest, prepare: Prepare | None) -> HttpRequest | str:
    return prepare(request) if prepare is not None else request


def _settle(
    request: HttpRequest,
    body: Any,
    send: Send,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    timeout: float,
) -> str | None:
    """Wait until the server a step answered with has left BUILD; why not, or None."""
    server = body.get("server") if isinstance(body, dict) else None
    if request.method != "POST" or not isinstance(server, dict) or "id" not in server:
        return None
    collection = request.path.split("?")[0].rstrip("/").rsplit("/", 1)[0] + "/servers"
    show = HttpRequest("GET", f"{collection}/{server['id']}", request.headers, (), b"")
    deadline, wait = clock() + timeout, SETTLE_FIRST_WAIT
    while True:
        shown = json_or_none(send(show).body)
        status = (shown or {}).get("server", {}).get("status") if isinstance(shown, dict) else None
        if status != "BUILD":
            return None
        if clock() >= deadline:
            return f"server {server['id']} still in BUILD after {timeout:.0f}s"
        sleep(wait)
        wait = min(wait * 2, SETTLE_LONGEST_WAIT)


def undo_all(requests: list[HttpRequest], send: Send) -> list[str]:
    """Send the undo requests; a note for each that did not answer 2xx or 404."""
    notes = []
    for request in requests:
        response = send(request)
        if not (200 <= response.status < 300 or response.status == 404):
            notes.append(
                f"undo {request.method} {request.path} answered {answer_summary(response)}"
            )
    return notes
