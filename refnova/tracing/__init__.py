"""Tracing: the one tracer provider of a process, and the helpers every hop uses.

Until ``configure`` installs a provider, every span is OpenTelemetry's no-op span, so an
untraced process pays only the API's no-op cost: ``traced`` adds nothing to it, database
statements are not hooked at all, and attribute helpers return after one ``is_recording``.

What a process exports is chosen by its settings (``refnova.config.Settings``):

``tracing``
    A comma-separated list of ``otlp``, ``console``, ``file`` (OTLP JSON lines appended to
    ``trace_file``) or ``none``. Unset, it follows the standard variables: the value of
    ``OTEL_TRACES_EXPORTER`` if set, else ``otlp`` when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set, else nothing. ``OTEL_SDK_DISABLED=true``
    turns everything off.
``traces_dir``
    Also write each finished trace as one OTLP JSON file (``<trace id>.json``) in this
    directory (see ``refnova.tracing.files.TraceDirectoryWriter``).

The OTLP exporter takes the standard ``OTEL_EXPORTER_OTLP_*`` variables (endpoint, headers,
timeout, compression, certificates); ``OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL`` picks
``http/protobuf`` (the default) or ``grpc``. The sampler comes from ``OTEL_TRACES_SAMPLER``
and ``OTEL_TRACES_SAMPLER_ARG`` (default: parent-based always-on), the batch processors from
``OTEL_BSP_*``, the propagators from ``OTEL_PROPAGATORS`` (default: W3C trace context and
baggage). ``service.name`` is ``refnova-api`` or ``refnova-conductor`` unless
``OTEL_SERVICE_NAME`` (or ``service.name`` in ``OTEL_RESOURCE_ATTRIBUTES``) names it.

Nothing secret goes into a trace context: baggage entries whose key looks like a credential
are dropped before any injection, and no helper here records a request context's token.
"""
import contextlib
import functools
import logging
import os
import re
import sys
import threading

from opentelemetry import baggage as otel_baggage
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

LOG = logging.getLogger(__name__)

SERVICE_API = "refnova-api"
SERVICE_CONDUCTOR = "refnova-conductor"
EXPORTERS = ("otlp", "console", "file", "none")
OTLP_PROTOCOLS = ("http/protobuf", "grpc")

_tracer = trace.get_tracer("refnova")
_lock = threading.Lock()
_configured = None          # the provider ``configure`` installed in this process

# Baggage keys that may hold credentials never leave the process.
_SECRET_KEY = re.compile(r"token|passw|secret|credential|auth|api[-_.]?key|cookie|session",
                         re.IGNORECASE)


class TracingConfigError(ValueError):
    """Settings or OTEL_* variables that name something refnova cannot export to."""


def tracer():
    return _tracer


# --- spans ---------------------------------------------------------------------------

def traced(span_name, kind=SpanKind.INTERNAL):
    """Run the function inside a span named after the Nova function it stands for.

    An exception that leaves the function marks the span: error status, the exception
    recorded as an event, and ``error.type``.
    """

    def decorate(function):
        return _in_span(function, span_name, kind, {"code.function.name": "refnova.%s" % span_name})
    return decorate


def _in_span(function, span_name, kind, attributes):
    """``function`` wrapped to run inside its span (and straight through when tracing is off)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if not enabled():
            return function(*args, **kwargs)
        with _tracer.start_as_current_span(span_name, kind=kind, attributes=attributes) as span:
            try:
                return function(*args, **kwargs)
            except Exception as error:
                _note_error_type(span, error)
                raise
    return wrapper


def span(name, **kwargs):
    """``tracer().start_as_current_span(...)``, or (tracing off) a context that yields the
    no-op span without creating anything: the untraced path pays one check."""
    if not enabled():
        return contextlib.nullcontext(trace.INVALID_SPAN)
    return _tracer.start_as_current_span(name, **kwargs)


def client_call(peer_service, method, url_template, in_process=False):
    """Decorator: a CLIENT span ``"{method} {url_template}"`` for a call to an outside service.

    ``in_process`` marks the stand-ins that answer from the world without any HTTP.
    The HTTP clients add what only they know with ``record_http``.
    """
    span_name = "%s %s" % (method, url_template)

    def decorate(function):
        attributes = {"peer.service": peer_service, "http.request.method": method,
                      "url.template": url_template,
                      "code.function.name": "%s.%s" % (function.__module__, function.__qualname__)}
        if in_process:
            attributes["refnova.in_process"] = True
        return _in_span(function, span_name, SpanKind.CLIENT, attributes)
    return decorate


def record_http(url, status_code=None, span=None):
    """URL, server and status of the HTTP request a CLIENT span stands for (4xx/5xx: error)."""
    span = span or trace.get_current_span()
    if not span.is_recording():
        return
    from urllib.parse import urlsplit, urlunsplit
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = "%s:%d" % (netloc, parts.port)
    # No userinfo, ever: it would be a credential.
    span.set_attribute("url.full", urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")))
    if parts.hostname:
        span.set_attribute("server.address", parts.hostname)
        span.set_attribute("server.port", parts.port or (443 if parts.scheme == "https" else 80))
    if status_code is not None:
        span.set_attribute("http.response.status_code", int(status_code))
        if int(status_code) >= 400:
            span.set_attribute("error.type", str(int(status_code)))
            span.set_status(Status(StatusCode.ERROR, "HTTP %d" % int(status_code)))


def _note_error_type(span, error):
    if span.is_recording():
        span.set_attribute("error.type", type(error).__name__)


def mark_error(span, error, **attributes):
    """Error status, the exception, and ``error.type`` on a span that saw a rejection."""
    if not span.is_recording():
        return
    span.set_status(Status(StatusCode.ERROR, str(error)))
    span.record_exception(error)
    span.set_attribute("error.type", type(error).__name__)
    for key, value in attributes.items():
        span.set_attribute(key, value)


def mark_rejected(span, status_line, **attributes):
    """Error status on a span whose request was refused without an exception (``error.type``
    is then the HTTP status code, as OpenTelemetry's HTTP conventions have it). A span
    already marked with the exception (``mark_error``) keeps what it has."""
    if not span.is_recording() or getattr(span, "status", None) is not None and \
            span.status.status_code is StatusCode.ERROR:
        return
    span.set_status(Status(StatusCode.ERROR, status_line))
    span.set_attribute("error.type", status_line.split(" ", 1)[0])
    for key, value in attributes.items():
        span.set_attribute(key, value)


def annotate(attributes, span=None):
    """Set attributes (None values skipped) on ``span`` or the current span, if it records."""
    span = span or trace.get_current_span()
    if span.is_recording():
        span.set_attributes({key: value for key, value in attributes.items() if value is not None})


def recording():
    """Whether the current span records (compute costly attributes only then)."""
    return trace.get_current_span().is_recording()


def current_span():
    return trace.get_current_span()


# --- propagation ---------------------------------------------------------------------

def inject_headers(ctx=None):
    """W3C trace context (and baggage) for a message's or a request's headers.

    Baggage entries whose key looks like a credential are left out.
    """
    ctx = ctx if ctx is not None else otel_context.get_current()
    entries = otel_baggage.get_all(ctx)
    for key in [key for key in entries if _SECRET_KEY.search(key)]:
        ctx = otel_baggage.remove_baggage(key, ctx)
    carrier = {}
    propagate.inject(carrier, context=ctx)
    return carrier


def extract_context(headers):
    return propagate.extract(headers or {})


@contextlib.contextmanager
def start_remote_span(name, parent, **kwargs):
    """A current span whose parent comes from an extracted remote context, whose baggage
    stays current for what runs inside it (``start_as_current_span(context=...)`` alone
    would drop it)."""
    token = otel_context.attach(parent) if parent else None
    try:
        with _tracer.start_as_current_span(name, context=parent, **kwargs) as span:
            yield span
    finally:
        if token is not None:
            otel_context.detach(token)


def attach(ctx):
    return otel_context.attach(ctx)


def detach(token):
    otel_context.detach(token)


# --- database ------------------------------------------------------------------------

_DB_SYSTEMS = {"sqlite": "sqlite", "postgresql": "postgresql", "mysql": "mysql",
               "mariadb": "mariadb", "mssql": "microsoft.sql_server", "oracle": "oracle.db"}
# Transaction control and SQLite pragmas: driver plumbing, not the path's statements.
_UNTRACED_SQL = frozenset(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA", "SET",
                           "SHOW"))
_SQL_TARGET = re.compile(
    r"^\s*(?:(?:SELECT|DELETE)\b.*?\bFROM\s+|INSERT\s+(?:OR\s+\w+\s+)?INTO\s+"
    r"|UPDATE\s+(?:OR\s+\w+\s+)?)[\"`\[]?([A-Za-z_]\w*)", re.IGNORECASE | re.DOTALL)
_SPAN_KEY = "_refnova_db_span"


def sql_summary(statement):
    """(operation, table) of a statement, e.g. ("INSERT", "instances"); table may be None."""
    words = statement.split(None, 1)
    operation = words[0].upper() if words else ""
    found = _SQL_TARGET.match(statement)
    return operation, (found.group(1) if found else None)


def instrument_engine(engine):
    """CLIENT spans for an engine's statements (OpenTelemetry's database conventions).

    Does nothing, and hooks nothing, when tracing is off. A statement gets a span only
    inside a recording span, so start-up DDL and seeding do not make traces of their own.
    Statements are recorded parameterized (``db.query.text``); bound values never are.
    """
    if not enabled():
        return False
    from sqlalchemy import event

    system = _DB_SYSTEMS.get(engine.dialect.name, "other_sql")
    base = {"db.system.name": system}
    url = engine.url
    if url.database and system != "sqlite":
        base["db.namespace"] = url.database
    if url.host:
        base["server.address"] = url.host
        if url.port:
            base["server.port"] = int(url.port)

    @functools.lru_cache(maxsize=1024)
    def statement_span(statement):
        """(span name, attributes) of a statement, or None for driver plumbing. The path's
        statements are prebuilt, so each text is parsed once, not once per execution."""
        operation, table = sql_summary(statement)
        if operation in _UNTRACED_SQL:
            return None
        name = "%s %s" % (operation, table) if table else (operation or system)
        attributes = dict(base)
        attributes["db.query.summary"] = name
        attributes["db.query.text"] = statement
        if operation:
            attributes["db.operation.name"] = operation
        if table:
            attributes["db.collection.name"] = table
        return name, attributes

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        if context is None or not trace.get_current_span().is_recording():
            return
        found = statement_span(statement)
        if found is None:
            return
        name, attributes = found
        if executemany and isinstance(parameters, (list, tuple)) and len(parameters) > 1:
            attributes = {**attributes, "db.operation.batch.size": len(parameters)}
        setattr(context, _SPAN_KEY, _tracer.start_span(name, kind=SpanKind.CLIENT,
                                                       attributes=attributes))

    def after_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        span = getattr(context, _SPAN_KEY, None)
        if span is not None:
            setattr(context, _SPAN_KEY, None)
            span.end()

    def handle_error(exception_context):
        context = exception_context.execution_context
        span = getattr(context, _SPAN_KEY, None) if context is not None else None
        if span is not None:
            setattr(context, _SPAN_KEY, None)
            error = exception_context.original_exception
            span.set_status(Status(StatusCode.ERROR, str(error)))
            span.record_exception(error)
            span.set_attribute("error.type", type(error).__name__)
            span.end()

    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    event.listen(engine, "after_cursor_execute", after_cursor_execute)
    event.listen(engine, "handle_error", handle_error)
    return True


# --- the provider --------------------------------------------------------------------

def enabled():
    """Whether this process has a real tracer provider (ours or one installed for it).

    Every traced hop asks this first, so it is kept to one lookup and one type check.
    """
    return not isinstance(trace.get_tracer_provider(), _NO_OP_PROVIDERS)


_NO_OP_PROVIDERS = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)


def exporter_names(settings, environ=None):
    """The exporters the settings (or, unset, the OTEL_* variables) ask for."""
    environ = os.environ if environ is None else environ
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    value = settings.tracing
    if value is None:
        value = environ.get("OTEL_TRACES_EXPORTER")
    if value is None:
        endpoint = (environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
                    or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
        value = "otlp" if endpoint else "none"
    names = [name.strip().lower() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in EXPORTERS]
    if unknown:
        raise TracingConfigError("unknown trace exporter %s (use %s)"
                                 % (", ".join(unknown), ", ".join(EXPORTERS)))
    return list(dict.fromkeys(name for name in names if name != "none"))


def otlp_protocol(environ=None):
    environ = os.environ if environ is None else environ
    protocol = (environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf").strip().lower()
    if protocol not in OTLP_PROTOCOLS:
        raise TracingConfigError("unsupported OTLP protocol %r (use %s)"
                                 % (protocol, " or ".join(OTLP_PROTOCOLS)))
    return protocol


def otlp_exporter():
    """The OTLP span exporter of the configured protocol; it reads OTEL_EXPORTER_OTLP_*."""
    if otlp_protocol() == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    return OTLPSpanExporter()


def build_resource(service_name):
    """service.name (and version) of this process; the OTEL_* resource variables win."""
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource
    resource = Resource.create({"service.name": service_name, "service.namespace": "refnova",
                                "service.version": _version()})
    return resource.merge(OTELResourceDetector().detect())


def build_provider(settings, service_name):
    """A tracer provider with the exporters the settings ask for, or None if they ask for none.

    It is not installed: ``configure`` does that, once per process.
    """
    names = exporter_names(settings)
    if not names and not settings.traces_dir:
        return None
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    provider = TracerProvider(resource=build_resource(service_name))
    for name in names:
        if name == "otlp":
            exporter = otlp_exporter()
        elif name == "console":
            exporter = ConsoleSpanExporter(service_name=service_name, out=sys.stdout)
        else:
            from refnova.tracing.files import JsonLinesSpanExporter
            exporter = JsonLinesSpanExporter(settings.trace_file)
        provider.add_span_processor(BatchSpanProcessor(exporter))
    if settings.traces_dir:
        from refnova.tracing.files import TraceDirectoryWriter
        provider.add_span_processor(TraceDirectoryWriter(settings.traces_dir))
    return provider


def install_provider(provider):
    """Make ``provider`` this process's tracer provider; True if it is the one in use.

    OpenTelemetry allows one global provider per process: a second one is refused.
    """
    trace.set_tracer_provider(provider)
    return trace.get_tracer_provider() is provider


def configure(settings, service_name):
    """Build and install this process's provider from its settings (once; later calls return it).

    Returns the installed provider, or None when tracing is off.
    """
    global _configured
    with _lock:
        if _configured is not None:
            return _configured
        provider = build_provider(settings, service_name)
        if provider is None:
            return None
        if not install_provider(provider):
            LOG.warning("a tracer provider was already installed; refnova's settings are ignored")
            provider.shutdown()
            return None
        _configured = provider
        LOG.info("tracing as %s to %s", service_name,
                 ", ".join(exporter_names(settings) + (["dir " + settings.traces_dir]
                                                       if settings.traces_dir else [])))
        return provider


def force_flush(timeout_millis=30000):
    provider = trace.get_tracer_provider()
    flush = getattr(provider, "force_flush", None)
    return flush(timeout_millis) if flush is not None else True


def shutdown():
    """Flush and stop the provider ``configure`` installed (a no-op without one)."""
    with _lock:
        provider = _configured
    if provider is not None:
        provider.shutdown()


def _version():
    try:
        from importlib.metadata import version
        return version("refnova")
    except Exception:  # not installed as a distribution
        return "0"
