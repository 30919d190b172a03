"""The one tracer provider of a process: exporters, resource, install, flush and shut down.

What a process exports is chosen by its settings; see the package's docstring
(``refnova.tracing``) for the settings and the ``OTEL_*`` variables they follow.
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry import trace

from refnova.tracing.attributes import SERVICE_NAME, SERVICE_NAMESPACE, SERVICE_VERSION

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

    from refnova.config import Settings

LOG = logging.getLogger(__name__)

SERVICE_API = "refnova-api"
SERVICE_CONDUCTOR = "refnova-conductor"
EXPORTERS = ("otlp", "console", "file", "none")
OTLP_PROTOCOLS = ("http/protobuf", "grpc")
# Neither one refnova installed nor one installed for it: spans are OpenTelemetry's no-op.
_NO_OP_PROVIDERS = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)


class TracingConfigError(ValueError):
    """Settings or OTEL_* variables that name something refnova cannot export to."""


class _Installed:
    """The provider ``configure`` installed in this process (the one piece of global state)."""

    lock = threading.Lock()
    provider: TracerProvider | None = None


# Inside an API request, whether it is traced, decided once when it arrives (``serving``):
# every traced hop of the request asks ``enabled`` first, and the API's lookup of the global
# provider (OpenTelemetry checks the environment while none is set) is paid once per request.
_request_traced: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "refnova_request_traced", default=None
)
RequestTracing = contextvars.Token[bool | None]


def enabled() -> bool:
    """Whether this process has a real tracer provider (ours or one installed for it); in a
    request, whether that request is traced."""
    traced = _request_traced.get()
    if traced is None:
        provider = _global_provider()
        return provider is not None and not isinstance(provider, _NO_OP_PROVIDERS)
    return traced


class _Environment:
    """Whether ``trace.get_tracer_provider()`` has been asked once (and has then loaded the
    provider OTEL_PYTHON_TRACER_PROVIDER names, if the environment names one)."""

    read = False


# OpenTelemetry's global provider, as trace.get_tracer_provider() returns it. Until a provider
# is set, that function looks OTEL_PYTHON_TRACER_PROVIDER up in os.environ on every call (a
# KeyError raised twice: a microsecond, on every request of an untraced process); here the
# environment is read once, on the first call, and the global after that. A provider the
# variable names is loaded then, as the API loads it at its first call; a variable set later in
# the process's own environment is not seen.
_READS_GLOBAL = hasattr(trace, "_TRACER_PROVIDER")


def _global_provider() -> trace.TracerProvider | None:
    """The global provider; None while there is none."""
    if _READS_GLOBAL and _Environment.read:
        return trace._TRACER_PROVIDER
    provider = trace.get_tracer_provider()
    _Environment.read = True
    return provider


def serving(traced: bool) -> RequestTracing:
    """As a request arrives: whether it is traced (``enabled()`` then), for every hop of it to
    ask; give the token to ``served`` when it leaves."""
    return _request_traced.set(traced)


def served(token: RequestTracing) -> None:
    _request_traced.reset(token)


def exporter_names(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    """The exporters the settings (or, unset, the OTEL_* variables) ask for."""
    environ = os.environ if environ is None else environ
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    value = settings.tracing
    if value is None:
        value = environ.get("OTEL_TRACES_EXPORTER")
    if value is None:
        endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        value = "otlp" if endpoint else "none"
    names = [name.strip().lower() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in EXPORTERS]
    if unknown:
        raise TracingConfigError(
            "unknown trace exporter %s (use %s)" % (", ".join(unknown), ", ".join(EXPORTERS))
        )
    return list(dict.fromkeys(name for name in names if name != "none"))


def otlp_protocol(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    protocol = (
        (
            environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
            or "http/protobuf"
        )
        .strip()
        .lower()
    )
    if protocol not in OTLP_PROTOCOLS:
        raise TracingConfigError(
            "unsupported OTLP protocol %r (use %s)" % (protocol, " or ".join(OTLP_PROTOCOLS))
        )
    return protocol


def otlp_exporter() -> SpanExporter:
    """The OTLP span exporter of the configured protocol; it reads OTEL_EXPORTER_OTLP_*."""
    if otlp_protocol() == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HTTPSpanExporter,
    )

    return HTTPSpanExporter()


def build_resource(service_name: str) -> Resource:
    """service.name (and version) of this process; the OTEL_* resource variables win."""
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource

    resource = Resource.create(
        {
            SERVICE_NAME: service_name,
            SERVICE_NAMESPACE: "refnova",
            SERVICE_VERSION: refnova_version(),
        }
    )
    return resource.merge(OTELResourceDetector().detect())


def _exporter(name: str, settings: Settings, service_name: str) -> SpanExporter:
    if name == "otlp":
        return otlp_exporter()
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(service_name=service_name, out=sys.stdout)
    from refnova.tracing.files import JsonLinesSpanExporter

    return JsonLinesSpanExporter(settings.trace_file)


def build_provider(settings: Settings, service_name: str) -> TracerProvider | None:
    """A tracer provider with the exporters the settings ask for, or None if they ask for none.

    It is not installed: ``configure`` does that, once per process.
    """
    names = exporter_names(settings)
    if not names and not settings.traces_dir:
        return None
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=build_resource(service_name))
    for name in names:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name, settings, service_name)))
    if settings.traces_dir:
        from refnova.tracing.files import TraceDirectoryWriter

        provider.add_span_processor(TraceDirectoryWriter(settings.traces_dir))
    return provider


def install_provider(provider: trace.TracerProvider) -> bool:
    """Make ``provider`` this process's tracer provider; True if it is the one in use.

    OpenTelemetry allows one global provider per process: a second one is refused.
    """
    trace.set_tracer_provider(provider)
    return trace.get_tracer_provider() is provider


def configure(settings: Settings, service_name: str) -> TracerProvider | None:
    """Build and install this process's provider from its settings (once; later calls return it).

    Returns the installed provider, or None when tracing is off.
    """
    with _Installed.lock:
        if _Installed.provider is not None:
            return _Installed.provider
        provider = build_provider(settings, service_name)
        if provider is None:
            return None
        if not install_provider(provider):
            LOG.warning("a tracer provider was already installed; refnova's settings are ignored")
            provider.shutdown()
            return None
        _Installed.provider = provider
        destinations = exporter_names(settings)
        if settings.traces_dir:
            destinations.append("dir " + settings.traces_dir)
        LOG.info("tracing as %s to %s", service_name, ", ".join(destinations))
        return provider


def force_flush(timeout_millis: int = 30000) -> bool:
    provider = trace.get_tracer_provider()
    flush = getattr(provider, "force_flush", None)
    return bool(flush(timeout_millis)) if flush is not None else True


def shutdown() -> None:
    """Flush and stop the provider ``configure`` installed (a no-op without one)."""
    with _Installed.lock:
        provider = _Installed.provider
    if provider is not None:
        provider.shutdown()


def refnova_version() -> str:
    """refnova's distribution version ("0" when it runs from a checkout not installed)."""
    try:
        from importlib.metadata import version

        return version("refnova")
    except Exception:  # not installed as a distribution
        return "0"
