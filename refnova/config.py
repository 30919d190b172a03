"""One settings object for every refnova process.

Values come from keyword arguments (the CLI), else ``REFNOVA_*`` environment variables,
else the embedded defaults, which need nothing but Python.
"""

import dataclasses
import os
from typing import Any


def _env(name: str, default: str | None) -> str | None:
    return os.environ.get("REFNOVA_" + name.upper(), default)


@dataclasses.dataclass(frozen=True)
class Settings:
    db_url: str = "sqlite:///refnova.db"
    transport_url: str = "memory://"
    world_file: str | None = None
    host: str = "127.0.0.1"
    port: int = 8774
    # The HTTP server (refnova.http_server, waitress): worker threads, open connections at
    # most, seconds a connection may stay idle (between requests or within one's headers),
    # and the sizes past which a request is refused (414, 431, 413) before the API reads it.
    http_threads: int = 8
    http_connection_limit: int = 100
    http_idle_timeout: int = 60
    http_max_url_bytes: int = 8192
    http_max_header_bytes: int = 65536
    http_max_body_bytes: int = 1048576  # the compute API's own limit is 114688 (F1)
    # API processes sharing the listening socket (nova-api's osapi_compute_workers); 1: this
    # process serves alone (refnova.workers).
    workers: int = 1
    # Seconds a publish may spend retrying an unreachable broker before the create fails.
    publish_timeout: float = 10.0
    conductor_prefetch: int = 8
    # Seconds the conductor's fake hypervisor takes to spawn a server (0: at once).
    spawn_seconds: float = 0.0
    conductor_in_process: bool | None = None  # None: only on the memory transport
    glance_url: str | None = None  # None: the world's images, in-process
    neutron_url: str | None = None  # None: the world's networks, in-process
    auth_strategy: str = "noauth2"  # noauth2 | keystone
    keystone_url: str | None = None  # Keystone (v3) that validates X-Auth-Token
    keystone_cache_ttl: float = 300.0  # seconds a valid token is trusted at most
    # The URL clients reach refnova at, for the service catalog and version links; None:
    # the URL each request came to (scheme and Host header).
    public_url: str | None = None
    # The key that signs the built-in identity service's tokens (API processes that share
    # tokens share it); None: a random key per process, its tokens valid only there.
    token_key: str | None = None
    # Trace exporters, a comma list of otlp | console | file | none; None: as OTEL_TRACES_EXPORTER,
    # else otlp when OTEL_EXPORTER_OTLP_ENDPOINT is set (see refnova.tracing).
    tracing: str | None = None
    trace_file: str = "refnova-traces.jsonl"  # the "file" exporter's OTLP JSON lines
    traces_dir: str | None = None  # one OTLP JSON file per finished trace
    # The highest /v2.1 microversion announced and served; None: the contract's own
    # (refnova.api.openstack.contracts.V21_ANNOUNCED_MAX). REFNOVA_MAX_MICROVERSION.
    max_microversion: str | None = None

    @classmethod
    def from_env(cls, **overrides: Any) -> "Settings":
        """Settings from REFNOVA_* variables, with non-None overrides on top."""
        values = {}
        for field in dataclasses.fields(cls):
            raw = _env(field.name, None)
            if raw is not None:
                try:
                    values[field.name] = _coerce(field, raw)
                except ValueError:  # said as the user wrote it (refnova.cli prints it)
                    kind = getattr(field.type, "__name__", field.type)
                    raise ValueError(
                        "REFNOVA_%s=%s: expected %s" % (field.name.upper(), raw, kind)
                    ) from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def runs_conductor_in_process(self) -> bool:
        if self.conductor_in_process is not None:
            return self.conductor_in_process
        return self.transport_url.startswith("memory://")


def _coerce(field: dataclasses.Field[Any], raw: str) -> Any:
    # "bool | None" has no __name__: its text names the type all the same.
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", None)
    kind = kind or str(field.type)
    if kind.startswith("int"):
        return int(raw)
    if kind.startswith("float"):
        return float(raw)
    if kind.startswith("bool"):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return raw
