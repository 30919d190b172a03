"""OTLP's JSON encoding of spans, and the flat ``SpanRecord`` every view of a trace reads.

``{"resourceSpans": [...]}``; ids as hex, enums as integers, 64-bit integers as decimal
strings: what the OpenTelemetry Collector's file exporter writes and Jaeger's UI uploads.
``from_readable`` takes a finished SDK span, ``to_otlp_json`` and ``from_otlp_json`` go to and
from the document, ``by_trace`` groups records by trace.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from refnova.tracing.attributes import SERVICE_NAME

LOG = logging.getLogger(__name__)

KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
STATUSES = ("UNSET", "OK", "ERROR")
# OTLP span flags: the W3C trace flags, and whether the parent's remoteness is known / true.
_FLAG_HAS_IS_REMOTE = 0x100
_FLAG_IS_REMOTE = 0x200


@dataclasses.dataclass
class SpanRecord:
    """One finished span, as a trace file holds it."""

    trace_id: str  # 32 hex digits
    span_id: str  # 16 hex digits
    parent_id: str | None
    name: str
    kind: str  # one of KINDS
    start_ns: int
    end_ns: int
    attributes: dict[str, Any] = dataclasses.field(default_factory=dict)
    status: str = "UNSET"  # one of STATUSES
    status_message: str = ""
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    """Each {"name", "time_ns", "attributes"}."""
    links: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    """Each {"trace_id", "span_id", "attributes"}."""
    resource: dict[str, Any] = dataclasses.field(default_factory=dict)
    scope: dict[str, str] = dataclasses.field(default_factory=dict)
    """{"name", "version", "schema_url"} of the instrumentation scope."""
    flags: int = 0
    trace_state: str = ""

    @property
    def service(self) -> str:
        return str(self.resource.get(SERVICE_NAME, ""))

    @property
    def duration_ns(self) -> int:
        return max(self.end_ns - self.start_ns, 0)

    @property
    def is_error(self) -> bool:
        return self.status == "ERROR"

    @property
    def parent_is_remote(self) -> bool:
        return bool(self.flags & _FLAG_IS_REMOTE)


# --- from the SDK ----------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def from_readable(span: ReadableSpan) -> SpanRecord:
    """A SpanRecord from an SDK ReadableSpan."""
    context = span.context
    parent = span.parent
    flags = int(context.trace_flags) | _FLAG_HAS_IS_REMOTE
    if parent is not None and parent.is_remote:
        flags |= _FLAG_IS_REMOTE
    scope = span.instrumentation_scope
    return SpanRecord(
        trace_id="%032x" % context.trace_id,
        span_id="%016x" % context.span_id,
        parent_id="%016x" % parent.span_id if parent is not None else None,
        name=span.name,
        kind=KINDS[span.kind.value + 1],
        start_ns=span.start_time or 0,
        end_ns=span.end_time or span.start_time or 0,
        attributes={key: _plain(value) for key, value in (span.attributes or {}).items()},
        status=STATUSES[span.status.status_code.value],
        status_message=span.status.description or "",
        events=[
            {
                "name": event.name,
                "time_ns": event.timestamp,
                "attributes": {k: _plain(v) for k, v in (event.attributes or {}).items()},
            }
            for event in span.events
        ],
        links=[
            {
                "trace_id": "%032x" % link.context.trace_id,
                "span_id": "%016x" % link.context.span_id,
                "attributes": {k: _plain(v) for k, v in (link.attributes or {}).items()},
            }
            for link in span.links
        ],
        resource={key: _plain(value) for key, value in span.resource.attributes.items()},
        scope=(
            {
                "name": scope.name,
                "version": scope.version or "",
                "schema_url": scope.schema_url or "",
            }
            if scope
            else {}
        ),
        flags=flags,
        trace_state=context.trace_state.to_header() if context.trace_state else "",
    )


# --- OTLP JSON ---------------------------------------------------------------------------


def _any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (bytes, bytearray)):
        return {"bytesValue": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [_any_value(item) for item in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": _key_values(value)}}
    return {"stringValue": str(value)}


def _key_values(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": _any_value(value)} for key, value in attributes.items()]


def _span_json(record: SpanRecord) -> dict[str, Any]:
    span: dict[str, Any] = {"traceId": record.trace_id, "spanId": record.span_id}
    if record.trace_state:
        span["traceState"] = record.trace_state
    if record.parent_id:
        span["parentSpanId"] = record.parent_id
    if record.flags:
        span["flags"] = record.flags
    span.update(
        {
            "name": record.name,
            "kind": KINDS.index(record.kind),
            "startTimeUnixNano": str(record.start_ns),
            "endTimeUnixNano": str(record.end_ns),
        }
    )
    if record.attributes:
        span["attributes"] = _key_values(record.attributes)
    if record.events:
        span["events"] = [
            {
                "timeUnixNano": str(event["time_ns"]),
                "name": event["name"],
                **(
                    {"attributes": _key_values(event["attributes"])}
                    if event.get("attributes")
                    else {}
                ),
            }
            for event in record.events
        ]
    if record.links:
        span["links"] = [
            {
                "traceId": link["trace_id"],
                "spanId": link["span_id"],
                **(
                    {"attributes": _key_values(link["attributes"])}
                    if link.get("attributes")
                    else {}
                ),
            }
            for link in record.links
        ]
    status: dict[str, Any] = {}
    if record.status_message:
        status["message"] = record.status_message
    if record.status != "UNSET":
        status["code"] = STATUSES.index(record.status)
    span["status"] = status
    return span


ScopeKey = tuple[str, str, str]  # name, version, schema URL


def to_otlp_json(records: Iterable[SpanRecord]) -> dict[str, Any]:
    """One OTLP JSON document (a dict) holding ``records``, grouped by resource and scope."""
    groups: dict[str, tuple[dict[str, Any], dict[ScopeKey, list[SpanRecord]]]] = {}
    for record in records:
        resource_key = json.dumps(record.resource, sort_keys=True, default=str)
        scope_key = (
            record.scope.get("name", ""),
            record.scope.get("version", ""),
            record.scope.get("schema_url", ""),
        )
        scopes = groups.setdefault(resource_key, (record.resource, {}))[1]
        scopes.setdefault(scope_key, []).append(record)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _key_values(resource)},
                "scopeSpans": [_scope_spans(key, members) for key, members in scopes.items()],
            }
            for resource, scopes in groups.values()
        ]
    }


def _scope_spans(key: ScopeKey, members: list[SpanRecord]) -> dict[str, Any]:
    name, version, schema_url = key
    scope = {"name": name, **({"version": version} if version else {})}
    scope_spans: dict[str, Any] = {"scope": scope, "spans": [_span_json(r) for r in members]}
    if schema_url:
        scope_spans["schemaUrl"] = schema_url
    return scope_spans


def _from_any_value(value: Any) -> Any:
    if not isinstance(value, dict) or not value:
        return None
    key, item = next(iter(value.items()))
    if key == "stringValue":
        return item
    if key == "boolValue":
        return bool(item)
    if key == "intValue":
        return int(item)
    if key == "doubleValue":
        return float(item)
    if key == "bytesValue":
        return base64.b64decode(item)
    if key == "arrayValue":
        return [_from_any_value(v) for v in (item or {}).get("values", [])]
    if key == "kvlistValue":
        return _from_key_values((item or {}).get("values", []))
    return None


def _from_key_values(items: Sequence[dict[str, Any]] | None) -> dict[str, Any]:
    return {item["key"]: _from_any_value(item.get("value")) for item in items or []}


def _hex_id(value: Any, length: int) -> str | None:
    """An id as hex: OTLP JSON uses hex; protobuf's generic JSON mapping uses base64."""
    if not value:
        return None
    value = str(value)
    if len(value) == length and all(c in "0123456789abcdefABCDEF" for c in value):
        return value.lower()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("bad span or trace id %r" % value) from error
    if len(raw) * 2 != length:
        raise ValueError("bad span or trace id %r" % value)
    return raw.hex()


def _enum(value: Any, names: Sequence[str], prefix: str) -> str:
    if isinstance(value, int):
        return names[value] if 0 <= value < len(names) else names[0]
    if isinstance(value, str):
        name = value.upper()
        name = name[len(prefix) :] if name.startswith(prefix) else name
        if name in names:
            return name
        if name.isdigit():
            return _enum(int(name), names, prefix)
    return names[0]


def from_otlp_json(document: Mapping[str, Any]) -> list[SpanRecord]:
    """The SpanRecords of one OTLP JSON document (a dict with ``resourceSpans``)."""
    records = []
    for resource_spans in document.get("resourceSpans", []) or []:
        resource = _from_key_values((resource_spans.get("resource") or {}).get("attributes"))
        for scope_spans in resource_spans.get("scopeSpans", []) or []:
            scope_json = scope_spans.get("scope") or {}
            scope = {
                "name": scope_json.get("name", ""),
                "version": scope_json.get("version", ""),
                "schema_url": scope_spans.get("schemaUrl", ""),
            }
            records += [
                _record(span, resource, scope) for span in scope_spans.get("spans", []) or []
            ]
    return records


def _record(span: Mapping[str, Any], resource: dict[str, Any], scope: dict[str, str]) -> SpanRecord:
    status = span.get("status") or {}
    return SpanRecord(
        trace_id=_hex_id(span["traceId"], 32) or "",
        span_id=_hex_id(span["spanId"], 16) or "",
        parent_id=_hex_id(span.get("parentSpanId"), 16),
        name=span.get("name", ""),
        kind=_enum(span.get("kind", 0), KINDS, "SPAN_KIND_"),
        start_ns=int(span.get("startTimeUnixNano", 0)),
        end_ns=int(span.get("endTimeUnixNano", 0)),
        attributes=_from_key_values(span.get("attributes")),
        status=_enum(status.get("code", 0), STATUSES, "STATUS_CODE_"),
        status_message=status.get("message", ""),
        events=[
            {
                "name": event.get("name", ""),
                "time_ns": int(event.get("timeUnixNano", 0)),
                "attributes": _from_key_values(event.get("attributes")),
            }
            for event in span.get("events", []) or []
        ],
        links=[
            {
                "trace_id": _hex_id(link["traceId"], 32),
                "span_id": _hex_id(link["spanId"], 16),
                "attributes": _from_key_values(link.get("attributes")),
            }
            for link in span.get("links", []) or []
        ],
        resource=resource,
        scope=scope,
        flags=int(span.get("flags", 0) or 0),
        trace_state=span.get("traceState", ""),
    )


def by_trace(records: Iterable[SpanRecord]) -> dict[str, list[SpanRecord]]:
    """{trace id: spans sorted by start}, traces in order of their first span."""
    traces: dict[str, list[SpanRecord]] = {}
    for record in sorted(records, key=lambda r: (r.start_ns, r.end_ns)):
        traces.setdefault(record.trace_id, []).append(record)
    return traces
