"""Trace context across processes: W3C trace context and baggage in and out of headers.

The propagators are OpenTelemetry's global ones (``OTEL_PROPAGATORS``; by default W3C trace
context and baggage). Nothing secret goes into a trace context: baggage entries whose key
looks like a credential are dropped before any injection.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from contextvars import Token
from typing import Any

from opentelemetry import baggage as otel_baggage
from opentelemetry import context as otel_context
from opentelemetry import propagate
from opentelemetry.context import Context
from opentelemetry.trace import Span

from refnova.tracing import spans

# Baggage keys that may hold credentials never leave the process.
_SECRET_KEY = re.compile(
    r"token|passw|secret|credential|auth|api[-_.]?key|cookie|session", re.IGNORECASE
)


def inject_headers(ctx: Context | None = None) -> dict[str, str]:
    """W3C trace context (and baggage) for a message's or a request's headers.

    Baggage entries whose key looks like a credential are left out.
    """
    ctx = ctx if ctx is not None else otel_context.get_current()
    entries = otel_baggage.get_all(ctx)
    for key in [key for key in entries if _SECRET_KEY.search(key)]:
        ctx = otel_baggage.remove_baggage(key, ctx)
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=ctx)
    return carrier


def extract_context(headers: Mapping[str, Any] | None) -> Context:
    """The remote context the headers carry (an empty one when they carry none)."""
    return propagate.extract(headers or {})


@contextlib.contextmanager
def start_remote_span(name: str, parent: Context | None, **kwargs: Any) -> Iterator[Span]:
    """A current span whose parent comes from an extracted remote context, whose baggage
    stays current for what runs inside it (``start_as_current_span(context=...)`` alone
    would drop it)."""
    token = otel_context.attach(parent) if parent else None
    try:
        with spans.redacted_span(name, context=parent, **kwargs) as span:
            yield span
    finally:
        if token is not None:
            otel_context.detach(token)


def attach(ctx: Context) -> Token[Context]:
    """Make ``ctx`` current; the token returned is what ``detach`` takes."""
    return otel_context.attach(ctx)


def detach(token: Token[Context]) -> None:
    otel_context.detach(token)
