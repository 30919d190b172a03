"""Span helpers every hop uses: ``traced``, ``span``, and the marks and attributes they set.

Until a provider is installed every span is OpenTelemetry's no-op span, so an untraced
process pays only the API's no-op cost: ``traced`` adds nothing to it, and attribute helpers
return after one ``is_recording``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from contextvars import Token
from types import TracebackType
from typing import Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, StatusCode
from opentelemetry.util.types import AttributeValue

from refnova.tracing.attributes import CODE_FUNCTION_NAME, ERROR_TYPE, SCHEMA_URL
from refnova.tracing.provider import enabled, refnova_version
from refnova.tracing.redaction import error_status, record_exception, redact

INSTRUMENTATION_NAME = "refnova"
# Set on an exception once a span recorded it as it escaped.
_RECORDED = "_refnova_recorded"
F = TypeVar("F", bound=Callable[..., Any])

# A ProxyTracer: it follows whichever provider gets installed, before or after this import.
# Benchmarks swap it for one pinned to the no-op tracer to time an untraced create.
_tracer = trace.get_tracer(INSTRUMENTATION_NAME, refnova_version(), schema_url=SCHEMA_URL)


def tracer() -> trace.Tracer:
    """refnova's tracer (instrumentation name, version and schema URL)."""
    return _tracer


def traced(span_name: str, kind: SpanKind = SpanKind.INTERNAL) -> Callable[[F], F]:
    """Run the function inside a span named after the Nova function it stands for.

    An exception that leaves the function marks the span: error status, the exception
    recorded as an event, and ``error.type``. ``code.function.name`` is the function's own
    fully qualified name (``refnova.api.openstack.compute.servers.Controller.create``).
    """

    def decorate(function: F) -> F:
        attributes = {CODE_FUNCTION_NAME: qualified_name(function)}
        return in_span(function, span_name, kind, attributes)

    return decorate


def qualified_name(function: Callable[..., Any]) -> str:
    """``module.Class.function``, as ``code.function.name`` wants it."""
    return "%s.%s" % (function.__module__, function.__qualname__)


def in_span(
    function: F, span_name: str, kind: SpanKind, attributes: Mapping[str, AttributeValue]
) -> F:
    """``function`` wrapped to run inside its span (and straight through when tracing is off)."""

    options = {"kind": kind, "attributes": attributes}

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not enabled():
            return function(*args, **kwargs)
        with CurrentSpan(_tracer, span_name, options, error_type_too=True):
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]  # functools.wraps keeps the signature


def span(name: str, **kwargs: Any) -> AbstractContextManager[Span]:
    """``tracer().start_as_current_span(...)``, or (tracing off) a context that yields the
    no-op span without creating anything: the untraced path pays one check."""
    if not enabled():
        return contextlib.nullcontext(trace.INVALID_SPAN)
    return redacted_span(name, **kwargs)


def redacted_span(
    name: str,
    record_exception: bool = True,
    set_status_on_exception: bool = True,
    tracer: trace.Tracer | None = None,
    **kwargs: Any,
) -> AbstractContextManager[Span]:
    """``start_as_current_span``, whose escaping exception is recorded as the SDK would,
    but with its message, stack trace and status description redacted."""
    return CurrentSpan(tracer or _tracer, name, kwargs, record_exception, set_status_on_exception)


class CurrentSpan:
    """What ``start_as_current_span`` does, without its two generator-based context managers
    (every hop pays for them): the span starts on entry and is current inside; an escaping
    exception is recorded redacted (and, with ``error_type_too``, an ``Exception`` gives
    ``error.type``); the span ends on exit."""

    __slots__ = (
        "_tracer",
        "_name",
        "_options",
        "_record",
        "_set_status",
        "_typed",
        "_span",
        "_token",
    )
    _span: Span
    _token: Token[otel_context.Context]

    def __init__(
        self,
        tracer: trace.Tracer,
        name: str,
        options: Mapping[str, Any],
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        error_type_too: bool = False,
    ) -> None:
        self._tracer, self._name, self._options = tracer, name, options
        self._record, self._set_status, self._typed = (
            record_exception,
            set_status_on_exception,
            error_type_too,
        )

    def __enter__(self) -> Span:
        span = self._span = self._tracer.start_span(self._name, **self._options)
        self._token = otel_context.attach(trace.set_span_in_context(span))
        return span

    def __exit__(
        self,
        error_class: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        span = self._span
        try:
            if error is not None and span.is_recording():
                _record_escaping(span, error, self._record, self._set_status)
                if self._typed and isinstance(error, Exception):
                    span.set_attribute(ERROR_TYPE, error_type(error))
        finally:
            otel_context.detach(self._token)
            span.end()


def _record_escaping(span: Span, error: BaseException, record: bool, set_status: bool) -> None:
    if record:
        cause = error.__context__
        if cause is not None and _raised_here_for(error, cause):
            record_exception(span, cause)  # the error arose in this span: record it first
        record_exception(span, error)
        with contextlib.suppress(AttributeError, TypeError):  # an exception without __dict__
            setattr(error, _RECORDED, True)  # spans above it leave its cause to this one
    if set_status:
        span.set_status(error_status("%s: %s" % (type(error).__name__, error)))


def _raised_here_for(error: BaseException, cause: BaseException) -> bool:
    """Whether ``error`` answers ``cause`` (its ``error.type`` names it) and ``cause`` left no
    span of its own (FlavorNotFound met by the controller itself, not by the compute API)."""
    return (
        not getattr(cause, _RECORDED, False)
        and getattr(error, "error_type", None) == type(cause).__name__
    )


def error_type(error: BaseException) -> str:
    """``error.type`` of an exception: the low-cardinality class of the error where it arose.

    An exception may name it (``error_type``: the API's HTTP error names the Nova exception
    it was raised for); otherwise it is the exception's class name.
    """
    named = getattr(error, "error_type", None)
    return named if isinstance(named, str) and named else type(error).__name__


def note_error_type(span: Span, error: BaseException) -> None:
    """``error.type`` (its status and event come from ``redacted_span``)."""
    if span.is_recording():
        span.set_attribute(ERROR_TYPE, error_type(error))


def mark_error(span: Span, error: BaseException, **attributes: AttributeValue) -> None:
    """Error status, the exception, and ``error.type`` on a span that saw a rejection."""
    if not span.is_recording():
        return
    span.set_status(error_status(str(error)))
    record_exception(span, error)
    span.set_attribute(ERROR_TYPE, error_type(error))
    for key, value in attributes.items():
        span.set_attribute(key, value)


def mark_status(span: Span, status_line: str) -> None:
    """Error status and ``error.type`` (the status code, as OpenTelemetry's HTTP conventions
    have it when no exception names the error) on a span whose request failed without an
    exception. A span already marked with the exception (``mark_error``) keeps what it has."""
    if not span.is_recording() or is_error(span):
        return
    span.set_status(error_status(status_line))
    span.set_attribute(ERROR_TYPE, status_line.split(" ", 1)[0])


def is_error(span: Span) -> bool:
    status = getattr(span, "status", None)  # SDK spans only: the API's Span has no getter
    return status is not None and status.status_code is StatusCode.ERROR


def annotate(attributes: Mapping[str, AttributeValue | None], span: Span | None = None) -> None:
    """Set attributes (None values skipped) on ``span`` or the current span, if it records;
    text values are redacted (a noauth2 token is also its project id)."""
    span = span or trace.get_current_span()
    if span.is_recording():
        span.set_attributes(
            {
                key: redact(value) if isinstance(value, str) else value
                for key, value in attributes.items()
                if value is not None
            }
        )


def recording() -> bool:
    """Whether the current span records (compute costly attributes only then)."""
    return trace.get_current_span().is_recording()


def current_span() -> Span:
    """The current span; untraced, the no-op span without a look at the context."""
    return trace.get_current_span() if enabled() else trace.INVALID_SPAN
