"""Tracing: the one tracer provider of a process, and the helpers every hop uses.

The package's modules, each re-exported here where its callers need it:

``provider``      the provider: exporters, resource, ``configure``, ``force_flush``, ``shutdown``
``spans``         refnova's tracer and the span helpers (``traced``, ``span``, ``annotate``...)
``propagation``   trace context in and out of headers (``inject_headers``, ``start_remote_span``)
``wsgi``          ``ServerSpanMiddleware``: the SERVER span of each API request
``http_client``   the CLIENT spans of calls to outside services (``client_call``, ``send``)
``database``      ``SQLAlchemyInstrumentor``: a CLIENT span per SQL statement
``redaction``    secrets never recorded: ``redact``, ``remember_body``, the log records
``attributes``    every attribute key written (semantic conventions, and refnova's own)
``files``, ``views``, ``cli``   trace files (OTLP JSON), their views, ``refnova trace ...``

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

from refnova.tracing.attributes import SCHEMA_URL
from refnova.tracing.database import SQLAlchemyInstrumentor, sql_summary
from refnova.tracing.http_client import client_call, record_http, send
from refnova.tracing.propagation import (
    attach,
    detach,
    extract_context,
    inject_headers,
    start_remote_span,
)
from refnova.tracing.provider import (
    EXPORTERS,
    OTLP_PROTOCOLS,
    SERVICE_API,
    SERVICE_CONDUCTOR,
    TracingConfigError,
    build_provider,
    build_resource,
    configure,
    enabled,
    exporter_names,
    force_flush,
    install_provider,
    otlp_exporter,
    otlp_protocol,
    shutdown,
)
from refnova.tracing.redaction import install_log_redaction, redact, remember_body
from refnova.tracing.spans import (
    INSTRUMENTATION_NAME,
    annotate,
    current_span,
    error_type,
    mark_error,
    recording,
    span,
    traced,
    tracer,
)
from refnova.tracing.wsgi import ServerSpanMiddleware, mark_answer, name_after_route

# Every log record of the process is redacted as it is made, whichever handler prints it.
install_log_redaction()

__all__ = [
    "EXPORTERS",
    "INSTRUMENTATION_NAME",
    "OTLP_PROTOCOLS",
    "SCHEMA_URL",
    "SERVICE_API",
    "SERVICE_CONDUCTOR",
    "SQLAlchemyInstrumentor",
    "ServerSpanMiddleware",
    "TracingConfigError",
    "annotate",
    "attach",
    "build_provider",
    "build_resource",
    "client_call",
    "configure",
    "current_span",
    "detach",
    "enabled",
    "exporter_names",
    "extract_context",
    "force_flush",
    "inject_headers",
    "install_provider",
    "error_type",
    "mark_answer",
    "mark_error",
    "name_after_route",
    "otlp_exporter",
    "otlp_protocol",
    "record_http",
    "recording",
    "redact",
    "remember_body",
    "send",
    "shutdown",
    "span",
    "sql_summary",
    "start_remote_span",
    "traced",
    "tracer",
]
