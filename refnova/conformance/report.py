"""How a conformance run is told: a text report, JUnit XML for CI, a Markdown table.

Every form names, for each fixture that did not pass, the fixture, its spec source, what was
expected and what came back; where the fixture records Icehouse's own status
(``nova_status``), which of the two answers the target gave.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence

from refnova.conformance.results import (
    FAIL,
    NOVA,
    PASS,
    SKIP,
    Result,
    counts,
    expected_summary,
    summary_line,
)

OUTCOME_WORDS = {PASS: "passed", NOVA: "passed (as Icehouse)", FAIL: "failed", SKIP: "skipped"}


def which_answer(result: Result) -> str:
    """For a fixture with nova_status: which of refnova's and Icehouse's answers came back."""
    fixture = result.fixture
    if fixture.nova_status is None or result.status is None:
        return ""
    if result.outcome == PASS:
        return f"refnova's answer ({fixture.expect['status']})"
    if result.outcome == NOVA:
        return f"Icehouse's own answer ({fixture.nova_status})"
    return (
        f"neither refnova's ({fixture.expect['status']}) nor Icehouse's "
        f"({fixture.nova_status}) answer"
    )


def summarize(results: Sequence[Result]) -> str:
    """A short report: one block per result that is not a plain pass, then the counts."""
    lines = [result.describe() for result in results if not result.ok or result.notes]
    lines += _nova_line(results)
    lines.append(summary_line(results))
    return "\n".join(lines)


def _nova_line(results: Sequence[Result]) -> list[str]:
    nova = counts(results)["nova"]
    if not nova:
        return []
    return [
        f"{nova} of the passes gave Icehouse's own answer where refnova's differs (nova_status)"
    ]


def text_report(results: Sequence[Result], values: Mapping[str, str], target: str) -> str:
    """What `refnova conformance` prints: each non-pass, then the summary line (last)."""
    lines = [f"refnova conformance against {target}"]
    for result in results:
        if result.outcome != PASS or result.notes:
            lines += _text_block(result, values)
    lines += _nova_line(results)
    lines.append(summary_line(results))
    return "\n".join(lines) + "\n"


def _text_block(result: Result, values: Mapping[str, str]) -> list[str]:
    fixture = result.fixture
    lines = [f"{result.outcome.upper():4} {fixture.id}  [{fixture.source}]", f"     {fixture.name}"]
    if result.outcome == SKIP:
        return lines + [f"     skipped: {result.reason}"]
    if result.outcome != PASS:
        lines.append(f"     expected: {expected_summary(fixture, values)}")
        lines.append(f"     got:      {result.got}")
    answer = which_answer(result)
    if answer:
        lines.append(f"     Icehouse answered {fixture.nova_status}: the target gave {answer}")
    if result.outcome == FAIL:
        lines += [f"     - {problem}" for problem in result.mismatches]
    lines += [f"     note: {note}" for note in _own_notes(result)]
    return lines


def _own_notes(result: Result) -> list[str]:
    # "gave refnova's answer" repeats what which_answer already says
    return [note for note in result.notes if not note.startswith("gave refnova's answer")]


def junit_xml(results: Sequence[Result], values: Mapping[str, str], target: str) -> bytes:
    """JUnit XML: one testcase per fixture, failures with expected and got, skips with reasons."""
    found = counts(results)
    suite = ET.Element(
        "testsuite",
        {
            "name": "refnova conformance",
            "tests": str(len(results)),
            "failures": str(found["failed"]),
            "errors": "0",
            "skipped": str(found["skipped"]),
        },
    )
    ET.SubElement(
        ET.SubElement(suite, "properties"), "property", {"name": "target", "value": target}
    )
    for result in results:
        _junit_case(suite, result, values)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def _junit_case(suite: ET.Element, result: Result, values: Mapping[str, str]) -> None:
    fixture = result.fixture
    case = ET.SubElement(
        suite,
        "testcase",
        {"classname": f"conformance.{fixture.path.parent.name}", "name": fixture.id},
    )
    if result.outcome == SKIP:
        ET.SubElement(case, "skipped", {"message": result.reason})
        return
    expected = expected_summary(fixture, values)
    details = [
        fixture.name,
        f"source: {fixture.source}",
        f"expected: {expected}",
        f"got: {result.got}",
    ]
    answer = which_answer(result)
    if answer:
        details.append(f"Icehouse answered {fixture.nova_status}: the target gave {answer}")
    details += list(result.mismatches) + [f"note: {note}" for note in result.notes]
    if result.outcome == FAIL:
        failure = ET.SubElement(
            case,
            "failure",
            {"message": f"{fixture.id} [{fixture.source}]: expected {expected}, got {result.got}"},
        )
        failure.text = "\n".join(details)
    else:
        ET.SubElement(case, "system-out").text = "\n".join(details)


def markdown_report(results: Sequence[Result], values: Mapping[str, str], target: str) -> str:
    """A Markdown table of every fixture, then the summary line."""
    lines = [
        f"# Conformance of {target}",
        "",
        "| Fixture | Spec source | Outcome | Expected | Got | Notes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [_markdown_row(result, values) for result in results]
    lines += ["", summary_line(results), ""]
    return "\n".join(lines)


def _markdown_row(result: Result, values: Mapping[str, str]) -> str:
    fixture = result.fixture
    notes = []
    if result.outcome == SKIP:
        notes.append(result.reason)
        expected = got = ""
    else:
        expected, got = expected_summary(fixture, values), result.got
        answer = which_answer(result)
        if answer:
            notes.append(f"Icehouse answered {fixture.nova_status}: the target gave {answer}")
        if result.outcome == FAIL:
            notes += list(result.mismatches)
        notes += _own_notes(result)
    cells = [
        f"`{fixture.id}`",
        fixture.source,
        OUTCOME_WORDS[result.outcome],
        expected,
        got,
        "<br>".join(notes),
    ]
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split()) if text else ""
