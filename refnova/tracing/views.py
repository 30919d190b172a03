"""Views of a trace: an indented text tree, Jaeger's JSON, a golden shape (the HTML waterfall
is ``refnova.tracing.waterfall``'s).

All of them take the ``SpanRecord`` values of ``refnova.tracing.files``. A span's parent is
the span its ``parent_id`` names when that span is in the same trace; a span whose parent
is missing (another process did not write its part, say) is shown as a root.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from refnova.tracing.attributes import (
    DB_SYSTEM_NAME,
    ERROR_TYPE,
    HTTP_RESPONSE_STATUS_CODE,
    NOVA_FAULT,
    OTEL_SCOPE_NAME,
    OTEL_STATUS_CODE,
    OTEL_STATUS_DESCRIPTION,
    SERVICE_NAME,
)
from refnova.tracing.files import SpanRecord, by_trace

Shape = list[dict[str, Any]]  # golden shape nodes: name, kind, error, db, children


@dataclasses.dataclass
class Node:
    span: SpanRecord
    children: list[Node]
    orphan: bool = False  # has a parent id that is not in the trace


def build_tree(spans: Iterable[SpanRecord]) -> list[Node]:
    """The roots of one trace's spans, children ordered by start time."""
    ordered = sorted(spans, key=lambda s: (s.start_ns, s.end_ns, s.name))
    nodes = {span.span_id: Node(span, []) for span in ordered}
    roots: list[Node] = []
    for span in ordered:
        node = nodes[span.span_id]
        parent = nodes.get(span.parent_id) if span.parent_id else None
        if parent is not None and parent is not node:
            parent.children.append(node)
        else:
            node.orphan = bool(span.parent_id)
            roots.append(node)
    return roots


def walk(roots: Iterable[Node], depth: int = 0) -> Iterator[tuple[int, Node]]:
    """(depth, node) in display order."""
    for node in roots:
        yield depth, node
        yield from walk(node.children, depth + 1)


def error_origin(node: Node) -> bool:
    """Whether an error span is where the error arose (no child of it failed)."""
    return node.span.is_error and not any(child.span.is_error for child in node.children)


def _ms(nanoseconds: float) -> str:
    return "%.3f ms" % (nanoseconds / 1e6)


# --- text ------------------------------------------------------------------------------


def render_text(records: Iterable[SpanRecord], trace_id: str | None = None) -> str:
    """Every trace of ``records`` (or just ``trace_id``) as an indented tree with durations."""
    traces = by_trace(records)
    if trace_id is not None:
        traces = {key: value for key, value in traces.items() if key == trace_id.lower()}
        if not traces:
            raise KeyError("no trace %s in the file" % trace_id)
    blocks = [_render_trace(trace, spans) for trace, spans in traces.items()]
    return "\n\n".join(blocks) + "\n" if blocks else "no spans\n"


def _render_trace(trace_id: str, spans: Sequence[SpanRecord]) -> str:
    roots = build_tree(spans)
    start = min(span.start_ns for span in spans)
    end = max(span.end_ns for span in spans)
    services = list(dict.fromkeys(span.service for span in spans if span.service))
    errors = sum(1 for span in spans if span.is_error)
    header = "trace %s: %d span%s, %s, %s%s" % (
        trace_id,
        len(spans),
        "" if len(spans) == 1 else "s",
        ", ".join(services) or "no service",
        _ms(end - start),
        ", %d with errors" % errors if errors else "",
    )
    lines = [header, "%12s %12s  %s" % ("start", "duration", "span")]
    parent_service: dict[str | None, str] = {}
    for depth, node in walk(roots):
        span = node.span
        label = _text_label(node, parent_service.get(span.parent_id))
        parent_service[span.span_id] = span.service
        lines.append(
            "%12s %12s  %s%s"
            % ("+" + _ms(span.start_ns - start), _ms(span.duration_ns), "  " * depth, label)
        )
    return "\n".join(lines)


def _text_label(node: Node, inherited_service: str | None) -> str:
    """A span's line: name, kind, service (where it changes), answer, orphan, error."""
    span = node.span
    label = span.name
    if span.kind != "INTERNAL":
        label += "  [%s]" % span.kind
    if span.service and span.service != inherited_service:
        label += "  (%s)" % span.service
    status = span.attributes.get(HTTP_RESPONSE_STATUS_CODE)
    if span.kind == "SERVER" and status is not None:
        fault = span.attributes.get(NOVA_FAULT)
        label += "  -> %s%s" % (status, " " + fault if fault else "")
    if node.orphan:
        label += "  (parent %s not in this trace)" % span.parent_id
    if span.is_error:
        label += (
            "  ERROR: %s" % (span.status_message or span.attributes.get(ERROR_TYPE, ""))
            if error_origin(node)
            else "  ERROR"
        )
    return label


# --- Jaeger --------------------------------------------------------------------------


def _jaeger_tag(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "type": "bool", "value": value}
    if isinstance(value, int):
        return {"key": key, "type": "int64", "value": value}
    if isinstance(value, float):
        return {"key": key, "type": "float64", "value": value}
    if isinstance(value, (list, dict)):
        return {"key": key, "type": "string", "value": json.dumps(value)}
    return {"key": key, "type": "string", "value": str(value)}


def to_jaeger(records: Iterable[SpanRecord]) -> dict[str, Any]:
    """Jaeger's query-API JSON (``{"data": [trace, ...]}``), which the Jaeger UI uploads.

    As Jaeger's own OTLP translation does: the parent is a CHILD_OF reference, each link
    a FOLLOWS_FROM one; times are microseconds; kind and status become tags.
    """
    traces = [_jaeger_trace(trace_id, spans) for trace_id, spans in by_trace(records).items()]
    return {"data": traces, "total": 0, "limit": 0, "offset": 0, "errors": None}


def _jaeger_trace(trace_id: str, spans: Sequence[SpanRecord]) -> dict[str, Any]:
    """One trace, each distinct resource a Jaeger process (``p1``, ``p2``...)."""
    processes: dict[str, dict[str, Any]] = {}
    process_ids: dict[str, str] = {}
    jaeger_spans = []
    for span in spans:
        key = json.dumps(span.resource, sort_keys=True, default=str)
        if key not in process_ids:
            process_ids[key] = "p%d" % (len(process_ids) + 1)
            processes[process_ids[key]] = {
                "serviceName": span.service or "unknown_service",
                "tags": [_jaeger_tag(k, v) for k, v in span.resource.items() if k != SERVICE_NAME],
            }
        jaeger_spans.append(_jaeger_span(trace_id, span, process_ids[key]))
    return {"traceID": trace_id, "spans": jaeger_spans, "processes": processes, "warnings": None}


def _jaeger_span(trace_id: str, span: SpanRecord, process_id: str) -> dict[str, Any]:
    references = []
    if span.parent_id:
        references.append({"refType": "CHILD_OF", "traceID": trace_id, "spanID": span.parent_id})
    references += [
        {"refType": "FOLLOWS_FROM", "traceID": link["trace_id"], "spanID": link["span_id"]}
        for link in span.links
    ]
    logs = [
        {
            "timestamp": event["time_ns"] // 1000,
            "fields": [_jaeger_tag("event", event["name"])]
            + [_jaeger_tag(k, v) for k, v in event["attributes"].items()],
        }
        for event in span.events
    ]
    return {
        "traceID": trace_id,
        "spanID": span.span_id,
        "operationName": span.name,
        "references": references,
        "startTime": span.start_ns // 1000,
        "duration": span.duration_ns // 1000,
        "tags": _jaeger_tags(span),
        "logs": logs,
        "processID": process_id,
        "warnings": None,
        "flags": 1,
    }


def _jaeger_tags(span: SpanRecord) -> list[dict[str, Any]]:
    """The attributes, then kind, scope and status as Jaeger's OTLP translation tags them."""
    tags = [_jaeger_tag(k, v) for k, v in span.attributes.items()]
    tags.append(_jaeger_tag("span.kind", span.kind.lower()))
    if span.scope.get("name"):
        tags.append(_jaeger_tag(OTEL_SCOPE_NAME, span.scope["name"]))
    if span.status != "UNSET":
        tags.append(_jaeger_tag(OTEL_STATUS_CODE, span.status))
    if span.is_error:
        tags.append(_jaeger_tag("error", True))
        if span.status_message:
            tags.append(_jaeger_tag(OTEL_STATUS_DESCRIPTION, span.status_message))
    return tags


# --- golden shapes ---------------------------------------------------------------------


def is_database_span(span: SpanRecord) -> bool:
    return DB_SYSTEM_NAME in span.attributes


def shape(spans: Iterable[SpanRecord]) -> Shape:
    """One trace's span tree without ids or times: name, kind, error flag, children.

    Database statements are summarised on the span that ran them: ``"db"`` lists the
    distinct statement summaries (``"INSERT instances"``...), so that batching an insert or
    repeating a query does not change the shape, while a statement that moves, appears or
    disappears does.
    """

    def node_shape(node: Node) -> dict[str, Any]:
        result: dict[str, Any] = {"name": node.span.name, "kind": node.span.kind}
        if node.span.is_error:
            result["error"] = True
        statements = sorted(
            {child.span.name for child in node.children if is_database_span(child.span)}
        )
        if statements:
            result["db"] = statements
        children = [
            node_shape(child) for child in node.children if not is_database_span(child.span)
        ]
        if children:
            result["children"] = children
        return result

    return [node_shape(root) for root in build_tree(spans)]


def shape_lines(nodes: Shape, depth: int = 0) -> list[str]:
    """A shape as indented text lines (what comparisons diff)."""
    lines = []
    for node in nodes:
        lines.append(
            "%s%s [%s]%s"
            % ("  " * depth, node["name"], node["kind"], " ERROR" if node.get("error") else "")
        )
        lines += ["%s(db) %s" % ("  " * (depth + 1), statement) for statement in node.get("db", [])]
        lines += shape_lines(node.get("children", []), depth + 1)
    return lines


def compare_shapes(expected: Shape, actual: Shape) -> list[str]:
    """A unified diff of two shapes (empty when they are the same)."""
    return list(
        difflib.unified_diff(
            shape_lines(expected), shape_lines(actual), "expected", "actual", lineterm="", n=2
        )
    )
