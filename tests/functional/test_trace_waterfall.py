"""``refnova trace html`` in a real headless Chromium: the page of a traced create and of a
quota rejection (413), one browser session for every check.

It collapses a subtree, searches, and reads the time axis, the folded rows' HTTP status and
error, a stack trace and the full span names as the browser lays them out.
"""

import json
import re

import pytest

from refnova import cli
from refnova.tracing import files as tracefiles
from refnova.tracing import waterfall
from refnova.tracing.attributes import ERROR_TYPE, HTTP_RESPONSE_STATUS_CODE
from refnova.tracing.files import SpanRecord
from tests.support import tracing
from tests.support.browser import headless_chromium
from tests.support.tracing import CREATE_SPAN


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    """Both traces in one JSON-lines file: its page, their records, the create's trace id."""
    directory = tmp_path_factory.mktemp("waterfall")
    with tracing.recording() as recorder:
        created, rejected, records = tracing.write_create_traces(recorder, directory)
    both = directory / "both.jsonl"
    documents = tracefiles.load_documents(created) + tracefiles.load_documents(rejected)
    both.write_text("".join(json.dumps(document) + "\n" for document in documents))
    page = directory / "both.html"
    assert cli.main(["trace", "html", str(both), "-o", str(page)]) == 0
    return page, tracefiles.load_spans(both), records[0].trace_id


@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as driver:
        yield driver


@pytest.fixture
def page(browser, traced):
    """The page, freshly loaded (no state left by the previous test)."""
    browser.get(traced[0].as_uri())
    return browser


def row(driver, span_id):
    return driver.find_element("css selector", '.span[data-span-id="%s"]' % span_id)


def summary(element):
    return element.find_element("css selector", ":scope > details > summary")


def descendants(records, span_id):
    children = [r for r in records if r.parent_id == span_id]
    return children + [d for child in children for d in descendants(records, child.span_id)]


def test_the_time_axis_has_ticks_labelled_in_ms_over_each_trace(page, traced):
    sections = page.find_elements("css selector", "section.trace")
    assert len(sections) == 2
    for section in sections:
        ticks = section.find_elements("css selector", ".axis .tick")
        labels = [tick.text for tick in ticks]
        assert len(ticks) >= 3, labels
        assert labels[0] == "0 ms" and all(re.fullmatch(r"\d+(\.\d+)? ms", x) for x in labels)
        lefts = [tick.rect["x"] for tick in ticks]
        assert lefts == sorted(lefts) and len(set(lefts)) == len(lefts)
        assert all(tick.is_displayed() for tick in ticks)


def test_collapsing_a_subtree_hides_its_descendants_only(page, traced):
    records = traced[1]
    (target,) = [
        r
        for r in records
        if r.name == "compute.api.API._provision_instances" and r.trace_id == traced[2]
    ]
    hidden = descendants(records, target.span_id)
    assert hidden
    others = [r for r in records if r not in hidden]
    element = row(page, target.span_id)
    toggle = summary(element).find_element("css selector", ".toggle")
    assert toggle.get_attribute("aria-expanded") == "true"
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not any(summary(row(page, r.span_id)).is_displayed() for r in hidden)
    assert all(summary(row(page, r.span_id)).is_displayed() for r in others)
    folded = summary(element).find_element("css selector", ".folded")
    assert folded.text == "+%d spans hidden" % len(hidden)
    assert element.find_element("css selector", ":scope > details").get_attribute("open") is None
    toggle.click()
    assert all(summary(row(page, r.span_id)).is_displayed() for r in hidden)


def _expected_matches(records, query):
    def text(record):
        parts = [record.name, record.service]
        parts += [p for k, v in record.attributes.items() for p in (k, waterfall.text(v))]
        return "\n".join(parts).lower()

    return {r.span_id for r in records if query.lower() in text(r)}


@pytest.mark.parametrize("query", ["INSERT", "db.operation.batch.size", "overLimit"])
def test_the_search_box_highlights_matching_spans_and_counts_them(page, traced, query):
    records = traced[1]
    expected = _expected_matches(records, query)
    assert expected and len(expected) < len(records)
    page.find_element("id", "search").send_keys(query)
    matched = page.find_elements("css selector", ".span.match")
    assert {element.get_attribute("data-span-id") for element in matched} == expected
    counter = page.find_element("id", "match-count").text
    assert counter == "%d of %d spans match" % (len(expected), len(records))
    colours = {summary(element).value_of_css_property("background-color") for element in matched}
    plain = summary(page.find_element("css selector", ".span:not(.match)"))
    assert len(colours) == 1 and plain.value_of_css_property("background-color") not in colours


def test_a_folded_row_shows_its_http_status_and_its_error(page, traced):
    records = traced[1]
    (rejected,) = [
        r
        for r in records
        if r.name == CREATE_SPAN and r.attributes[HTTP_RESPONSE_STATUS_CODE] >= 400
    ]
    failed = [r for r in records if r.is_error or ERROR_TYPE in r.attributes]
    assert failed, "the rejection recorded no error"
    for record in failed:
        element = row(page, record.span_id)
        assert (
            element.find_element("css selector", ":scope > details").get_attribute("open") is None
        )
        (badge,) = summary(element).find_elements("css selector", ".badge.error, .badge.exception")
        assert badge.is_displayed(), record.name
        words = badge.text.split()
        assert (words[0] == "ERROR") == record.is_error, (record.name, words)
        if ERROR_TYPE in record.attributes:
            assert record.attributes[ERROR_TYPE] in words, (record.name, words)
    root = row(page, rejected.span_id)
    summary(root).find_element("css selector", ".toggle").click()  # the whole trace folded
    assert not any(summary(row(page, r.span_id)).is_displayed() for r in failed if r != rejected)
    badge = summary(root).find_element("css selector", ".badge.http")
    assert badge.is_displayed() and badge.text.split()[0] == "413"
    assert "s4xx" in badge.get_attribute("class").split()


def test_an_exception_s_stack_trace_reads_as_lines(page, traced):
    records = traced[1]
    raised = [r for r in records if any(e["name"] == "exception" for e in r.events)]
    assert raised, "the rejection recorded no exception"
    record = raised[0]
    stack = next(e for e in record.events if e["name"] == "exception")["attributes"][
        "exception.stacktrace"
    ]
    element = row(page, record.span_id)
    summary(element).find_element("css selector", ".label").click()  # unfold its details
    pre = element.find_element("css selector", ":scope > details pre.stack")
    assert pre.is_displayed()
    shown = pre.get_attribute("innerText")
    assert "\\n" not in shown and shown.splitlines()[0].startswith("Traceback")
    assert shown.splitlines() == stack.rstrip("\n").splitlines()
    line_height = page.execute_script(
        "var s = getComputedStyle(arguments[0]); return parseFloat(s.lineHeight) ||"
        " 1.2 * parseFloat(s.fontSize);",
        pre,
    )
    lines = len(stack.rstrip("\n").splitlines())
    assert lines > 3 and pre.size["height"] >= min(lines, 20) * line_height


CLIPPED = """
var clipped = [];
for (var e = arguments[0]; e.tagName !== "SUMMARY"; e = e.parentElement) {
  if (e.scrollWidth > e.clientWidth + 1) { clipped.push(e.className); }
}
var tops = Array.prototype.map.call(arguments[0].getClientRects(), function (r) {
  return Math.round(r.top);
});
return [clipped, new Set(tops).size];
"""


def test_every_span_name_is_shown_whole(page, traced):
    records = traced[1]
    for record in records:
        label = summary(row(page, record.span_id)).find_element("css selector", ".label")
        assert label.get_attribute("textContent") == record.name
        assert label.get_attribute("title") == record.name
    longest = max(records, key=lambda r: len(r.name))
    size = page.get_window_size()
    page.set_window_size(900, size["height"])  # too narrow for the longest name on one line
    try:
        label = summary(row(page, longest.span_id)).find_element("css selector", ".label")
        clipped, lines = page.execute_script(CLIPPED, label)
        assert clipped == [] and lines > 1, (clipped, lines)
        assert label.text.replace("\n", "") == longest.name
    finally:
        page.set_window_size(size["width"], size["height"])


HOSTILE = '</script><img src=x onerror="window.pwned=1"><b>bold</b>'


def test_span_text_that_looks_like_markup_stays_text(browser, tmp_path):
    record = SpanRecord(
        trace_id="ab" * 16,
        span_id="cd" * 8,
        parent_id=None,
        name=HOSTILE,
        kind="SERVER",
        start_ns=1_000_000,
        end_ns=4_000_000,
        attributes={HOSTILE: HOSTILE, "<svg onload=window.pwned=2>": 500, ERROR_TYPE: HOSTILE},
        status="ERROR",
        status_message=HOSTILE,
        events=[
            {
                "name": "exception",
                "time_ns": 2_000_000,
                "attributes": {"exception.type": HOSTILE, "exception.stacktrace": HOSTILE},
            }
        ],
        resource={"service.name": HOSTILE},
    )
    path = tmp_path / "hostile.html"
    path.write_text(waterfall.to_html([record], title=HOSTILE))
    browser.get(path.as_uri())
    assert browser.title == HOSTILE
    assert browser.find_elements("css selector", "img, svg, b") == []
    assert browser.execute_script("return window.pwned === undefined")
    label = browser.find_element("css selector", ".label")
    assert label.get_attribute("textContent") == HOSTILE
    browser.find_element("id", "search").send_keys("onerror")
    assert browser.find_element("id", "match-count").text == "1 of 1 span match"
