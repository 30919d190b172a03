"""A fixture's outcome: the response matched against its expectation, and the counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from refnova.conformance.fixtures import Fixture
from refnova.conformance.http import HttpResponse, json_or_none
from refnova.conformance.matcher import check_response
from refnova.conformance.placeholders import expand

PASS = "pass"
FAIL = "fail"
NOVA = "nova"  # the answer Nova itself gave (fixture "nova_status"), not refnova's
SKIP = "skip"


@dataclass(frozen=True)
class Result:
    """What one fixture's run came to."""

    fixture: Fixture
    outcome: str  # PASS, FAIL, NOVA or SKIP
    status: int | None = None
    mismatches: tuple[str, ...] = ()
    reason: str = ""
    got: str = ""  # the answer, in one line: "400 badRequest: ..."
    notes: tuple[str, ...] = ()  # what else the run saw (nova_status, clean-up)

    @property
    def ok(self) -> bool:
        """Refnova's contract met exactly."""
        return self.outcome == PASS

    @property
    def passed(self) -> bool:
        """No departure from Nova: refnova's answer, or Icehouse's own where they differ."""
        return self.outcome in (PASS, NOVA)

    def describe(self) -> str:
        """The outcome, then the reason, mismatches and notes, one per indented line."""
        head = f"{self.outcome.upper():4} {self.fixture.id} ({self.fixture.name})"
        if self.status is not None:
            head += f" -> {self.status}"
        lines = [head]
        if self.reason:
            lines.append(f"     {self.reason}")
        lines += [f"     - {problem}" for problem in self.mismatches]
        lines += [f"     note: {note}" for note in self.notes]
        return "\n".join(lines)


def evaluate(fixture: Fixture, response: HttpResponse, values: Mapping[str, str]) -> Result:
    """Match a response against the fixture's expectation."""
    problems = check_response(expand(fixture.expect, values), response)
    got = answer_summary(response)
    if not problems:
        notes: tuple[str, ...] = ()
        if fixture.nova_status is not None:
            notes = (
                f"gave refnova's answer ({response.status}), not Icehouse's own "
                f"({fixture.nova_status})",
            )
        return Result(fixture, PASS, response.status, got=got, notes=notes)
    if fixture.nova_status is not None and response.status == fixture.nova_status:
        reason = (
            f"answered {response.status} as Icehouse itself did; refnova's contract is "
            f"{fixture.expect['status']}"
        )
        return Result(fixture, NOVA, response.status, tuple(problems), reason, got=got)
    return Result(fixture, FAIL, response.status, tuple(problems), got=got)


def answer_summary(response: HttpResponse, limit: int = 160) -> str:
    """``400 badRequest: Invalid flavorRef provided.``, or the status and the start of the text."""
    return _answer_line(response.status, json_or_none(response.body), response.text, limit)


def expected_summary(fixture: Fixture, values: Mapping[str, str], limit: int = 160) -> str:
    """The fixture's expected answer in the same one-line form as ``answer_summary``."""
    expect = expand(fixture.expect, values)
    text = " ".join(expect.get("text_contains", []))
    return _answer_line(expect["status"], expect.get("body"), text, limit)


def _answer_line(status: int, body: Any, text: str, limit: int) -> str:
    line = str(status)
    if isinstance(body, dict) and len(body) == 1:
        key, fault = next(iter(body.items()))
        if isinstance(fault, dict) and "message" in fault:
            line += f" {key}: {fault['message']}"
        else:
            line += f" {key}"
    elif text.strip():
        line += " " + " ".join(text.split())
    return line if len(line) <= limit else line[:limit] + "..."


def counts(results: Sequence[Result]) -> dict[str, int]:
    """passed (refnova's answer or Icehouse's own), failed, skipped, and nova (of the passed)."""
    return {
        "passed": sum(1 for r in results if r.passed),
        "failed": sum(1 for r in results if r.outcome == FAIL),
        "skipped": sum(1 for r in results if r.outcome == SKIP),
        "nova": sum(1 for r in results if r.outcome == NOVA),
    }


def summary_line(results: Sequence[Result]) -> str:
    """``N passed, N failed, N skipped``: the last line of every report."""
    found = counts(results)
    return f"{found['passed']} passed, {found['failed']} failed, {found['skipped']} skipped"
