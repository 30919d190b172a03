"""How a conformance run is told: a text report, JUnit XML for CI, a Markdown table.

Every form names, for each fixture that did not pass, the fixture, its spec source, what was
expected and what came back; where the fixture records Icehouse's own status
(``nova_status``), which of the two answers the target gave.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Mapping, Sequence

from refnova.conformance import (FAIL, NOVA, PASS, SKIP, Result, counts, expected_summary,
                                 summary_line)

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
    return (f"neither refnova's ({fixture.expect['status']}) nor Icehouse's "
            f"({fixture.nova_status}) answer")


def text_report(results: Sequence[Result], values: Mapping[str, str], target: str) -> str:
    """What `refnova conformance` prints: each non-pass, then the summary line (last)."""
    lines = [f"refnova conformance against {target}"]
    for result in results:
        if result.outcome == PASS and not result.notes:
            continue
        fixture = result.fixture
        lines.append(f"{result.outcome.upper():4} {fixture.id}  [{fixture.source}]")
        lines.append(f"     {fixture.name}")
        if result.outcome == SKIP:
            lines.append(f"     skipped: {result.reason}")
            continue
        if result.outcome != PASS:
            lines.append(f"     expected: {expected_summary(fixture, values)}")
            lines.append(f"     got:      {result.got}")
        answer = which_answer(result)
        if answer:
            lines.append(f"     Icehouse answered {fixture.nova_status}: the target gave {answer}")
        if result.outcome == FAIL:
            lines += [f"     - {problem}" for problem in result.mismatches]
        lines += [f"     note: {note}" for note in result.notes
                  if not note.startswith("gave refnova's answer")]
    nova = counts(results)["nova"]
    if nova:
        lines.append(f"{nova} of the passes gave Icehouse's own answer where refnova's differs "
                     "(nova_status)")
    lines.append(summary_line(results))
    return "\n".join(lines) + "\n"


def junit_xml(results: Sequence[Result], values: Mapping[str, str], target: str) -> bytes:
    """JUnit XML: one testcase per fixture, failures with expected and got, skips with reasons."""
    found = counts(results)
    suite = ET.Element("testsuite", {
        "name": "refnova conformance", "tests": str(len(results)),
        "failures": str(found["failed"]), "errors": "0", "skipped": str(found["skipped"])})
    ET.SubElement(ET.SubElement(suite, "properties"), "property",
                  {"name": "target", "value": target})
    for result in results:
        fixture = result.fixture
        case = ET.SubElement(suite, "testcase", {
            "classname": f"conformance.{fixture.path.parent.name}", "name": fixture.id})
        details = [f"{fixture.name}", f"source: {fixture.source}"]
        if result.outcome == SKIP:
            ET.SubElement(case, "skipped", {"message": result.reason})
            continue
        details += [f"expected: {expected_summary(fixture, values)}", f"got: {result.got}"]
        answer = which_answer(result)
        if answer:
            details.append(f"Icehouse answered {fixture.nova_status}: the target gave {answer}")
        details += list(result.mismatches) + [f"note: {note}" for note in result.notes]
        if result.outcome == FAIL:
            failure = ET.SubElement(case, "failure", {
                "message": f"{fixture.id} [{fixture.source}]: expected "
                           f"{expected_summary(fixture, values)}, got {result.got}"})
            failure.text = "\n".join(details)
        else:
            ET.SubElement(case, "system-out").text = "\n".join(details)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def markdown_report(results: Sequence[Result], values: Mapping[str, str], target: str) -> str:
    """A Markdown table of every fixture, then the summary line."""
    lines = [f"# Conformance of {target}", "",
             "| Fixture | Spec source | Outcome | Expected | Got | Notes |",
             "| --- | --- | --- | --- | --- | --- |"]
    for result in results:
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
            notes += [note for note in result.notes if not note.startswith("gave refnova's")]
        cells = [f"`{fixture.id}`", fixture.source, OUTCOME_WORDS[result.outcome], expected, got,
                 "<br>".join(notes)]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    lines += ["", summary_line(results), ""]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split()) if text else ""
