"""Tracing: the one tracer provider of a process, and the helpers every hop uses.

Until ``configure`` installs a provider, every span is OpenTelemetry's no-op span, so an
untraced process pays only the API's no-op cost.
"""
import functools

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

_tracer = trace.get_tracer("refnova")


def tracer():
    return _tracer


def traced(span_name, kind=SpanKind.INTERNAL):
    """Run the function inside a span named after the Nova function it stands for."""

    def decorate(function):
        attributes = {"code.function.name": "refnova.%s" % span_name}

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with _tracer.start_as_current_span(span_name, kind=kind, attributes=attributes):
                return function(*args, **kwargs)
        return wrapper
    return decorate


def mark_error(span, error, **attributes):
    """Error status, the exception, and ``error.type`` on a span that saw a rejection."""
    if not span.is_recording():
        return
    span.set_status(Status(StatusCode.ERROR, str(error)))
    span.record_exception(error)
    span.set_attribute("error.type", type(error).__name__)
    for key, value in attributes.items():
        span.set_attribute(key, value)


def inject_headers():
    """W3C trace context (and baggage) for a message's headers."""
    carrier = {}
    propagate.inject(carrier)
    return carrier


def extract_context(headers):
    return propagate.extract(headers or {})


def attach(ctx):
    return otel_context.attach(ctx)


def detach(token):
    otel_context.detach(token)


def current_span():
    return trace.get_current_span()
