"""Trace files: reading OTLP JSON, a JSON-lines exporter, and one file per finished trace.

The on-disk format is OTLP's JSON encoding (``refnova.tracing.otlp_json``). ``load_spans``
reads a single document, an array of documents, or JSON lines of them, into flat
``SpanRecord`` values that the views in ``refnova.tracing.views`` render.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

# Trace files are OTLP JSON: its records and codecs are this module's vocabulary too.
from refnova.tracing.otlp_json import (  # noqa: F401  (re-exported)
    KINDS,
    STATUSES,
    SpanRecord,
    by_trace,
    from_otlp_json,
    from_readable,
    to_otlp_json,
)

LOG = logging.getLogger(__name__)


def load_documents(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
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


def load_spans(path: str | os.PathLike[str]) -> list[SpanRecord]:
    """Every span of an OTLP JSON (or JSON lines) file, duplicates removed."""
    records: dict[tuple[str, str], SpanRecord] = {}
    for document in load_documents(path):
        for record in from_otlp_json(document):
            records[(record.trace_id, record.span_id)] = record
    return list(records.values())


# --- writers -----------------------------------------------------------------------------


class JsonLinesSpanExporter(SpanExporter):
    """Appends each batch as one line of OTLP JSON (the Collector file exporter's format)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        if self.path.parent:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        line = json.dumps(
            to_otlp_json([from_readable(span) for span in spans]), separators=(",", ":")
        )
        try:
            with self._lock, open(self.path, "a", encoding="utf-8") as stream:
                stream.write(line + "\n")
        except OSError as error:
            LOG.error("cannot write traces to %s: %s", self.path, error)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def trace_file_path(directory: str | os.PathLike[str], trace_id: str) -> Path:
    return Path(directory) / ("%s.json" % trace_id)


@contextlib.contextmanager
def _directory_lock(directory: str | os.PathLike[str]) -> Iterator[None]:
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


def write_trace(
    directory: str | os.PathLike[str], trace_id: str, records: Iterable[SpanRecord]
) -> Path:
    """Merge ``records`` into ``<directory>/<trace id>.json`` (atomically replaced)."""
    path = trace_file_path(directory, trace_id)
    with _directory_lock(directory):
        merged: dict[str, SpanRecord] = {}
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

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._open: dict[int, int] = {}  # trace id: spans not ended
        self._pending: dict[int, list[ReadableSpan]] = {}  # trace id: spans ended
        self._queue: queue.Queue[tuple[int, list[ReadableSpan]] | None] = queue.Queue()
        self._idle = threading.Condition()
        self._outstanding = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="refnova-trace-files", daemon=True)
        self._thread.start()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if not span.context.trace_flags.sampled:
            return
        with self._lock:
            trace_id = span.context.trace_id
            self._open[trace_id] = self._open.get(trace_id, 0) + 1

    def on_end(self, span: ReadableSpan) -> None:
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

    def _submit(self, trace_id: int, spans: list[ReadableSpan]) -> None:
        with self._idle:
            self._outstanding += 1
        self._queue.put((trace_id, spans))

    def _run(self) -> None:
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

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._outstanding == 0, timeout_millis / 1000.0)

    def shutdown(self) -> None:
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
