"""The HTML waterfall of ``refnova trace html``: one self-contained page per trace file.

The page's markup, style and script are package data beside this module (``waterfall.html``,
``waterfall.css``, ``waterfall.js``), inlined at render time, so the page fetches nothing.
Every text that comes from a span is HTML-escaped where it enters the markup, and the script
reads spans from the DOM's text only: a span name or attribute is never parsed as markup or
script.
"""

from __future__ import annotations

import dataclasses
import html
import importlib.resources
import json
import math
import string
from collections.abc import Sequence
from typing import Any

from refnova.tracing.attributes import ERROR_TYPE, HTTP_RESPONSE_STATUS_CODE, NOVA_FAULT
from refnova.tracing.files import SpanRecord, by_trace
from refnova.tracing.views import Node, build_tree, error_origin

ASSETS = ("waterfall.html", "waterfall.css", "waterfall.js")
PALETTE = ("#4e79a7", "#59a14f", "#b07aa1", "#f28e2b", "#76b7b2", "#edc948", "#9c755f")
TICKS = 8  # about this many ticks on the time axis
INDENT_PX = 16  # per level of the span tree
EXCEPTION_EVENT = "exception"  # OpenTelemetry's event name for a recorded exception


def text(value: Any) -> str:
    """An attribute value as the page shows it: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def esc(value: Any) -> str:
    """A value as HTML text, safe in element content and in quoted attribute values."""
    return html.escape(text(value))


def asset(name: str) -> str:
    """One of ASSETS, as the installed package holds it."""
    if name not in ASSETS:
        raise ValueError("the waterfall has no asset %r" % name)
    content = (importlib.resources.files(__package__) / name).read_text(encoding="utf-8")
    return content if name == "waterfall.html" else inlinable(name, content)


def inlinable(name: str, content: str) -> str:
    """The content of a <style> or <script>, refused if it could end its element early."""
    if "</" in content:
        raise ValueError("%s must not contain '</' (it would end its element)" % name)
    return content


def breakable(name: str) -> str:
    """A name as HTML text that may wrap after a dot or a slash (the text stays the same)."""
    return esc(name).replace(".", ".<wbr>").replace("/", "/<wbr>")


def _ms(nanoseconds: float) -> str:
    return "%.3f ms" % (nanoseconds / 1e6)


@dataclasses.dataclass(frozen=True)
class Frame:
    """What every row of one trace is drawn against: its start, its length, the colours."""

    start_ns: int
    total_ns: int
    colours: dict[str, str]

    def percent(self, nanoseconds: float) -> float:
        return 100.0 * nanoseconds / self.total_ns


def to_html(records: Sequence[SpanRecord], title: str = "refnova trace") -> str:
    """The page: a legend, a search box, and per trace a time axis over its span tree."""
    services = list(dict.fromkeys(span.service for span in records if span.service))
    colours = {service: PALETTE[i % len(PALETTE)] for i, service in enumerate(services)}
    legend = "".join(
        '<span><i style="background:%s"></i>%s</span>' % (colours[s], esc(s)) for s in services
    )
    traces = "\n".join(
        trace_section(trace_id, spans, colours) for trace_id, spans in by_trace(records).items()
    )
    return string.Template(asset("waterfall.html")).substitute(
        title=esc(title),
        style=asset("waterfall.css"),
        script=asset("waterfall.js"),
        legend=legend,
        spans=len(records),
        traces=traces or '<p class="meta">no spans</p>',
    )


def trace_section(trace_id: str, spans: Sequence[SpanRecord], colours: dict[str, str]) -> str:
    start = min(span.start_ns for span in spans)
    frame = Frame(start, max(max(span.end_ns for span in spans) - start, 1), colours)
    errors = sum(1 for span in spans if span.is_error)
    meta = "%d span%s, %s%s" % (
        len(spans),
        "" if len(spans) == 1 else "s",
        _ms(frame.total_ns),
        ", %d with errors" % errors if errors else "",
    )
    ticks = time_ticks(frame.total_ns)
    lines = "".join('<i style="left:%.3f%%"></i>' % left for left, _label in ticks)
    labels = "".join(
        '<span class="tick" style="left:%.3f%%">%s</span>' % (left, esc(label))
        for left, label in ticks
    )
    rows = "".join(span_block(root, 0, frame) for root in build_tree(spans))
    return (
        '<section class="trace" data-trace-id="%s"><h2>trace %s</h2><div class="meta">%s</div>'
        '<div class="axis"><div class="axis-name">span</div><div class="ticks">%s</div>'
        '<div class="axis-dur">duration</div></div><div class="rows">'
        '<div class="grid" aria-hidden="true"><div></div><div class="lines">%s</div><div></div>'
        "</div>%s</div></section>" % (esc(trace_id), esc(trace_id), esc(meta), labels, lines, rows)
    )


def time_ticks(total_ns: int) -> list[tuple[float, str]]:
    """(percent of the trace, label) at a round step (1, 2 or 5 times a power of ten ms)."""
    total_ms = total_ns / 1e6
    rough = total_ms / TICKS
    power = 10.0 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough * (1 - 1e-9))
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    count = int(total_ms / step + 1e-9)
    return [
        (100.0 * i * step / total_ms, "%.*f ms" % (decimals, i * step)) for i in range(count + 1)
    ]


def _descendants(node: Node) -> int:
    return sum(1 + _descendants(child) for child in node.children)


def span_block(node: Node, depth: int, frame: Frame) -> str:
    """A span's row (its details folded inside) and, below it, its children's blocks."""
    span = node.span
    children = "".join(span_block(child, depth + 1, frame) for child in node.children)
    hidden = _descendants(node)
    toggle = (
        '<button type="button" class="toggle" aria-expanded="true" '
        'title="collapse or expand the %d spans below">&#9662;</button>' % hidden
        if node.children
        else '<span class="leaf"></span>'
    )
    folded = (
        '<span class="folded">+%d span%s hidden</span>' % (hidden, "" if hidden == 1 else "s")
        if node.children
        else ""
    )
    left = frame.percent(span.start_ns - frame.start_ns)
    width = max(frame.percent(span.duration_ns), 0.15)
    return (
        '<div class="span%s" data-span-id="%s"><details class="row"><summary>'
        '<div class="name" style="padding-left:%dpx">%s<span class="text"><span class="label" '
        'title="%s">%s</span>%s%s%s</span></div><div class="lane"><div class="bar" '
        'style="left:%.3f%%;width:%.3f%%;background:%s" title="+%s, %s"></div></div>'
        '<div class="dur">%s</div></summary>%s'
        '</details><div class="children">%s</div></div>'
        % (
            " err" if span.is_error else "",
            esc(span.span_id),
            depth * INDENT_PX,
            toggle,
            esc(span.name),
            breakable(span.name),
            "" if span.kind == "INTERNAL" else '<span class="kind">%s</span>' % esc(span.kind),
            badges(span),
            folded,
            left,
            width,
            frame.colours.get(span.service, "#888"),
            _ms(span.start_ns - frame.start_ns),
            _ms(span.duration_ns),
            _ms(span.duration_ns),
            detail(node, frame),
            children,
        )
    )


def exceptions(span: SpanRecord) -> list[dict[str, Any]]:
    """The attributes of each exception the span recorded."""
    return [event["attributes"] for event in span.events if event["name"] == EXCEPTION_EVENT]


def badges(span: SpanRecord) -> str:
    """What the folded row says: the HTTP status (and Nova fault), the error and its type."""
    parts = []
    status = span.attributes.get(HTTP_RESPONSE_STATUS_CODE)
    if status is not None:
        fault = span.attributes.get(NOVA_FAULT)
        parts.append(
            '<span class="badge http s%sxx" title="http.response.status_code">%s</span>'
            % (esc(str(status)[:1]), esc("%s %s" % (status, fault) if fault else status))
        )
    recorded = exceptions(span)
    error_type = span.attributes.get(ERROR_TYPE) or (
        recorded[0].get("exception.type") if recorded else None
    )
    if span.is_error or error_type:
        words = (["ERROR"] if span.is_error else []) + ([str(error_type)] if error_type else [])
        parts.append(
            '<span class="badge %s" title="%s">%s</span>'
            % (
                "error" if span.is_error else "exception",
                esc(span.status_message or "status %s" % span.status),
                esc(" ".join(words)),
            )
        )
    return "".join(parts)


def detail(node: Node, frame: Frame) -> str:
    """The unfolded part: status message, a table of everything, exceptions, other events."""
    span = node.span
    rows: list[tuple[str, Any, str]] = [
        ("service", span.service, "attr"),
        ("kind", span.kind, ""),
        ("span id", span.span_id, ""),
        ("parent id", span.parent_id or "", ""),
        ("start", "+" + _ms(span.start_ns - frame.start_ns), ""),
        ("duration", _ms(span.duration_ns), ""),
        ("status", span.status, ""),
    ]
    rows += [(key, value, "attr") for key, value in sorted(span.attributes.items())]
    rows += [("link", "%s/%s" % (link["trace_id"], link["span_id"]), "") for link in span.links]
    table = "".join(
        '<tr class="%s"><th>%s</th><td>%s</td></tr>' % (kind, esc(key), esc(value))
        for key, value, kind in rows
    )
    message = (
        '<div class="msg%s">%s</div>'
        % (" origin" if error_origin(node) else "", esc(span.status_message))
        if span.is_error and span.status_message
        else ""
    )
    events = "".join(
        exception_block(event["attributes"])
        if event["name"] == EXCEPTION_EVENT
        else event_block(event, frame)
        for event in span.events
    )
    return '<div class="detail">%s<table class="attrs">%s</table>%s</div>' % (
        message,
        table,
        events,
    )


def exception_block(attributes: dict[str, Any]) -> str:
    """An exception: its type and message, and its stack trace as the lines it has."""
    head = "%s: %s" % (
        attributes.get("exception.type", "exception"),
        attributes.get("exception.message", ""),
    )
    stack = attributes.get("exception.stacktrace")
    return '<div class="exception"><div class="exc-head">%s</div>%s</div>' % (
        esc(head),
        '<pre class="stack">%s</pre>' % esc(stack) if stack else "",
    )


def event_block(event: dict[str, Any], frame: Frame) -> str:
    attributes = "".join(
        "<tr><th>%s</th><td>%s</td></tr>" % (esc(key), esc(value))
        for key, value in sorted(event["attributes"].items())
    )
    return (
        '<div class="event"><div class="ev-head">event %s at +%s</div><table>%s</table></div>'
        % (
            esc(event["name"]),
            _ms(event["time_ns"] - frame.start_ns),
            attributes,
        )
    )
