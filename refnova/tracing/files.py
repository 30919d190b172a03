"""Trace files: OTLP JSON in and out, a JSON-lines exporter, and one file per finished trace.

The on-disk format is OTLP's JSON encoding (``{"resourceSpans": [...]}``; ids as hex, enums
as integers, 64-bit integers as decimal strings), which the OpenTelemetry Collector's file
exporter writes and Jaeger's UI uploads. ``load_spans`` reads a single document, an array
of documents, or JSON lines of them, into flat ``SpanRecord`` values that the views in
``refnova.tracing.views`` render.
"""
from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import json
import logging
import os
import queue
import tempfile
import threading
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None

from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

LOG = logging.getLogger(__name__)

KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
STATUSES = ("UNSET", "OK", "ERROR")
# OTLP span flags: the W3C trace flags, and whether the parent's remoteness is known / true.
_FLAG_HAS_IS_REMOTE = 0x100
_FLAG_IS_REMOTE = 0x200


@dataclasses.dataclass
class SpanRecord:
    """One finished span, as a trace file holds it."""
    trace_id: str                      # 32 hex digits
    span_id: str                       # 16 hex digits
    parent_id: str | None
    name: str
    kind: str                          # one of KINDS
    start_ns: int
    end_ns: int
    attributes: dict = dataclasses.field(default_factory=dict)
    status: str = "UNSET"              # one of STATUSES
    status_message: str = ""
    events: list = dataclasses.field(default_factory=list)   # {"name", "time_ns", "attributes"}
    links: list = dataclasses.field(default_factory=list)    # {"trace_id", "span_id", "attributes"}
    resource: dict = dataclasses.field(default_factory=dict)
    scope: dict = dataclasses.field(default_factory=dict)    # {"name", "version"}
    flags: int = 0
    trace_state: str = ""

    @property
    def service(self):
        return self.resource.get("service.name", "")

    @property
    def duration_ns(self):
        return max(self.end_ns - self.start_ns, 0)

    @property
    def is_error(self):
        return self.status == "ERROR"

    @property
    def parent_is_remote(self):
        return bool(self.flags & _FLAG_IS_REMOTE)


# --- from the SDK ----------------------------------------------------------------------

def _plain(value):
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def from_readable(span):
    """A SpanRecord from an SDK ReadableSpan."""
    context = span.context
    parent = span.parent
    flags = int(context.trace_flags) | _FLAG_HAS_IS_REMOTE
    if parent is not None and parent.is_remote:
        flags |= _FLAG_IS_REMOTE
    scope = span.instrumentation_scope
    return SpanRecord(
        trace_id="%032x" % context.trace_id, span_id="%016x" % context.span_id,
        parent_id="%016x" % parent.span_id if parent is not None else None,
        name=span.name, kind=KINDS[span.kind.value + 1],
        start_ns=span.start_time or 0, end_ns=span.end_time or span.start_time or 0,
        attributes={key: _plain(value) for key, value in (span.attributes or {}).items()},
        status=STATUSES[span.status.status_code.value],
        status_message=span.status.description or "",
        events=[{"name": event.name, "time_ns": event.timestamp,
                 "attributes": {k: _plain(v) for k, v in (event.attributes or {}).items()}}
                for event in span.events],
        links=[{"trace_id": "%032x" % link.context.trace_id,
                "span_id": "%016x" % link.context.span_id,
                "attributes": {k: _plain(v) for k, v in (link.attributes or {}).items()}}
               for link in span.links],
        resource={key: _plain(value) for key, value in span.resource.attributes.items()},
        scope={"name": scope.name, "version": scope.version or ""} if scope else {},
        flags=flags,
        trace_state=context.trace_state.to_header() if context.trace_state else "",
    )


# --- OTLP JSON ---------------------------------------------------------------------------

def _any_value(value):
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


def _key_values(attributes):
    return [{"key": key, "value": _any_value(value)} for key, value in attributes.items()]


def _span_json(record):
    span = {"traceId": record.trace_id, "spanId": record.span_id}
    if record.trace_state:
        span["traceState"] = record.trace_state
    if record.parent_id:
        span["parentSpanId"] = record.parent_id
    if record.flags:
        span["flags"] = record.flags
    span.update({"name": record.name, "kind": KINDS.index(record.kind),
                 "startTimeUnixNano": str(record.start_ns), "endTimeUnixNano": str(record.end_ns)})
    if record.attributes:
        span["attributes"] = _key_values(record.attributes)
    if record.events:
        span["events"] = [{"timeUnixNano": str(event["time_ns"]), "name": event["name"],
                           **({"attributes": _key_values(event["attributes"])}
                              if event.get("attributes") else {})}
                          for event in record.events]
    if record.links:
        span["links"] = [{"traceId": link["trace_id"], "spanId": link["span_id"],
                          **({"attributes": _key_values(link["attributes"])}
                             if link.get("attributes") else {})}
                         for link in record.links]
    status = {}
    if record.status_message:
        status["message"] = record.status_message
    if record.status != "UNSET":
        status["code"] = STATUSES.index(record.status)
    span["status"] = status
    return span


def to_otlp_json(records):
    """One OTLP JSON document (a dict) holding ``records``, grouped by resource and scope."""
    groups = {}
    for record in records:
        resource_key = json.dumps(record.resource, sort_keys=True, default=str)
        scope_key = (record.scope.get("name", ""), record.scope.get("version", ""))
        groups.setdefault(resource_key, (record.resource, {}))[1].setdefault(scope_key, []).append(record)
    resource_spans = []
    for resource, scopes in groups.values():
        scope_spans = []
        for (name, version), members in scopes.items():
            scope = {"name": name}
            if version:
                scope["version"] = version
            scope_spans.append({"scope": scope, "spans": [_span_json(r) for r in members]})
        resource_spans.append({"resource": {"attributes": _key_values(resource)},
                               "scopeSpans": scope_spans})
    return {"resourceSpans": resource_spans}


def _from_any_value(value):
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


def _from_key_values(items):
    return {item["key"]: _from_any_value(item.get("value")) for item in items or []}


def _hex_id(value, length):
    """An id as hex: OTLP JSON uses hex; protobuf's generic JSON mapping uses base64."""
    if not value:
        return None
    value = str(value)
    if len(value) == length and all(c in "0123456789abcdefABCDEF" for c in value):
        return value.lower()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("bad span or trace id %r" % value)
    if len(raw) * 2 != length:
        raise ValueError("bad span or trace id %r" % value)
    return raw.hex()


def _enum(value, names, prefix):
    if isinstance(value, int):
        return names[value] if 0 <= value < len(names) else names[0]
    if isinstance(value, str):
        name = value.upper()
        name = name[len(prefix):] if name.startswith(prefix) else name
        if name in names:
            return name
        if name.isdigit():
            return _enum(int(name), names, prefix)
    return names[0]


def from_otlp_json(document):
    """The SpanRecords of one OTLP JSON document (a dict with ``resourceSpans``)."""
    records = []
    for resource_spans in document.get("resourceSpans", []) or []:
        resource = _from_key_values((resource_spans.get("resource") or {}).get("attributes"))
        for scope_spans in resource_spans.get("scopeSpans", []) or []:
            scope_json = scope_spans.get("scope") or {}
            scope = {"name": scope_json.get("name", ""), "version": scope_json.get("version", "")}
            for span in scope_spans.get("spans", []) or []:
                status = span.get("status") or {}
                records.append(SpanRecord(
                    trace_id=_hex_id(span["traceId"], 32), span_id=_hex_id(span["spanId"], 16),
                    parent_id=_hex_id(span.get("parentSpanId"), 16),
                    name=span.get("name", ""), kind=_enum(span.get("kind", 0), KINDS, "SPAN_KIND_"),
                    start_ns=int(span.get("startTimeUnixNano", 0)),
                    end_ns=int(span.get("endTimeUnixNano", 0)),
                    attributes=_from_key_values(span.get("attributes")),
                    status=_enum(status.get("code", 0), STATUSES, "STATUS_CODE_"),
                    status_message=status.get("message", ""),
                    events=[{"name": e.get("name", ""), "time_ns": int(e.get("timeUnixNano", 0)),
                             "attributes": _from_key_values(e.get("attributes"))}
                            for e in span.get("events", []) or []],
                    links=[{"trace_id": _hex_id(l["traceId"], 32), "span_id": _hex_id(l["spanId"], 16),
                            "attributes": _from_key_values(l.get("attributes"))}
                           for l in span.get("links", []) or []],
                    resource=resource, scope=scope, flags=int(span.get("flags", 0) or 0),
                    trace_state=span.get("traceState", "")))
    return records


def load_documents(path):
    """The OTLP JSON documents of a file: one object, an array of them, or JSON lines."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError:
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    documents = data if isinstance(data, list) else [data]
    for document in documents:
        if not isinstance(document, dict) or "resourceSpans" not in document:
            raise ValueError("%s: not OTLP JSON (no resourceSpans)" % path)
    return documents


def load_spans(path):
    """Every span of an OTLP JSON (or JSON lines) file, duplicates removed."""
    records = {}
    for document in load_documents(path):
        for record in from_otlp_json(document):
            records[(record.trace_id, record.span_id)] = record
    return list(records.values())


def by_trace(records):
    """{trace id: spans sorted by start}, traces in order of their first span."""
    traces = {}
    for record in sorted(records, key=lambda r: (r.start_ns, r.end_ns)):
        traces.setdefault(record.trace_id, []).append(record)
    return traces


# --- writers -----------------------------------------------------------------------------

class JsonLinesSpanExporter(SpanExporter):
    """Appends each batch as one line of OTLP JSON (the Collector file exporter's format)."""

    def __init__(self, path):
        self.path = Path(path)
        self._lock = threading.Lock()
        if self.path.parent:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def export(self, spans):
        line = json.dumps(to_otlp_json([from_readable(span) for span in spans]),
                          separators=(",", ":"))
        try:
            with self._lock, open(self.path, "a", encoding="utf-8") as stream:
                stream.write(line + "\n")
        except OSError as error:
            LOG.error("cannot write traces to %s: %s", self.path, error)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self):
        pass

    def force_flush(self, timeout_millis=30000):
        return True


def trace_file_path(directory, trace_id):
    return Path(directory) / ("%s.json" % trace_id)


@contextlib.contextmanager
def _directory_lock(directory):
    """Serialises the read-merge-write of trace files among processes sharing a directory."""
    if fcntl is None:
        yield
        return
    with open(Path(directory) / ".refnova-traces.lock", "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def write_trace(directory, trace_id, records):
    """Merge ``records`` into ``<directory>/<trace id>.json`` (atomically replaced)."""
    path = trace_file_path(directory, trace_id)
    with _directory_lock(directory):
        merged = {}
        if path.exists():
            try:
                for record in load_spans(path):
                    merged[record.span_id] = record
            except (OSError, ValueError) as error:
                LOG.warning("replacing unreadable trace file %s: %s", path, error)
        for record in records:
            merged[record.span_id] = record
        ordered = sorted(merged.values(), key=lambda r: (r.start_ns, r.end_ns))
        handle, temporary = tempfile.mkstemp(prefix=".%s." % trace_id, suffix=".tmp", dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(to_otlp_json(ordered), stream, indent=1)
                stream.write("\n")
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    return path


class TraceDirectoryWriter(SpanProcessor):
    """Writes each finished trace as ``<trace id>.json`` (OTLP JSON) in a directory.

    A trace is finished, in this process, when every span of it that started here has
    ended. Spans that arrive later (the conductor's side of a cast, or another process
    writing to the same directory) are merged into the same file. Files are written by a
    background thread, never on the request's own.
    """

    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._open = {}
        self._pending = {}
        self._queue = queue.Queue()
        self._idle = threading.Condition()
        self._outstanding = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="refnova-trace-files", daemon=True)
        self._thread.start()

    def on_start(self, span, parent_context=None):
        if not span.context.trace_flags.sampled:
            return
        with self._lock:
            trace_id = span.context.trace_id
            self._open[trace_id] = self._open.get(trace_id, 0) + 1

    def on_end(self, span):
        if not span.context.trace_flags.sampled or self._stopped:
            return
        trace_id = span.context.trace_id
        with self._lock:
            self._pending.setdefault(trace_id, []).append(span)
            remaining = self._open.get(trace_id, 1) - 1
            if remaining > 0:
                self._open[trace_id] = remaining
                return
            self._open.pop(trace_id, None)
            spans = self._pending.pop(trace_id)
        self._submit(trace_id, spans)

    def _submit(self, trace_id, spans):
        with self._idle:
            self._outstanding += 1
        self._queue.put((trace_id, spans))

    def _run(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            trace_id, spans = item
            try:
                write_trace(self.directory, "%032x" % trace_id, [from_readable(s) for s in spans])
            except Exception:  # a trace file must never take the service down
                LOG.exception("cannot write trace %032x to %s", trace_id, self.directory)
            finally:
                with self._idle:
                    self._outstanding -= 1
                    self._idle.notify_all()

    def force_flush(self, timeout_millis=30000):
        with self._idle:
            return self._idle.wait_for(lambda: self._outstanding == 0, timeout_millis / 1000.0)

    def shutdown(self):
        if self._stopped:
            return
        # Whatever ended of traces still open (a request cut short) is written too.
        with self._lock:
            pending, self._pending, self._open = self._pending, {}, {}
        for trace_id, spans in pending.items():
            self._submit(trace_id, spans)
        self.force_flush()
        self._stopped = True
        self._queue.put(None)
        self._thread.join(5.0)
